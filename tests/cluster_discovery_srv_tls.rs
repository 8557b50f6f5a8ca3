//! Bootstrap by `--discovery-srv` with TLS peers: the loopback DNS server
//! answers `_etcd-server-ssl._tcp.example.test` with three targets (and
//! nothing for `_etcd-server`); three members given only the domain, https
//! peer URLs and peer certificates from the test CA (peer client-cert auth
//! on) form one cluster whose peer URLs are `https://<SRV target>:<port>`.
//! Writes through one member are read on the others, which needs the peers'
//! TLS handshakes (server name = the SRV target, verified against the CA)
//! to work both ways. The same with `--peer-auto-tls` (self-signed peer
//! certificates; etcd then names the SRV domain as the server name).
//!
//! Ours only: the DNS server is reached through etcd-rs's
//! `ETCD_RS_DNS_SERVER` seam; etcd 3.4 always asks the system resolver.

mod common;
#[path = "common/dns.rs"]
mod dns;
mod tls_support;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use common::{server_binary, testing_external_server, wait_until, READY_LINE};
use dns::{Dns, Record};
use tls_support::{ctl, Member, Pki};

const FORM_TIMEOUT: Duration = Duration::from_secs(40);
const DOMAIN: &str = "example.test";

fn endpoint(m: &Member) -> String {
    m.client_url("http")
}

/// Sorted (member id, first peer URL) pairs and the cluster id, as `m` lists them.
fn members_seen(m: &Member) -> (Vec<(u64, String)>, u64) {
    let out = ctl(&endpoint(m), &[], &["member", "list", "-w", "json"]);
    assert_eq!(out.code, 0, "{out:#?}");
    common::parse_member_list(&out.stdout)
}

#[test]
fn three_tls_members_bootstrap_from_ssl_srv_records() {
    if testing_external_server() {
        return;
    }
    let pki = Pki::new();
    form_from_srv(&pki.peer_auth_flags());
}

/// With `--peer-auto-tls` and no CA, etcd dials peers with the SRV domain
/// as the TLS server name (and self-signed certificates are not verified).
#[test]
fn auto_tls_members_bootstrap_from_ssl_srv_records() {
    if testing_external_server() {
        return;
    }
    form_from_srv(&["--peer-auto-tls".to_string()]);
}

/// Three members with `tls_flags`, found through SSL SRV records, form a
/// cluster that replicates a write.
fn form_from_srv(tls_flags: &[String]) {
    let mut members: Vec<Member> = (0..3).map(|_| Member::reserve()).collect();
    let mut records = HashMap::new();
    records.insert(
        format!("_etcd-server-ssl._tcp.{DOMAIN}."),
        members
            .iter()
            .map(|m| Record::Srv {
                port: m.peer_port,
                target: "localhost.".into(),
            })
            .collect(),
    );
    records.insert(
        "localhost.".to_string(),
        vec![Record::A(Ipv4Addr::LOCALHOST)],
    );
    let dns = Dns::start(records);

    for (i, m) in members.iter_mut().enumerate() {
        let mut args = vec![
            format!("--discovery-srv={DOMAIN}"),
            format!("--listen-client-urls={}", m.client_url("http")),
            format!("--advertise-client-urls={}", m.client_url("http")),
            format!("--listen-peer-urls={}", m.peer_url("https")),
            format!("--initial-advertise-peer-urls={}", m.peer_url("https")),
        ];
        args.extend(tls_flags.iter().cloned());
        m.spawn_with_env(
            &server_binary(),
            &format!("m{i}"),
            &args,
            &[("ETCD_RS_DNS_SERVER", &format!("127.0.0.1:{}", dns.port))],
        );
    }
    let formed = wait_until(FORM_TIMEOUT, || {
        members.iter_mut().all(|m| {
            m.exited().is_none()
                && m.log().contains(READY_LINE)
                && ctl(
                    &endpoint(m),
                    &[],
                    &["--command-timeout=2s", "endpoint", "health"],
                )
                .code
                    == 0
        })
    });
    if !formed {
        let logs: String = members
            .iter()
            .enumerate()
            .map(|(i, m)| format!("--- m{i} ---\n{}\n", m.log()))
            .collect();
        panic!("SRV-discovered TLS cluster did not form\n{logs}");
    }

    let first = members_seen(&members[0]);
    let mut urls: Vec<String> = first.0.iter().map(|(_, u)| u.clone()).collect();
    urls.sort();
    let mut want: Vec<String> = members
        .iter()
        .map(|m| format!("https://localhost:{}", m.peer_port))
        .collect();
    want.sort();
    assert_eq!(urls, want, "peer URLs come from the SSL SRV targets");
    for m in &members[1..] {
        assert_eq!(members_seen(m), first);
    }
    let put = ctl(&endpoint(&members[1]), &[], &["put", "srv-tls-key", "v"]);
    assert_eq!(put.code, 0, "{put:#?}");
    for m in [&members[0], &members[2]] {
        let got = ctl(
            &endpoint(m),
            &[],
            &["get", "srv-tls-key", "--print-value-only"],
        );
        assert_eq!(got.stdout, "v\n", "{got:#?}");
    }
}
