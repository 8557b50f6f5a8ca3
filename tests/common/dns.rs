//! A DNS server on a loopback UDP port for tests: answers SRV and A queries
//! from a fixed table (RFC 1035 §4.1 wire format, hand-written, no
//! recursion), NXDOMAIN for unknown names. Pointed at by etcd-rs's
//! `ETCD_RS_DNS_SERVER` seam (and our etcdctl's) in place of the system
//! resolver. Include with `#[path = "common/dns.rs"] mod dns;`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::{Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One resource record the test server knows.
#[derive(Clone)]
pub enum Record {
    /// SRV: priority 0, weight 10, `port`, `target`.
    Srv { port: u16, target: String },
    /// A: one IPv4 address.
    A(Ipv4Addr),
}

pub const TYPE_A: u16 = 1;
pub const TYPE_SRV: u16 = 33;

/// A DNS server on a loopback UDP port, stopped on drop.
pub struct Dns {
    /// The UDP port the server answers on (127.0.0.1).
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Dns {
    /// Starts answering from `records` (keys are lower-case names with a
    /// trailing dot, e.g. `_etcd-server._tcp.example.test.`).
    pub fn start(records: HashMap<String, Vec<Record>>) -> Dns {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let port = sock.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(resp) = answer(&buf[..n], &records) {
                    let _ = sock.send_to(&resp, from);
                }
            }
        });
        Dns {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn encode_name(name: &str, out: &mut Vec<u8>) {
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

/// Builds the reply to one query (RFC 1035 §4.1): the question echoed, the
/// matching records as answers (the name compressed to the question's),
/// NXDOMAIN for unknown names.
fn answer(q: &[u8], records: &HashMap<String, Vec<Record>>) -> Option<Vec<u8>> {
    if q.len() < 12 {
        return None;
    }
    let mut off = 12;
    let mut name = String::new();
    loop {
        let len = *q.get(off)? as usize;
        off += 1;
        if len == 0 {
            break;
        }
        name.push_str(&String::from_utf8_lossy(q.get(off..off + len)?).to_lowercase());
        name.push('.');
        off += len;
    }
    let qtype = u16::from_be_bytes([*q.get(off)?, *q.get(off + 1)?]);
    let question_end = off + 4;
    q.get(..question_end)?;
    let known = records.get(&name);
    let matching: Vec<&Record> = known
        .map(|rs| {
            rs.iter()
                .filter(|r| {
                    matches!(
                        (r, qtype),
                        (Record::Srv { .. }, TYPE_SRV) | (Record::A(_), TYPE_A)
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    out.extend_from_slice(&q[..2]);
    let rd = q[2] & 0x01;
    out.push(0x84 | rd); // QR, AA, RD as asked
    out.push(if known.is_some() { 0x80 } else { 0x83 }); // RA; NXDOMAIN when unknown
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(matching.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(&q[12..question_end]);
    for r in matching {
        out.extend_from_slice(&[0xC0, 0x0C]);
        let mut rdata = Vec::new();
        let rtype = match r {
            Record::Srv { port, target } => {
                rdata.extend_from_slice(&0u16.to_be_bytes());
                rdata.extend_from_slice(&10u16.to_be_bytes());
                rdata.extend_from_slice(&port.to_be_bytes());
                encode_name(target, &mut rdata);
                TYPE_SRV
            }
            Record::A(ip) => {
                rdata.extend_from_slice(&ip.octets());
                TYPE_A
            }
        };
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&60u32.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    Some(out)
}

