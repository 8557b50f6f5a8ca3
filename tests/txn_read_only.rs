//! A txn whose branches hold only ranges is a read, as in etcd 3.4: it is
//! served by the member that got it without a Raft entry (after a ReadIndex
//! barrier, or none when every range is serializable), so it moves no Raft
//! index and a serializable one answers on a member cut off from the
//! others. The same tests pass against the real etcd
//! (`ETCD_RS_TEST_ETCD=/usr/bin/etcd`).

mod common;

use std::time::Duration;

use common::cluster::{Cluster, ClusterOpts};
use common::{EtcdOpts, EtcdProcess};
use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::{Compare, RangeRequest, RequestOp, TxnRequest};
use serde_json::Value;

fn raft_index(s: &EtcdProcess) -> u64 {
    let out = s.etcdctl(&["endpoint", "status", "-w", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("status json");
    v[0]["Status"]["raftIndex"].as_u64().expect("raftIndex")
}

#[test]
fn read_only_txn_answers_without_a_raft_entry() {
    let s = EtcdProcess::start(EtcdOpts::default());
    assert_eq!(s.etcdctl(&["put", "k", "v1"]).code, 0);
    let before = raft_index(&s);
    let script = "value(\"k\") = \"v1\"\n\nget k\nget missing\n\n\n";
    for _ in 0..3 {
        let out = s.etcdctl_stdin(&["txn"], script);
        assert_eq!((out.code, out.stdout.as_str()), (0, "SUCCESS\n\nk\nv1\n\n"), "{}", out.stderr);
    }
    let out = s.etcdctl_stdin(&["txn"], "value(\"k\") = \"other\"\n\n\nget k\n\n");
    assert_eq!((out.code, out.stdout.as_str()), (0, "FAILURE\n\nk\nv1\n"), "{}", out.stderr);
    assert_eq!(raft_index(&s), before, "a read-only txn went through Raft");
    // A txn that writes still does.
    let out = s.etcdctl_stdin(&["txn"], "\nput k v2\n\n\n");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(raft_index(&s) > before);
}

fn get(key: &str, serializable: bool) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestRange(RangeRequest {
            key: key.into(),
            serializable,
            ..Default::default()
        })),
    }
}

fn txn_on_k(serializable: bool) -> TxnRequest {
    TxnRequest {
        compare: vec![Compare {
            key: "k".into(),
            target: CompareTarget::Value as i32,
            result: CompareResult::Equal as i32,
            target_union: Some(TargetUnion::Value("v".into())),
            ..Default::default()
        }],
        success: vec![get("k", serializable)],
        failure: vec![],
    }
}

#[test]
fn serializable_read_only_txn_answers_on_a_cut_off_member() {
    let mut c = Cluster::start(3, ClusterOpts::default());
    let leader = c.wait_leader(Duration::from_secs(30));
    c.put(leader, "k", "v").expect("put");
    let cut = (leader + 1) % 3;
    let others: Vec<usize> = (0..3).filter(|&i| i != cut).collect();
    // Let the cut-off member apply the put before cutting it off.
    let ch = c.channel(cut);
    let synced = common::wait_until(Duration::from_secs(10), || {
        c.block_on(KvClient::new(ch.clone()).range(RangeRequest {
            key: "k".into(),
            serializable: true,
            ..Default::default()
        }))
        .is_ok_and(|r| r.into_inner().count == 1)
    });
    assert!(synced, "m{cut} never applied the put\n{}", c.logs());
    c.proxy().partition(&[cut], &others);

    let ch = c.channel_timeout(cut, Duration::from_secs(3));
    let r = c
        .block_on(KvClient::new(ch.clone()).txn(txn_on_k(true)))
        .unwrap_or_else(|e| panic!("serializable txn on the cut-off member: {e}\n{}", c.logs()))
        .into_inner();
    assert!(r.succeeded);
    let Some(Response::ResponseRange(rr)) = &r.responses[0].response else {
        panic!("no range response: {r:?}");
    };
    assert_eq!(rr.kvs[0].value, b"v");
    // Linearizable, it needs the leader: no answer within the deadline.
    let err = c.block_on(KvClient::new(ch).txn(txn_on_k(false)));
    assert!(err.is_err(), "linearizable txn answered on a cut-off member: {err:?}");
    c.proxy().heal_all();
}
