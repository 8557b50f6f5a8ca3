//! The building blocks the Lock and Election services share: etcd's
//! `clientv3/concurrency` recipes run inside the server against
//! [`EtcdServer`] (every read is linearizable, every write a Raft proposal).
//!
//! Key layout (the wire contract with etcd's own client-side recipes, so a
//! server-side lock and an `etcdctl lock` on the same name exclude each
//! other): each contender owns the key `name + "/" + lease id in lowercase
//! hex` (Go's `%x` of the signed id), attached to its lease. Contenders are
//! ordered by create revision; the one with the smallest holds the lock or
//! leads the election.
//!
//! Waiting ([`wait_deletes`]): a contender with create revision `r` waits
//! until no key under the prefix has a create revision below `r`. It reads
//! the newest such key and waits, through a watch on the server's hub
//! started at the read's revision (so no deletion in between is missed), for
//! that key's deletion; then it reads again. Keys are removed by Unlock,
//! Resign, or the expiry/revocation of their lease.
//!
//! Errors: etcd serves these services through an in-process client, which
//! turns every error into a plain Go error, so a client always sees gRPC code
//! `Unknown` with the message (checked against etcd 3.4.23).

use std::sync::Arc;

use etcd_mvcc::watch::WatchStream;
use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_proto::etcdserverpb::range_request::{SortOrder, SortTarget};
use etcd_proto::etcdserverpb::request_op::Request as Op;
use etcd_proto::etcdserverpb::{
    Compare, DeleteRangeRequest, LeaseGrantRequest, RangeRequest, RangeResponse, RequestOp,
    ResponseHeader, TxnRequest, WatchCreateRequest, WatchResponse,
};
use etcd_proto::mvccpb::event::EventType;
use etcd_proto::mvccpb::KeyValue;
use etcd_proto::EtcdError;
use etcd_server::EtcdServer;
use tokio::sync::Notify;
use tonic::{Code, Status};

/// TTL of the lease granted when a request names lease 0 (clientv3's
/// `defaultSessionTTL`).
pub(crate) const DEFAULT_SESSION_TTL_S: i64 = 60;

/// What a Lock or Election call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum ConcurrencyError {
    /// A server error from one of the underlying requests.
    #[error("{0}")]
    Etcd(#[from] EtcdError),
    /// Proclaim by a caller whose leader key is gone or was re-created.
    #[error("election: not leader")]
    NotLeader,
    /// Leader (or Observe) on an election nobody leads.
    #[error("election: no leader")]
    NoLeader,
    /// Proclaim or Resign without a `leader`.
    #[error("\"leader\" field must be provided")]
    MissingLeaderKey,
    /// The lock key vanished (its lease ended) while the caller waited: the
    /// fix of etcd 3.4.x for the Jepsen report (etcd #11456) returns this
    /// rather than a lock that is not held.
    #[error("mutex: session is expired")]
    SessionExpired,
    /// The watch for a deletion ended without one.
    #[error("lost watcher waiting for delete")]
    LostWatcher,
}

impl ConcurrencyError {
    /// etcd's gRPC code for every such error.
    pub(crate) fn code(&self) -> Code {
        Code::Unknown
    }
}

impl From<ConcurrencyError> for Status {
    fn from(e: ConcurrencyError) -> Status {
        Status::new(e.code(), e.to_string())
    }
}

/// The gateway's answer for a call result.
pub(crate) fn gateway_answer<A: serde::Serialize>(
    r: Result<A, ConcurrencyError>,
) -> axum::response::Response {
    match r {
        Ok(a) => {
            let mut resp = crate::gateway::json_response(
                axum::http::StatusCode::OK,
                serde_json::to_vec(&a).unwrap_or_default(),
            );
            resp.headers_mut().insert(
                "grpc-metadata-content-type",
                axum::http::HeaderValue::from_static("application/grpc"),
            );
            resp
        }
        Err(e) => crate::gateway::error_response(e.code(), &e.to_string()),
    }
}

/// Decodes a gateway body like grpc-gateway (empty means the default
/// request); a bad body is answered with the same error text as KV's.
pub(crate) fn gateway_decode<Q: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<Q, Box<axum::response::Response>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Q::default());
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    serde::Deserialize::deserialize(&mut de).map_err(|e| {
        Box::new(crate::gateway::error_response(
            Code::InvalidArgument,
            &crate::gateway::go_json_error(body, &e),
        ))
    })
}

