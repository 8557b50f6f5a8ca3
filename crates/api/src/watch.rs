//! The gRPC `etcdserverpb.Watch` service (one bidirectional stream carries
//! many watchers) and the gateway's `POST /v3/watch`.
//!
//! Each stream is a session on the server's watch hub: a task reads the
//! client's requests and hands them to the hub (waiting for queue room when
//! the client is not reading: back-pressure, never an unbounded buffer); the
//! response stream pops the hub's queue, fills in the header (cluster id,
//! member id, Raft term) and splits responses of watchers that asked for
//! fragments at `--max-request-bytes` plus gRPC's overhead, like etcd.
//! Dropping the response stream (client gone) ends the task and cancels the
//! stream's watchers.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use etcd_mvcc::watch::WatchStream;
use etcd_proto::etcdserverpb::watch_request::RequestUnion;
use etcd_proto::etcdserverpb::watch_server::Watch;
use etcd_proto::etcdserverpb::{ResponseHeader, WatchRequest, WatchResponse};
use etcd_server::EtcdServer;
use futures::{Stream, StreamExt};
use prost::Message;
use tokio::sync::Notify;
use tonic::{Request, Response as GrpcResponse, Status, Streaming};

use crate::GRPC_OVERHEAD_BYTES;

/// Watch service over a server.
pub struct WatchService(pub Arc<EtcdServer>);

type ResponseStream = Pin<Box<dyn Stream<Item = Result<WatchResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Watch for WatchService {
    type WatchStream = ResponseStream;

    async fn watch(
        &self,
        req: Request<Streaming<WatchRequest>>,
    ) -> Result<GrpcResponse<Self::WatchStream>, Status> {
        let out = session(self.0.clone(), req.into_inner()).map(Ok);
        Ok(GrpcResponse::new(Box::pin(out)))
    }
}

/// What the request task and the response stream share.
struct Shared {
    stream: WatchStream,
    /// Responses were queued (signalled by the hub).
    data: Arc<Notify>,
    /// The response stream took a response: the queue has room.
    room: Notify,
    /// The client's request stream failed: end the response stream.
    failed: AtomicBool,
    /// Creates refused by auth: their canceled responses, at most
    /// `DENIED_QUEUED_MAX`.
    denied: std::sync::Mutex<VecDeque<WatchResponse>>,
}

/// Refused creates queued before the reader waits for the client to drain.
const DENIED_QUEUED_MAX: usize = 1024;

/// Aborts the request task when the response stream is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs one watch stream: `inbound` requests in, responses out.
pub(crate) fn session<S>(
    server: Arc<EtcdServer>,
    inbound: S,
) -> impl Stream<Item = WatchResponse> + Send + 'static
where
    S: Stream<Item = Result<WatchRequest, Status>> + Send + 'static,
{
    let data = Arc::new(Notify::new());
    let wake = data.clone();
    let stream = server
        .watch_hub()
        .open_stream(Arc::new(move || wake.notify_one()));
    let shared = Arc::new(Shared {
        stream,
        data,
        room: Notify::new(),
        failed: AtomicBool::new(false),
        denied: std::sync::Mutex::new(VecDeque::new()),
    });
    let creds = etcd_server::Credentials::current();
    let task = AbortOnDrop(tokio::spawn(read_requests(shared.clone(), inbound, server.clone(), creds)));
    let max_bytes = server.config().max_request_bytes + GRPC_OVERHEAD_BYTES;
    let state = (shared, task, VecDeque::new(), server);
    futures::stream::unfold(
        state,
        move |(shared, task, mut pending, server)| async move {
            loop {
                if let Some(r) = pending.pop_front() {
                    return Some((r, (shared, task, pending, server)));
                }
                if let Some(r) = shared.denied.lock().expect("not poisoned").pop_front() {
                    shared.room.notify_one();
                    pending.push_back(r);
                    continue;
                }
                if let Some((mut resp, fragment)) = shared.stream.pop() {
                    shared.room.notify_one();
                    fill_header(&server, &mut resp);
                    if fragment {
                        pending.extend(fragments(resp, max_bytes));
                    } else {
                        pending.push_back(resp);
                    }
                    continue;
                }
                if shared.failed.load(Ordering::SeqCst) {
                    return None;
                }
                shared.data.notified().await;
            }
        },
    )
}

