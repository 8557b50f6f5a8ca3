//! Defragmentation under load, ours and the real etcd 3.4 on the same data
//! shape: a single member holding a ~150 MB database (1200 puts of 120 KiB
//! over 300 keys, then compacted, so about three quarters is free space),
//! a bounded gRPC writer and reader running while `etcdctl defrag` runs.
//!
//! Asserted: no client request fails, the file shrinks, the data survives.
//! Measured and printed only (no timing asserts): how long the defrag took
//! and the longest request latency seen while it ran. etcd 3.4 holds its
//! backend locks for the whole copy, so its clients stall for about that
//! long; ours copies while serving and pauses only for the final swap.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{EtcdOpts, EtcdProcess};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{CompactionRequest, PutRequest, RangeRequest};
use tonic::transport::{Channel, Endpoint};

const KEYS: usize = 300;
const PUTS: usize = 1200;
/// Just under 128 KiB: redb rounds a large value's allocation up to a power
/// of two pages, so 128 KiB plus the record header would take 256 KiB.
const VALUE_BYTES: usize = 120 * 1024;
const SETUP_WRITERS: usize = 4;
/// Bound on any one client request (a stall longer than this is an error).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Most requests each load task sends (bounds the test if defrag hangs).
const LOAD_REQUESTS_MAX: usize = 200_000;

/// One request: when it started, how long it took, whether it failed.
type Sample = (Instant, Duration, Option<String>);

fn channel(url: &str) -> Channel {
    Endpoint::from_shared(url.to_string())
        .expect("endpoint")
        .timeout(REQUEST_TIMEOUT)
        .connect_lazy()
}

fn put_req(key: String, value: Vec<u8>) -> PutRequest {
    PutRequest {
        key: key.into_bytes(),
        value,
        ..Default::default()
    }
}

/// Writes the data set with a few concurrent writers; returns the last revision.
async fn fill(url: &str) -> i64 {
    let mut tasks = Vec::new();
    for w in 0..SETUP_WRITERS {
        let mut kv = KvClient::new(channel(url));
        tasks.push(tokio::spawn(async move {
            let mut rev = 0;
            for n in (w..PUTS).step_by(SETUP_WRITERS) {
                let value = vec![b'a' + (n % 26) as u8; VALUE_BYTES];
                let r = kv
                    .put(put_req(format!("big/{:04}", n % KEYS), value))
                    .await
                    .expect("setup put")
                    .into_inner();
                rev = rev.max(r.header.expect("header").revision);
            }
            rev
        }));
    }
    let mut rev = 0;
    for t in tasks {
        rev = rev.max(t.await.expect("writer"));
    }
    rev
}

/// Sends requests one after another until `stop`; `write` picks puts or ranges.
async fn load(url: String, write: bool, stop: Arc<AtomicBool>) -> Vec<Sample> {
    let mut kv = KvClient::new(channel(&url));
    let mut samples = Vec::new();
    for n in 0..LOAD_REQUESTS_MAX {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let started = Instant::now();
        let err = if write {
            kv.put(put_req(
                format!("load/{}", n % 100),
                n.to_string().into_bytes(),
            ))
            .await
            .err()
        } else {
            kv.range(RangeRequest {
                key: format!("big/{:04}", n % KEYS).into_bytes(),
                ..Default::default()
            })
            .await
            .err()
        };
        samples.push((started, started.elapsed(), err.map(|e| e.to_string())));
    }
    samples
}

fn db_size(p: &EtcdProcess) -> i64 {
    let out = p.etcdctl(&["endpoint", "status", "-w", "json"]).ok().stdout;
    let at = out.find("\"dbSize\":").expect("dbSize") + "\"dbSize\":".len();
    let digits: String = out[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().expect("dbSize number")
}

/// What one run measured (printed, not asserted).
#[derive(Debug)]
#[allow(dead_code)]
struct Measured {
    defrag: Duration,
    max_latency_during: Duration,
    requests_during: usize,
    size_before: i64,
    size_after: i64,
}

fn run(binary: Option<std::path::PathBuf>) -> Measured {
    let p = EtcdProcess::start(EtcdOpts {
        binary,
        ..Default::default()
    });
    let rt = common::runtime();
    let url = p.client_url();
    let last = rt.block_on(fill(&url));
    rt.block_on(async {
        KvClient::new(channel(&url))
            .compact(CompactionRequest {
                revision: last,
                physical: true,
            })
            .await
            .expect("compact")
    });
    let size_before = db_size(&p);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = rt.spawn(load(url.clone(), true, stop.clone()));
    let reader = rt.spawn(load(url.clone(), false, stop.clone()));
    // Let both loops get going before the defrag starts.
    assert!(common::wait_until(Duration::from_secs(10), || p
        .etcdctl(&["get", "load/0", "--print-value-only"])
        .stdout
        .len()
        > 1));
    let t0 = Instant::now();
    let out = p.etcdctl(&["defrag", "--command-timeout=120s"]);
    let t1 = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let mut samples = rt.block_on(writer).expect("writer");
    samples.extend(rt.block_on(reader).expect("reader"));
    assert_eq!(out.code, 0, "{out:?}");
    let errors: Vec<&Sample> = samples.iter().filter(|s| s.2.is_some()).collect();
    assert!(errors.is_empty(), "client errors during defrag: {errors:?}");
    // Requests that overlapped the defrag window.
    let during: Vec<&Sample> = samples
        .iter()
        .filter(|(start, took, _)| *start < t1 && *start + *took > t0)
        .collect();
    let size_after = db_size(&p);
    assert!(size_after < size_before, "{size_before} -> {size_after}");
    assert_eq!(
        p.etcdctl(&["get", "big/0299", "--print-value-only"])
            .ok()
            .stdout
            .len(),
        VALUE_BYTES + 1
    );
    Measured {
        defrag: t1 - t0,
        max_latency_during: during.iter().map(|s| s.1).max().unwrap_or_default(),
        requests_during: during.len(),
        size_before,
        size_after,
    }
}

#[test]
fn defrag_under_load_ours_and_etcd() {
    if common::testing_external_server() {
        return; // this test runs both servers itself
    }
    let ours = run(None);
    println!("etcd-rs:  {ours:?}");
    let real = run(Some("/usr/bin/etcd".into()));
    println!("etcd 3.4: {real:?}");
}