/// A unary gateway route: decode the body, run `f`, answer.
pub(crate) async fn gateway_call<Q, A, F, Fut>(body: &[u8], f: F) -> axum::response::Response
where
    Q: serde::de::DeserializeOwned + Default,
    A: serde::Serialize,
    F: FnOnce(Q) -> Fut,
    Fut: std::future::Future<Output = Result<A, ConcurrencyError>>,
{
    match gateway_decode(body) {
        Ok(q) => gateway_answer(f(q).await),
        Err(resp) => *resp,
    }
}

/// The contender key of `lease` under `prefix` (Go's `%x` of an int64).
pub(crate) fn contender_key(prefix: &[u8], lease: i64) -> Vec<u8> {
    let hex = if lease < 0 {
        format!("-{:x}", lease.unsigned_abs())
    } else {
        format!("{lease:x}")
    };
    let mut key = prefix.to_vec();
    key.extend_from_slice(hex.as_bytes());
    key
}

/// `name + "/"`: where the contenders of a lock or election live.
pub(crate) fn prefix_of(name: &[u8]) -> Vec<u8> {
    let mut p = name.to_vec();
    p.push(b'/');
    p
}

pub(crate) use etcd_proto::prefix_range_end;

/// The lease a call runs under: the caller's, or for lease 0 a new one
/// with [`DEFAULT_SESSION_TTL_S`] (as etcd's session does; nobody renews
/// it, so it ends after its TTL unless the caller keeps it alive).
pub(crate) async fn session_lease(server: &EtcdServer, lease: i64) -> Result<i64, EtcdError> {
    if lease != 0 {
        return Ok(lease);
    }
    let resp = server
        .lease_grant(LeaseGrantRequest {
            ttl: DEFAULT_SESSION_TTL_S,
            id: 0,
        })
        .await?;
    Ok(resp.id)
}

/// `create_revision(key) == rev`.
pub(crate) fn create_revision_is(key: &[u8], rev: i64) -> Compare {
    Compare {
        result: CompareResult::Equal as i32,
        target: CompareTarget::Create as i32,
        key: key.to_vec(),
        target_union: Some(TargetUnion::CreateRevision(rev)),
        range_end: Vec::new(),
    }
}

/// A single-key range, as a txn operation.
pub(crate) fn get_op(key: &[u8]) -> RequestOp {
    RequestOp {
        request: Some(Op::RequestRange(RangeRequest {
            key: key.to_vec(),
            ..Default::default()
        })),
    }
}

/// The key under `prefix` with the smallest create revision (clientv3's
/// `WithFirstCreate`).
pub(crate) fn first_created(prefix: &[u8]) -> RangeRequest {
    RangeRequest {
        key: prefix.to_vec(),
        range_end: prefix_range_end(prefix),
        limit: 1,
        sort_order: SortOrder::Ascend as i32,
        sort_target: SortTarget::Create as i32,
        ..Default::default()
    }
}

/// The first kv of a txn's `i`-th response, if it was a range that found one.
pub(crate) fn txn_range_kv(
    resp: &etcd_proto::etcdserverpb::TxnResponse,
    i: usize,
) -> Option<KeyValue> {
    use etcd_proto::etcdserverpb::response_op::Response;
    match resp.responses.get(i)?.response.as_ref()? {
        Response::ResponseRange(RangeResponse { kvs, .. }) => kvs.first().cloned(),
        _ => None,
    }
}

/// Deletes `key` if its create revision is still `rev`.
pub(crate) fn delete_if_created_at(key: &[u8], rev: i64) -> TxnRequest {
    TxnRequest {
        compare: vec![create_revision_is(key, rev)],
        success: vec![RequestOp {
            request: Some(Op::RequestDeleteRange(DeleteRangeRequest {
                key: key.to_vec(),
                ..Default::default()
            })),
        }],
        failure: Vec::new(),
    }
}

/// A clean-up request that runs if the call is dropped (its client went
/// away) while armed, like etcd's unlock/resign on a cancelled context.
pub(crate) struct Cleanup {
    server: Arc<EtcdServer>,
    txn: Option<TxnRequest>,
}

impl Cleanup {
    pub(crate) fn new(server: Arc<EtcdServer>, txn: TxnRequest) -> Cleanup {
        Cleanup {
            server,
            txn: Some(txn),
        }
    }

    /// Runs the clean-up now (on an error path) and disarms it.
    pub(crate) async fn run(mut self) {
        if let Some(txn) = self.txn.take() {
            // Best effort, as etcd's: the key's lease bounds its life anyway.
            let _ = self.server.txn(txn).await;
        }
    }

