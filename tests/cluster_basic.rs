//! Three-member clusters bootstrapped statically, checked with the real
//! etcdctl 3.4 against a real etcd 3.4 cluster started by the same harness:
//! membership listing in every output format, `endpoint status|health
//! --cluster`, and reads/writes through every member (followers forward
//! proposals and serve linearizable reads through ReadIndex).

mod common;

use std::time::Duration;

use common::cluster::{Cluster, ClusterOpts};
use serde_json::Value;

/// Lines with run-specific widths made comparable: ids, ports and the
/// cluster id replaced, runs of `-` and spaces collapsed, sorted (member
/// order follows ids, which follow ports; order is checked separately).
fn canonical_lines(c: &Cluster, out: &str) -> Vec<String> {
    let norm = c.normalise(out);
    let mut lines: Vec<String> = norm
        .lines()
        .map(|l| {
            let mut s = String::new();
            for ch in l.chars() {
                if (ch == '-' || ch == ' ') && s.ends_with(ch) {
                    continue;
                }
                s.push(ch);
            }
            s
        })
        .collect();
    lines.sort();
    lines
}

/// `member list -w json` with ids replaced by member indices, members in
/// the order printed.
fn canonical_member_json(c: &Cluster, out: &str) -> Value {
    let mut v: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("member list json {out:?}: {e}"));
    let idx = |id: &Value| Value::String(format!("<ID {}>", c.index_of(id.as_u64().expect("numeric id")).expect("known id")));
    v["header"]["cluster_id"] = Value::String("<CLUSTER>".into());
    v["header"]["member_id"] = idx(&v["header"]["member_id"]);
    v["header"]["raft_term"] = Value::String("<TERM>".into());
    for m in v["members"].as_array_mut().expect("members array") {
        m["ID"] = idx(&m["ID"]);
        let canon = |urls: &mut Value| {
            for u in urls.as_array_mut().expect("urls") {
                *u = Value::String(c.normalise(u.as_str().expect("url")));
            }
        };
        canon(&mut m["peerURLs"]);
        canon(&mut m["clientURLs"]);
    }
    v
}

fn member_ids_in_order(out: &str) -> Vec<u64> {
    let v: Value = serde_json::from_str(out).expect("json");
    v["members"].as_array().expect("members").iter().map(|m| m["ID"].as_u64().expect("id")).collect()
}

#[test]
fn member_list_formats_match_real_etcd() {
    let ours = Cluster::start(3, ClusterOpts::default());
    let real = Cluster::start(3, ClusterOpts::real_etcd());
    for c in [&ours, &real] {
        // etcd lists members sorted by id.
        let ids = member_ids_in_order(&c.etcdctl(1, &["member", "list", "-w", "json"]).ok().stdout);
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "member order (real etcd: {})", c.is_real_etcd());
    }
    let ours_json = canonical_member_json(&ours, &ours.etcdctl(0, &["member", "list", "-w", "json"]).ok().stdout);
    let real_json = canonical_member_json(&real, &real.etcdctl(0, &["member", "list", "-w", "json"]).ok().stdout);
    let by_name = |v: &Value| {
        let mut ms = v["members"].as_array().expect("members").clone();
        ms.sort_by_key(|m| m["name"].as_str().unwrap_or("").to_string());
        (v["header"].clone(), ms)
    };
    assert_eq!(by_name(&ours_json), by_name(&real_json));
    for format in ["table", "simple", "fields"] {
        let o = ours.etcdctl(0, &["member", "list", "-w", format]).ok();
        let r = real.etcdctl(0, &["member", "list", "-w", format]).ok();
        assert_eq!(canonical_lines(&ours, &o.stdout), canonical_lines(&real, &r.stdout), "-w {format}");
        assert_eq!(o.stderr, r.stderr, "-w {format}");
    }
}

/// `endpoint status --cluster` lists every member (reached through the
/// client URLs the member list advertises) with one agreed leader.
#[test]
fn endpoint_status_cluster_matches_real_etcd() {
    let ours = Cluster::start(3, ClusterOpts::default());
    let real = Cluster::start(3, ClusterOpts::real_etcd());
    let shape = |c: &Cluster| {
        let out = c.etcdctl(0, &["endpoint", "status", "--cluster", "-w", "json"]);
        assert_eq!(out.code, 0, "real etcd: {} {out:#?}", c.is_real_etcd());
        let v: Value = serde_json::from_str(&out.stdout).expect("status json");
        let arr = v.as_array().expect("array");
        let mut endpoints: Vec<String> = arr.iter().map(|e| c.normalise(e["Endpoint"].as_str().expect("ep"))).collect();
        endpoints.sort();
        let leaders: Vec<u64> = arr.iter().map(|e| e["Status"]["leader"].as_u64().expect("leader")).collect();
        assert!(leaders.iter().all(|&l| l == leaders[0] && c.index_of(l).is_some()), "leaders {leaders:?}");
        let mut keys: Vec<String> = arr[0]["Status"].as_object().expect("status").keys().cloned().collect();
        keys.sort();
        let simple = c.etcdctl(0, &["endpoint", "status", "--cluster"]).ok();
        let leader_col: Vec<String> = simple.stdout.lines().map(|l| l.split(", ").nth(4).unwrap_or("?").to_string()).collect();
        (endpoints, keys, simple.stdout.lines().count(), leader_col.iter().filter(|s| *s == "true").count())
    };
    assert_eq!(shape(&ours), shape(&real));
}

