//! Differential testing plumbing: our etcd and the real etcd 3.4.23 side by
//! side, the same KV request sent to both, the answers compared.
//!
//! - Both servers start empty, so revisions line up request by request.
//! - Each response is compared whole (`PartialEq` on the prost messages) after
//!   one normalisation: a header field equal to that server's own cluster id,
//!   member id or raft term (learned from the top-level header) becomes
//!   [`SCRUBBED`]. A header that carries zero on one side and the id on the
//!   other therefore still differs.
//! - An error is compared as (gRPC code, message).

use std::path::PathBuf;
use std::time::Duration;

use super::{EtcdOpts, EtcdProcess};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{
    response_op, CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse,
    PutRequest, PutResponse, RangeRequest, RangeResponse, ResponseHeader, TxnRequest, TxnResponse,
};
use tonic::transport::Channel;

/// The reference implementation.
pub const REAL_ETCD: &str = "/usr/bin/etcd";
/// Upper bound on one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// What a header id equal to the server's own becomes.
pub const SCRUBBED: u64 = u64::MAX;

/// One KV request.
#[derive(Debug, Clone)]
pub enum Op {
    Put(PutRequest),
    Range(RangeRequest),
    Delete(DeleteRangeRequest),
    Txn(TxnRequest),
    Compact(CompactionRequest),
}

/// One answer, normalised.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Put(PutResponse),
    Range(RangeResponse),
    Delete(DeleteRangeResponse),
    Txn(TxnResponse),
    Compact(CompactionResponse),
    Err(tonic::Code, String),
}

impl Outcome {
    /// The store revision in the header of a successful answer.
    pub fn revision(&self) -> Option<i64> {
        let h = match self {
            Outcome::Put(r) => r.header.as_ref(),
            Outcome::Range(r) => r.header.as_ref(),
            Outcome::Delete(r) => r.header.as_ref(),
            Outcome::Txn(r) => r.header.as_ref(),
            Outcome::Compact(r) => r.header.as_ref(),
            Outcome::Err(..) => None,
        };
        h.map(|h| h.revision)
    }
}

/// Our server and the real one.
pub struct Pair {
    /// Our server.
    pub ours: EtcdProcess,
    /// The real etcd.
    pub real: EtcdProcess,
    ours_kv: KvClient<Channel>,
    real_kv: KvClient<Channel>,
}

impl Pair {
    pub fn start(rt: &tokio::runtime::Runtime) -> Pair {
        assert!(
            std::path::Path::new(REAL_ETCD).exists(),
            "the reference etcd {REAL_ETCD} is not installed"
        );
        let ours = EtcdProcess::start(EtcdOpts::default());
        let real = EtcdProcess::start(EtcdOpts {
            binary: Some(PathBuf::from(REAL_ETCD)),
            ..EtcdOpts::default()
        });
        let (ours_kv, real_kv) = rt.block_on(async {
            (
                KvClient::connect(ours.client_url())
                    .await
                    .expect("connect ours"),
                KvClient::connect(real.client_url())
                    .await
                    .expect("connect real etcd"),
            )
        });
        Pair {
            ours,
            real,
            ours_kv,
            real_kv,
        }
    }

    /// Sends `op` to both servers (concurrently) and returns (ours, real).
    pub fn run(&mut self, rt: &tokio::runtime::Runtime, op: &Op) -> (Outcome, Outcome) {
        rt.block_on(async {
            tokio::join!(send(&mut self.ours_kv, op), send(&mut self.real_kv, op))
        })
    }

    /// Runs `op` on both and panics with `context` unless the answers match.
    pub fn check(&mut self, rt: &tokio::runtime::Runtime, op: &Op, context: &str) -> Outcome {
        let (ours, real) = self.run(rt, op);
        if ours != real {
            panic!(
                "divergence from etcd {context}\nrequest: {op:?}\nours: {ours:?}\netcd: {real:?}\n\
                 --- our log (tail) ---\n{}\n--- etcd's log (tail) ---\n{}",
                tail(&self.ours.log(), 3000),
                tail(&self.real.log(), 3000)
            );
        }
        real
    }
}

fn tail(s: &str, bytes: usize) -> &str {
    let mut start = s.len().saturating_sub(bytes);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

fn request<T>(msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.set_timeout(REQUEST_TIMEOUT);
    r
}

pub async fn send(kv: &mut KvClient<Channel>, op: &Op) -> Outcome {
    let res = match op.clone() {
        Op::Put(r) => kv
            .put(request(r))
            .await
            .map(|r| Outcome::Put(r.into_inner())),
        Op::Range(r) => kv
            .range(request(r))
            .await
            .map(|r| Outcome::Range(r.into_inner())),
        Op::Delete(r) => kv
            .delete_range(request(r))
            .await
            .map(|r| Outcome::Delete(r.into_inner())),
        Op::Txn(r) => kv
            .txn(request(r))
            .await
            .map(|r| Outcome::Txn(r.into_inner())),
        Op::Compact(r) => kv
            .compact(request(r))
            .await
            .map(|r| Outcome::Compact(r.into_inner())),
    };
    match res {
        Ok(mut out) => {
            scrub(&mut out);
            out
        }
        Err(s) => Outcome::Err(s.code(), s.message().to_string()),
    }
}

/// The server's own ids, from a top-level header.
#[derive(Clone, Copy)]
struct OwnIds {
    cluster_id: u64,
    member_id: u64,
    raft_term: u64,
}

fn scrub_header(h: &mut Option<ResponseHeader>, ids: OwnIds) {
    if let Some(h) = h {
        if h.cluster_id == ids.cluster_id {
            h.cluster_id = SCRUBBED;
        }
        if h.member_id == ids.member_id {
            h.member_id = SCRUBBED;
        }
        if h.raft_term == ids.raft_term {
            h.raft_term = SCRUBBED;
        }
    }
}

fn scrub_txn(r: &mut TxnResponse, ids: OwnIds) {
    scrub_header(&mut r.header, ids);
    for op in &mut r.responses {
        match &mut op.response {
            Some(response_op::Response::ResponseRange(r)) => scrub_header(&mut r.header, ids),
            Some(response_op::Response::ResponsePut(r)) => scrub_header(&mut r.header, ids),
            Some(response_op::Response::ResponseDeleteRange(r)) => scrub_header(&mut r.header, ids),
            Some(response_op::Response::ResponseTxn(r)) => scrub_txn(r, ids),
            None => {}
        }
    }
}

pub fn scrub(out: &mut Outcome) {
    let header = match out {
        Outcome::Put(r) => r.header,
        Outcome::Range(r) => r.header,
        Outcome::Delete(r) => r.header,
        Outcome::Txn(r) => r.header,
        Outcome::Compact(r) => r.header,
        Outcome::Err(..) => return,
    };
    let Some(h) = header else { return };
    let ids = OwnIds {
        cluster_id: h.cluster_id,
        member_id: h.member_id,
        raft_term: h.raft_term,
    };
    match out {
        Outcome::Put(r) => scrub_header(&mut r.header, ids),
        Outcome::Range(r) => scrub_header(&mut r.header, ids),
        Outcome::Delete(r) => scrub_header(&mut r.header, ids),
        Outcome::Txn(r) => scrub_txn(r, ids),
        Outcome::Compact(r) => scrub_header(&mut r.header, ids),
        Outcome::Err(..) => {}
    }
}