    /// Disarms it (the call completed).
    pub(crate) fn disarm(mut self) {
        self.txn = None;
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let Some(txn) = self.txn.take() else { return };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let server = self.server.clone();
            rt.spawn(async move {
                let _ = server.txn(txn).await;
            });
        }
    }
}

/// One watcher on the server's hub, read as an async sequence.
pub(crate) struct HubWatch {
    stream: WatchStream,
    data: Arc<Notify>,
}

impl HubWatch {
    /// Watches `[key, range_end)` (one key if `range_end` is empty) from
    /// revision `start_rev` on.
    pub(crate) async fn open(
        server: &EtcdServer,
        key: &[u8],
        range_end: &[u8],
        start_rev: i64,
    ) -> HubWatch {
        let data = Arc::new(Notify::new());
        let wake = data.clone();
        let stream = server
            .watch_hub()
            .open_stream(Arc::new(move || wake.notify_one()));
        let w = HubWatch { stream, data };
        let create = WatchCreateRequest {
            key: key.to_vec(),
            range_end: range_end.to_vec(),
            start_revision: start_rev,
            ..Default::default()
        };
        // A fresh stream has room; the loop only guards the contract.
        while !w.stream.try_create(&create) {
            w.data.notified().await;
        }
        w
    }

    /// The next response carrying events. A cancelled watcher (compaction
    /// passed its start) is an error, as in clientv3.
    pub(crate) async fn next(&self) -> Result<WatchResponse, ConcurrencyError> {
        loop {
            let Some((resp, _)) = self.stream.pop() else {
                self.data.notified().await;
                continue;
            };
            if resp.canceled {
                return Err(if resp.compact_revision != 0 {
                    EtcdError::Compacted.into()
                } else {
                    ConcurrencyError::LostWatcher
                });
            }
            if !resp.events.is_empty() {
                return Ok(resp);
            }
        }
    }
}

/// Waits until `key` is deleted at revision `rev` or later.
async fn wait_delete(server: &EtcdServer, key: &[u8], rev: i64) -> Result<(), ConcurrencyError> {
    let watch = HubWatch::open(server, key, &[], rev).await;
    loop {
        let resp = watch.next().await?;
        if resp
            .events
            .iter()
            .any(|e| e.r#type == EventType::Delete as i32)
        {
            return Ok(());
        }
    }
}

/// Waits until no key under `prefix` has a create revision at or below
/// `max_create_rev`; answers the header of the read that found none.
pub(crate) async fn wait_deletes(
    server: &EtcdServer,
    prefix: &[u8],
    max_create_rev: i64,
) -> Result<ResponseHeader, ConcurrencyError> {
    loop {
        let resp = server
            .range(RangeRequest {
                key: prefix.to_vec(),
                range_end: prefix_range_end(prefix),
                limit: 1,
                sort_order: SortOrder::Descend as i32,
                sort_target: SortTarget::Create as i32,
                max_create_revision: max_create_rev,
                ..Default::default()
            })
            .await?;
        let header = resp.header.unwrap_or_default();
        let Some(last) = resp.kvs.first() else {
            return Ok(header);
        };
        wait_delete(server, &last.key, header.revision).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contender_keys_use_go_hex() {
        assert_eq!(
            contender_key(b"l/", 0x694da1ffaf349109),
            b"l/694da1ffaf349109"
        );
        assert_eq!(contender_key(b"l/", 255), b"l/ff");
        assert_eq!(contender_key(b"l/", -1), b"l/-1");
        assert_eq!(contender_key(b"l/", i64::MIN), b"l/-8000000000000000");
    }

    #[test]
    fn prefix_range_end_matches_clientv3() {
        assert_eq!(prefix_range_end(b"mylock/"), b"mylock0");
        assert_eq!(prefix_range_end(b"a\xff"), b"b");
        assert_eq!(prefix_range_end(b"\xff\xff"), b"\0");
        assert_eq!(prefix_of(b"x"), b"x/");
    }

    #[test]
    fn errors_are_unknown_with_etcd_text() {
        let s: Status = ConcurrencyError::NotLeader.into();
        assert_eq!(
            (s.code(), s.message()),
            (Code::Unknown, "election: not leader")
        );
        let s: Status = ConcurrencyError::Etcd(EtcdError::LeaseNotFound).into();
        assert_eq!(
            (s.code(), s.message()),
            (Code::Unknown, "etcdserver: requested lease not found")
        );
        assert_eq!(
            ConcurrencyError::MissingLeaderKey.to_string(),
            "\"leader\" field must be provided"
        );
    }
}