/// `endpoint health --cluster`: every member commits a proposal (a
/// linearizable get) and reports healthy.
#[test]
fn endpoint_health_cluster_all_healthy() {
    let ours = Cluster::start(3, ClusterOpts::default());
    let real = Cluster::start(3, ClusterOpts::real_etcd());
    let health = |c: &Cluster| {
        let out = c.etcdctl(0, &["endpoint", "health", "--cluster"]);
        assert_eq!(out.code, 0, "real etcd: {} {out:#?}", c.is_real_etcd());
        let mut lines: Vec<String> = c
            .normalise(&out.stdout)
            .lines()
            .map(|l| l.split(" took = ").next().unwrap_or("").to_string())
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(health(&ours), health(&real));
}

/// A write acknowledged by one member is readable on every member,
/// linearizably, and serializably after a linearizable read there; writes
/// proposed on followers are forwarded to the leader.
#[test]
fn writes_are_visible_on_every_member() {
    let mut c = Cluster::start(3, ClusterOpts::default());
    let leader = c.wait_leader(Duration::from_secs(10));
    let all: Vec<usize> = (0..3).collect();
    let mut acked = Vec::new();
    for i in [leader, (leader + 1) % 3, (leader + 2) % 3] {
        let (k, v) = (format!("via/{i}"), format!("from member {i}"));
        let resp = c.put(i, &k, &v).unwrap_or_else(|e| panic!("put via member {i} (leader {leader}): {e:?}\n{}", c.logs()));
        let h = resp.header.expect("header");
        assert_eq!(h.member_id, c.member_id(i), "the header names the member that answered");
        assert_eq!(h.cluster_id, c.cluster_id());
        acked.push((k.clone(), v.clone()));
        for &j in &all {
            let got = c.get(j, &k, false);
            assert!(matches!(&got, Ok(Some(b)) if b == v.as_bytes()), "linearizable read on {j} after put via {i}: {got:?}");
            let got = c.get(j, &k, true);
            assert!(matches!(&got, Ok(Some(b)) if b == v.as_bytes()), "serializable read on {j} after put via {i}: {got:?}");
        }
    }
    // etcdctl sees the same through any member.
    for &j in &all {
        let out = c.etcdctl(j, &["get", "via/", "--prefix", "--print-value-only"]).ok();
        let mut expected: Vec<&str> = acked.iter().map(|(_, v)| v.as_str()).collect();
        expected.sort();
        let mut got: Vec<&str> = out.stdout.lines().collect();
        got.sort();
        assert_eq!(got, expected, "etcdctl get via member {j}");
    }
    c.wait_converged(&all, Duration::from_secs(10));
}

/// Regression for the ReadIndex context collision: every member numbers its
/// ReadIndex requests from 1, so the followers' first rounds carry the same
/// context, the leader (raft-rs `ReadOnly::add_request`) ignores the
/// duplicate, and one follower's linearizable read waits until it times out
/// (seen as `endpoint health --cluster` reporting followers unhealthy).
/// Concurrent linearizable reads on all members must all succeed promptly.
#[test]
fn concurrent_linearizable_reads_on_all_members() {
    let mut c = Cluster::start(3, ClusterOpts::default());
    c.wait_leader(Duration::from_secs(10));
    for round in 0..5 {
        let clients: Vec<_> = (0..3).map(|i| c.client(i)).collect();
        let results = c.block_on(async move {
            let handles: Vec<_> = clients
                .into_iter()
                .map(|mut kv| {
                    tokio::spawn(async move {
                        let req = etcd_proto::etcdserverpb::RangeRequest { key: b"health".to_vec(), ..Default::default() };
                        kv.range(req).await.map(|_| ()).map_err(|e| (e.code(), e.message().to_string()))
                    })
                })
                .collect();
            let mut out = Vec::new();
            for h in handles {
                out.push(h.await.expect("join"));
            }
            out
        });
        assert!(results.iter().all(|r| r.is_ok()), "round {round}: linearizable reads per member: {results:?}");
    }
}
