//! Leases end to end: expiry decided by the leader removes the keys, a revoke
//! deletes all of a lease's keys in one revision, leases survive a restart,
//! and the gateway's lease routes (keep-alive streaming included) answer like
//! etcd 3.4's grpc-gateway. Runs against the real etcd with
//! `ETCD_RS_TEST_ETCD=/usr/bin/etcd`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{wait_until, EtcdOpts, EtcdProcess};

/// `lease grant <ttl>` → the lease id in hex.
fn grant(p: &EtcdProcess, ttl_s: u64) -> String {
    let out = p
        .etcdctl(&["lease", "grant", &ttl_s.to_string()])
        .ok()
        .stdout;
    out.strip_prefix("lease ")
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("unexpected grant output {out:?}"))
        .to_string()
}

/// The header revision of a `get -w json`.
fn revision(p: &EtcdProcess) -> i64 {
    let out = p
        .etcdctl(&["get", "nothing-here", "-w", "json"])
        .ok()
        .stdout;
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    v["header"]["revision"].as_i64().expect("revision")
}

/// POSTs `body` to `path` (HTTP/1.1, one connection) and returns status and
/// body (de-chunked).
fn post(p: &EtcdProcess, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", p.client_port())).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = raw.split_once("\r\n\r\n").expect("header end");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = rest;
        while let Some((len, tail)) = rest.split_once("\r\n") {
            let n = usize::from_str_radix(len.trim(), 16).expect("chunk length");
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            rest = &tail[n + 2..];
        }
        out
    } else {
        rest.to_string()
    };
    (status, body)
}

#[test]
fn key_with_short_lease_disappears_after_expiry() {
    let p = EtcdProcess::start(EtcdOpts::default());
    // etcd's minimum TTL with the default 100 ms heartbeat / 1 s election
    // timeout is ceil(15 × 100 ms) = 2 s; a grant of 1 s is raised to it.
    let out = p.etcdctl(&["lease", "grant", "1"]).ok().stdout;
    assert!(out.ends_with(" granted with TTL(2s)\n"), "{out}");
    let id = out.split(' ').nth(1).unwrap().to_string();
    p.etcdctl(&["put", &format!("--lease={id}"), "short", "lived"])
        .ok();
    p.etcdctl(&["put", "stays", "here"]).ok();
    assert_eq!(
        p.etcdctl(&["get", "short", "--print-value-only"])
            .ok()
            .stdout,
        "lived\n"
    );
    let gone = wait_until(Duration::from_secs(15), || {
        p.etcdctl(&["get", "short"]).ok().stdout.is_empty()
    });
    assert!(gone, "key of an expired lease still there");
    assert_eq!(
        p.etcdctl(&["lease", "timetolive", &id]).ok().stdout,
        format!("lease {id} already expired\n")
    );
    assert_eq!(
        p.etcdctl(&["get", "stays", "--print-value-only"])
            .ok()
            .stdout,
        "here\n"
    );
    assert_eq!(
        p.etcdctl(&["lease", "list"]).ok().stdout,
        "found 0 leases\n"
    );
}

#[test]
fn keep_alive_holds_a_lease_past_its_ttl() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let id = grant(&p, 2);
    p.etcdctl(&["put", &format!("--lease={id}"), "kept", "alive"])
        .ok();
    let ka = p.etcdctl_spawn(&["lease", "keep-alive", &id]);
    let line = format!("lease {id} keepalived with TTL(2)\n");
    // etcdctl renews every TTL/3; after 5 s (2.5 TTLs) the key must remain.
    assert!(
        ka.wait_stdout(Duration::from_secs(10), |s| s.matches(&line).count() >= 6),
        "{}",
        ka.stdout()
    );
    assert_eq!(
        p.etcdctl(&["get", "kept", "--print-value-only"])
            .ok()
            .stdout,
        "alive\n"
    );
    ka.stop();
}

#[test]
fn revoke_deletes_all_keys_in_one_revision() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let id = grant(&p, 100);
    for k in ["c", "a", "b"] {
        p.etcdctl(&["put", &format!("--lease={id}"), k, "v"]).ok();
    }
    p.etcdctl(&["put", "other", "v"]).ok();
    assert_eq!(revision(&p), 5);
    p.etcdctl(&["lease", "revoke", &id]).ok();
    assert_eq!(revision(&p), 6, "one revision for all three deletes");
    assert_eq!(
        p.etcdctl(&["get", "", "--prefix", "--keys-only"])
            .ok()
            .stdout,
        "other\n\n"
    );
    // History shows the three keys live just before the revoke.
    let before = p
        .etcdctl(&["get", "", "--prefix", "--keys-only", "--rev=5"])
        .ok()
        .stdout;
    assert_eq!(before, "a\n\nb\n\nc\n\nother\n\n");
    // A revoke of a lease without keys takes no revision.
    let empty = grant(&p, 100);
    p.etcdctl(&["lease", "revoke", &empty]).ok();
    assert_eq!(revision(&p), 6);
}

