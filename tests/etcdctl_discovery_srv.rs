//! Our etcdctl's `--discovery-srv`: client endpoints from
//! `_etcd-client-ssl._tcp` / `_etcd-client._tcp` SRV records. A loopback
//! DNS server (tests/common/dns.rs) reached through the
//! `ETCD_RS_DNS_SERVER` seam answers for `example.test`; commands then
//! reach the etcd-rs server named there. The real etcdctl cannot use the
//! seam, so only the failure for a domain without records (asked of the
//! system resolver by both) is compared byte for byte.

mod common;
#[path = "common/dns.rs"]
mod dns;

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use common::{run_with_timeout, CtlOutput, EtcdOpts, EtcdProcess, ETCDCTL_PATH};
use dns::{Dns, Record};

const OURS: &str = env!("CARGO_BIN_EXE_etcdctl");
const DOMAIN: &str = "example.test";
const TIMEOUT: Duration = Duration::from_secs(30);

fn ctl(bin: &str, dns_port: Option<u16>, args: &[&str]) -> CtlOutput {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCD") {
            cmd.env_remove(k);
        }
    }
    cmd.env("ETCDCTL_API", "3");
    if let Some(port) = dns_port {
        cmd.env("ETCD_RS_DNS_SERVER", format!("127.0.0.1:{port}"));
    }
    cmd.args(args);
    run_with_timeout(cmd, None, TIMEOUT)
}

/// SRV `_etcd-client._tcp.example.test` → `node1.example.test:<port>` → 127.0.0.1.
fn dns_for(server: &EtcdProcess, service: &str) -> Dns {
    let mut records = HashMap::new();
    records.insert(
        format!("_{service}._tcp.{DOMAIN}."),
        vec![Record::Srv {
            port: server.client_port(),
            target: format!("node1.{DOMAIN}."),
        }],
    );
    records.insert(
        format!("node1.{DOMAIN}."),
        vec![Record::A(Ipv4Addr::LOCALHOST)],
    );
    Dns::start(records)
}

#[test]
fn discovered_endpoint_serves_commands() {
    let server = EtcdProcess::start(EtcdOpts::default());
    server.etcdctl(&["put", "foo", "bar"]).ok();
    let dns = dns_for(&server, "etcd-client");
    // The unused --endpoints must not be what is dialed.
    let out = ctl(
        OURS,
        Some(dns.port),
        &[
            "--endpoints=127.0.0.1:1",
            "--discovery-srv",
            DOMAIN,
            "get",
            "foo",
        ],
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "foo\nbar\n"),
        "{out:#?}"
    );
    let out = ctl(OURS, Some(dns.port), &["-d", DOMAIN, "put", "k", "v"]);
    assert_eq!(out.stdout, "OK\n", "{out:#?}");
    assert_eq!(
        server.etcdctl(&["get", "k", "--print-value-only"]).stdout,
        "v\n"
    );
}

#[test]
fn secure_discovery_ignores_http_records() {
    let server = EtcdProcess::start(EtcdOpts::default());
    let dns = dns_for(&server, "etcd-client");
    // Only an http record: dropped, so --endpoints (unreachable) is used.
    let out = ctl(
        OURS,
        Some(dns.port),
        &[
            "--endpoints=127.0.0.1:1",
            "--command-timeout=1s",
            "--discovery-srv",
            DOMAIN,
            "--insecure-discovery=false",
            "get",
            "foo",
        ],
    );
    assert_ne!(out.code, 0, "{out:#?}");
    assert!(
        out.stderr.starts_with(&format!(
            "ignoring discovered insecure endpoint \"http://127.0.0.1:{}\"\n",
            server.client_port()
        )),
        "{out:#?}"
    );
}

#[test]
fn service_name_selects_the_record() {
    let server = EtcdProcess::start(EtcdOpts::default());
    let dns = dns_for(&server, "etcd-client-blue");
    let args = |name: &'static str| {
        vec![
            "--endpoints=127.0.0.1:1",
            "--command-timeout=1s",
            "--discovery-srv",
            DOMAIN,
            "--discovery-srv-name",
            name,
            "get",
            "foo",
        ]
    };
    let ok = ctl(OURS, Some(dns.port), &args("blue"));
    assert_eq!(ok.code, 0, "{ok:#?}");
    let missing = ctl(OURS, Some(dns.port), &args("green"));
    assert_eq!(missing.code, 1, "{missing:#?}");
    assert!(
        missing
            .stderr
            .starts_with("Error: dns lookup errors: lookup _etcd-client-ssl-green._tcp.example.test on 127.0.0.1:"),
        "{missing:#?}"
    );
}

#[test]
fn domain_without_records_fails_like_etcdctl() {
    let args = ["--discovery-srv", "no-such-domain.invalid", "get", "foo"];
    let real = ctl(ETCDCTL_PATH, None, &args);
    let ours = ctl(OURS, None, &args);
    assert_eq!(real.code, 1, "{real:#?}");
    assert_eq!(
        (ours.code, &ours.stdout, &ours.stderr),
        (real.code, &real.stdout, &real.stderr)
    );
}
