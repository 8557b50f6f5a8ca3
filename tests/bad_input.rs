//! Requests etcd rejects, over gRPC: the exact status code and message, and
//! that a rejected request changes nothing (the store revision stays put).

mod common;

use common::{EtcdOpts, EtcdProcess};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{
    compare, request_op, Compare, PutRequest, RangeRequest, RequestOp, TxnRequest,
};
use tonic::transport::Channel;
use tonic::Code;

/// etcd's default `--max-request-bytes` (1.5 MiB).
const MAX_REQUEST_BYTES: usize = 1024 * 1024 + 512 * 1024;
/// etcd's default `--max-txn-ops`.
const MAX_TXN_OPS: usize = 128;

async fn connect(p: &EtcdProcess) -> KvClient<Channel> {
    KvClient::connect(p.client_url()).await.expect("connect")
}

fn put_req(key: &str, value: &[u8]) -> PutRequest {
    PutRequest { key: key.as_bytes().to_vec(), value: value.to_vec(), ..Default::default() }
}

fn put_op(key: &str) -> RequestOp {
    RequestOp { request: Some(request_op::Request::RequestPut(put_req(key, b"v"))) }
}

async fn revision(kv: &mut KvClient<Channel>) -> i64 {
    let resp = kv
        .range(RangeRequest { key: vec![0], range_end: vec![0], count_only: true, ..Default::default() })
        .await
        .expect("range")
        .into_inner();
    resp.header.expect("header").revision
}

fn assert_status<T: std::fmt::Debug>(r: Result<T, tonic::Status>, code: Code, msg: &str) {
    match r {
        Ok(v) => panic!("expected {code:?} {msg:?}, got Ok({v:?})"),
        Err(s) => {
            assert_eq!(s.code(), code, "{s:?}");
            assert_eq!(s.message(), msg, "{s:?}");
        }
    }
}

#[test]
fn rejected_requests_change_nothing() {
    let p = EtcdProcess::start(EtcdOpts::default());
    common::runtime().block_on(async {
        let mut kv = connect(&p).await;
        kv.put(put_req("existing", b"1")).await.expect("put");
        let rev = revision(&mut kv).await;
        assert_eq!(rev, 2);

        // Oversized put: over --max-request-bytes but under the gRPC limit
        // (max-request-bytes + 512 KiB), so etcd itself rejects it.
        let big = vec![b'x'; MAX_REQUEST_BYTES + 1024];
        assert_status(
            kv.put(put_req("big", &big)).await,
            Code::InvalidArgument,
            "etcdserver: request is too large",
        );
        assert_eq!(revision(&mut kv).await, rev);

        // Too many operations in one txn.
        let ops: Vec<RequestOp> = (0..=MAX_TXN_OPS).map(|i| put_op(&format!("k{i}"))).collect();
        assert_status(
            kv.txn(TxnRequest { success: ops, ..Default::default() }).await,
            Code::InvalidArgument,
            "etcdserver: too many operations in txn request",
        );
        let ops: Vec<RequestOp> = (0..=MAX_TXN_OPS).map(|i| put_op(&format!("k{i}"))).collect();
        assert_status(
            kv.txn(TxnRequest { failure: ops, ..Default::default() }).await,
            Code::InvalidArgument,
            "etcdserver: too many operations in txn request",
        );
        assert_eq!(revision(&mut kv).await, rev);

        // The same key written twice in one branch.
        assert_status(
            kv.txn(TxnRequest { success: vec![put_op("dup"), put_op("dup")], ..Default::default() }).await,
            Code::InvalidArgument,
            "etcdserver: duplicate key given in txn request",
        );
        assert_eq!(revision(&mut kv).await, rev);

        // Empty keys.
        assert_status(kv.put(put_req("", b"v")).await, Code::InvalidArgument, "etcdserver: key is not provided");
        assert_status(
            kv.range(RangeRequest::default()).await,
            Code::InvalidArgument,
            "etcdserver: key is not provided",
        );
        assert_status(
            kv.txn(TxnRequest { success: vec![put_op("")], ..Default::default() }).await,
            Code::InvalidArgument,
            "etcdserver: key is not provided",
        );
        assert_eq!(revision(&mut kv).await, rev);

        // A lease that was never granted.
        assert_status(
            kv.put(PutRequest { lease: 0x1234_5678, ..put_req("leased", b"v") }).await,
            Code::NotFound,
            "etcdserver: requested lease not found",
        );
        assert_eq!(revision(&mut kv).await, rev);

        // Reading the future.
        assert_status(
            kv.range(RangeRequest { key: b"existing".to_vec(), revision: rev + 1, ..Default::default() }).await,
            Code::OutOfRange,
            "etcdserver: mvcc: required revision is a future revision",
        );
        // A txn whose compare fails must not apply either branch's bad op; a
        // valid txn of exactly the limit goes through as one revision.
        let cmp = Compare {
            key: b"existing".to_vec(),
            target: compare::CompareTarget::Value as i32,
            result: compare::CompareResult::Equal as i32,
            target_union: Some(compare::TargetUnion::Value(b"1".to_vec())),
            ..Default::default()
        };
        let ops: Vec<RequestOp> = (0..MAX_TXN_OPS).map(|i| put_op(&format!("k{i}"))).collect();
        let resp = kv
            .txn(TxnRequest { compare: vec![cmp], success: ops, failure: vec![] })
            .await
            .expect("txn of max ops")
            .into_inner();
        assert!(resp.succeeded);
        assert_eq!(resp.header.expect("header").revision, rev + 1);
        assert_eq!(revision(&mut kv).await, rev + 1);
        let count = kv
            .range(RangeRequest { key: b"k".to_vec(), range_end: b"l".to_vec(), count_only: true, ..Default::default() })
            .await
            .expect("range")
            .into_inner()
            .count;
        assert_eq!(count, MAX_TXN_OPS as i64);
    });
}