#[test]
fn overwrite_moves_and_delete_detaches_keys() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let l1 = grant(&p, 100);
    let l2 = grant(&p, 100);
    p.etcdctl(&["put", &format!("--lease={l1}"), "k", "1"]).ok();
    p.etcdctl(&["put", &format!("--lease={l1}"), "gone", "1"])
        .ok();
    p.etcdctl(&["put", &format!("--lease={l2}"), "k", "2"]).ok();
    p.etcdctl(&["del", "gone"]).ok();
    let ttl = p
        .etcdctl(&["lease", "timetolive", "--keys", &l1])
        .ok()
        .stdout;
    assert!(ttl.ends_with(", attached keys([])\n"), "{ttl}");
    p.etcdctl(&["lease", "revoke", &l1]).ok();
    assert_eq!(
        p.etcdctl(&["get", "k", "--print-value-only"]).ok().stdout,
        "2\n"
    );
    let ttl = p
        .etcdctl(&["lease", "timetolive", "--keys", &l2])
        .ok()
        .stdout;
    assert!(ttl.ends_with(", attached keys([k])\n"), "{ttl}");
}

#[test]
fn restart_preserves_leases_and_attachments() {
    let mut p = EtcdProcess::start(EtcdOpts::default());
    let id = grant(&p, 300);
    p.etcdctl(&["put", &format!("--lease={id}"), "survivor", "v"])
        .ok();
    p.restart();
    assert_eq!(
        p.etcdctl(&["lease", "list"]).ok().stdout,
        format!("found 1 leases\n{id}\n")
    );
    let ttl = p
        .etcdctl(&["lease", "timetolive", "--keys", &id])
        .ok()
        .stdout;
    assert!(
        ttl.starts_with(&format!("lease {id} granted with TTL(300s), remaining(")),
        "{ttl}"
    );
    assert!(ttl.ends_with(", attached keys([survivor])\n"), "{ttl}");
    p.etcdctl(&["lease", "revoke", &id]).ok();
    assert_eq!(p.etcdctl(&["get", "survivor"]).ok().stdout, "");
    p.restart();
    assert_eq!(
        p.etcdctl(&["lease", "list"]).ok().stdout,
        "found 0 leases\n"
    );
}

#[test]
fn gateway_lease_routes() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let ids = p.ids();
    let (status, body) = post(&p, "/v3/lease/grant", r#"{"TTL":100,"ID":1234}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        ids.normalise(&body),
        r#"{"header":{"cluster_id":"<CLUSTER_ID>","member_id":"<MEMBER_ID>","revision":"1","raft_term":"<TERM>"},"ID":"1234","TTL":"100"}"#
    );
    let (status, body) = post(&p, "/v3/lease/grant", r#"{"TTL":100,"ID":1234}"#);
    assert_eq!(
        (status, body.as_str()),
        (
            412,
            r#"{"error":"etcdserver: lease already exists","message":"etcdserver: lease already exists","code":9}"#
        )
    );
    let (status, body) = post(&p, "/v3/lease/grant", r#"{"TTL":9000000001}"#);
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            r#"{"error":"etcdserver: too large lease TTL","message":"etcdserver: too large lease TTL","code":11}"#
        )
    );

    let (status, body) = post(&p, "/v3/lease/keepalive", "{\"ID\":1234}\n{\"ID\":99}\n");
    assert_eq!(status, 200);
    let hdr = r#"{"cluster_id":"<CLUSTER_ID>","member_id":"<MEMBER_ID>","revision":"1","raft_term":"<TERM>"}"#;
    assert_eq!(
        ids.normalise(&body),
        format!("{{\"result\":{{\"header\":{hdr},\"ID\":\"1234\",\"TTL\":\"100\"}}}}\n{{\"result\":{{\"header\":{hdr},\"ID\":\"99\"}}}}\n")
    );
    let (status, body) = post(&p, "/v3/kv/lease/timetolive", r#"{"ID":99}"#);
    assert_eq!(status, 200);
    assert_eq!(
        ids.normalise(&body),
        format!("{{\"header\":{hdr},\"ID\":\"99\",\"TTL\":\"-1\"}}")
    );
    let (_, body) = post(&p, "/v3/lease/timetolive", r#"{"ID":1234,"keys":true}"#);
    assert!(body.contains(r#""grantedTTL":"100""#), "{body}");
    for path in ["/v3/lease/leases", "/v3/kv/lease/leases"] {
        let (_, body) = post(&p, path, "{}");
        assert_eq!(
            ids.normalise(&body),
            format!("{{\"header\":{hdr},\"leases\":[{{\"ID\":\"1234\"}}]}}")
        );
    }
    let (status, body) = post(&p, "/v3/lease/revoke", r#"{"ID":99}"#);
    assert_eq!(
        (status, body.as_str()),
        (
            404,
            r#"{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}"#
        )
    );
    let (status, body) = post(&p, "/v3/kv/lease/revoke", r#"{"ID":1234}"#);
    assert_eq!(status, 200);
    assert_eq!(ids.normalise(&body), format!("{{\"header\":{hdr}}}"));
}
