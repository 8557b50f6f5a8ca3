//! Helpers shared by the store tests.
#![allow(dead_code)]

use std::sync::Arc;

use etcd_backend::{Backend, BackendConfig};
use etcd_mvcc::KvStore;
use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::response_op::Response;
use etcd_proto::etcdserverpb::{
    Compare, DeleteRangeRequest, PutRequest, RangeRequest, RangeResponse, RequestOp, ResponseOp,
    TxnRequest,
};

pub struct Fixture {
    pub dir: tempfile::TempDir,
    slot: Option<KvStore>,
    pub index: u64,
}

pub fn backend_at(dir: &tempfile::TempDir) -> Arc<Backend> {
    let cfg = BackendConfig {
        batch_interval_ms: 60_000,
        batch_limit: 1_000_000,
    };
    Arc::new(Backend::open(&dir.path().join("db"), cfg).unwrap())
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = KvStore::open(backend_at(&dir)).unwrap();
        Fixture {
            dir,
            slot: Some(store),
            index: 0,
        }
    }

    pub fn store(&self) -> &KvStore {
        self.slot.as_ref().expect("store is open")
    }

    pub fn next_index(&mut self) -> u64 {
        self.index += 1;
        self.index
    }

    /// Commits, drops the store and opens it again from the file.
    pub fn reopen(&mut self, commit: bool) {
        if commit {
            self.store().backend().commit().unwrap();
        }
        self.slot = None;
        self.slot = Some(KvStore::open(backend_at(&self.dir)).unwrap());
    }

    pub fn put(&mut self, k: &str, v: &str) -> i64 {
        let i = self.next_index();
        let (r, _) = self.store().put(&put_req(k, v), i, &|_| true).unwrap();
        r.header.unwrap().revision
    }

    pub fn del(&mut self, k: &str, end: &str) -> i64 {
        let i = self.next_index();
        let (r, _) = self.store().delete_range(&del_req(k, end), i).unwrap();
        r.deleted
    }

    pub fn get(&self, k: &str, end: &str) -> RangeResponse {
        self.store().range(&range_req(k, end)).unwrap()
    }

    pub fn get_at(&self, k: &str, end: &str, rev: i64) -> RangeResponse {
        self.store()
            .range(&RangeRequest {
                revision: rev,
                ..range_req(k, end)
            })
            .unwrap()
    }
}

pub fn put_req(k: &str, v: &str) -> PutRequest {
    PutRequest {
        key: k.into(),
        value: v.into(),
        ..Default::default()
    }
}

pub fn del_req(k: &str, end: &str) -> DeleteRangeRequest {
    DeleteRangeRequest {
        key: k.into(),
        range_end: end.into(),
        ..Default::default()
    }
}

pub fn range_req(k: &str, end: &str) -> RangeRequest {
    RangeRequest {
        key: k.into(),
        range_end: end.into(),
        ..Default::default()
    }
}

pub fn op_put(k: &str, v: &str) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestPut(put_req(k, v))),
    }
}

pub fn op_del(k: &str, end: &str) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestDeleteRange(del_req(k, end))),
    }
}

pub fn op_get(k: &str, end: &str) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestRange(range_req(k, end))),
    }
}

pub fn op_txn(t: TxnRequest) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestTxn(t)),
    }
}

pub fn cmp(
    k: &str,
    end: &str,
    target: CompareTarget,
    result: CompareResult,
    u: TargetUnion,
) -> Compare {
    Compare {
        result: result as i32,
        target: target as i32,
        key: k.into(),
        range_end: end.into(),
        target_union: Some(u),
    }
}

pub fn keys(r: &RangeResponse) -> Vec<String> {
    r.kvs
        .iter()
        .map(|kv| String::from_utf8(kv.key.clone()).unwrap())
        .collect()
}

pub fn as_range(op: &ResponseOp) -> &RangeResponse {
    match &op.response {
        Some(Response::ResponseRange(r)) => r,
        other => panic!("not a range response: {other:?}"),
    }
}