/// Hands each request to the hub, waiting for queue room when it is full.
/// A clean end of the requests leaves the watchers running (as etcd does).
async fn read_requests<S>(
    shared: Arc<Shared>,
    inbound: S,
    server: Arc<EtcdServer>,
    creds: Option<etcd_server::Credentials>,
) where
    S: Stream<Item = Result<WatchRequest, Status>> + Send + 'static,
{
    let mut inbound = std::pin::pin!(inbound);
    while let Some(item) = inbound.next().await {
        let Ok(req) = item else {
            shared.failed.store(true, Ordering::SeqCst);
            shared.data.notify_one();
            return;
        };
        let Some(u) = req.request_union else { continue };
        if let RequestUnion::CreateRequest(c) = &u {
            if let Some(r) = crate::auth_scope::watch_denied(&server, creds.as_ref(), c).await {
                while shared.denied.lock().expect("not poisoned").len() >= DENIED_QUEUED_MAX {
                    shared.room.notified().await;
                }
                shared.denied.lock().expect("not poisoned").push_back(r);
                shared.data.notify_one();
                continue;
            }
        }
        loop {
            let done = match &u {
                RequestUnion::CreateRequest(c) => shared.stream.try_create(c),
                RequestUnion::CancelRequest(c) => shared.stream.try_cancel(c.watch_id),
                RequestUnion::ProgressRequest(_) => shared.stream.try_progress(),
            };
            if done {
                break;
            }
            shared.room.notified().await;
        }
    }
}

/// The hub sets only the header's revision; the rest is the member's.
fn fill_header(server: &EtcdServer, resp: &mut WatchResponse) {
    let revision = resp.header.as_ref().map_or(0, |h| h.revision);
    resp.header = Some(ResponseHeader {
        cluster_id: server.cluster_id(),
        member_id: server.member_id(),
        revision,
        raft_term: server.term(),
    });
}

/// etcd's `sendFragments`: a response of at least `max_bytes` with two or
/// more events is split into pieces below `max_bytes` (at least one event
/// each); every piece but the last has `fragment` set.
fn fragments(resp: WatchResponse, max_bytes: usize) -> Vec<WatchResponse> {
    if resp.encoded_len() < max_bytes || resp.events.len() < 2 {
        return vec![resp];
    }
    let mut base = resp.clone();
    base.events.clear();
    base.fragment = true;
    let base_len = base.encoded_len();
    let mut out = Vec::new();
    let mut cur = base.clone();
    let mut cur_len = base_len;
    for ev in resp.events {
        let ev_len = prost::encoding::message::encoded_len(11, &ev);
        if !cur.events.is_empty() && cur_len + ev_len >= max_bytes {
            out.push(std::mem::replace(&mut cur, base.clone()));
            cur_len = base_len;
        }
        cur_len += ev_len;
        cur.events.push(ev);
    }
    cur.fragment = false;
    out.push(cur);
    out
}

/// The gateway's watch routes (`/v3/watch`, and `/v3beta/watch` as in etcd 3.4).
pub(crate) fn gateway_routes() -> axum::Router<Arc<EtcdServer>> {
    axum::Router::new()
        .route("/v3/watch", axum::routing::post(gateway))
        .route("/v3beta/watch", axum::routing::post(gateway))
}

/// `POST /v3/watch`: the body holds one or more JSON `WatchRequest`s; the
/// answer streams one `{"result":WatchResponse}` line per response, as
/// etcd's grpc-gateway does, until the client goes away.
async fn gateway(State(server): State<Arc<EtcdServer>>, body: Bytes) -> Response {
    let mut reqs = Vec::new();
    for r in serde_json::Deserializer::from_slice(&body).into_iter::<WatchRequest>() {
        match r {
            Ok(q) => reqs.push(Ok(q)),
            Err(e) if reqs.is_empty() => {
                return crate::gateway::error_response(
                    tonic::Code::Unknown,
                    &crate::gateway::go_json_error(&body, &e),
                );
            }
            Err(_) => break,
        }
    }
    crate::gateway::json_lines(session(server, futures::stream::iter(reqs)))
}

#[cfg(test)]
mod tests {
    use etcd_proto::mvccpb::{Event, KeyValue};

    use super::*;

    fn resp_with(n: usize, value_len: usize) -> WatchResponse {
        let events = (0..n)
            .map(|i| Event {
                kv: Some(KeyValue {
                    key: format!("k{i}").into(),
                    value: vec![b'x'; value_len],
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        WatchResponse {
            watch_id: 3,
            events,
            ..Default::default()
        }
    }

    #[test]
    fn small_or_single_event_responses_are_not_split() {
        assert_eq!(fragments(resp_with(10, 10), 1 << 20).len(), 1);
        let one = fragments(resp_with(1, 5000), 100);
        assert_eq!((one.len(), one[0].fragment), (1, false));
    }

    #[test]
    fn large_responses_split_below_the_limit_in_order() {
        let whole = resp_with(100, 1000);
        let parts = fragments(whole.clone(), 10_000);
        assert!(parts.len() > 1);
        for (i, p) in parts.iter().enumerate() {
            assert_eq!(p.fragment, i + 1 < parts.len());
            assert!(p.encoded_len() < 10_000);
            assert_eq!(p.watch_id, 3);
        }
        let joined: Vec<Event> = parts.into_iter().flat_map(|p| p.events).collect();
        assert_eq!(joined, whole.events);
    }
}
