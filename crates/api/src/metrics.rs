//! gRPC server metrics, as go-grpc-prometheus and etcd's v3rpc record them:
//! `grpc_server_started_total`, `grpc_server_handled_total` (by final status
//! code), `grpc_server_msg_{received,sent}_total`, `grpc_server_handling_seconds`
//! (`--metrics extensive` only) and `etcd_network_client_grpc_{received,sent}_bytes_total`
//! (message payload bytes, without gRPC's 5-byte frame prefix).
//!
//! How: a middleware on the gRPC routes wraps the request and response
//! bodies. The bodies count messages by walking gRPC's length-prefixed
//! framing as data passes; the final code is the `grpc-status` of the
//! response headers (trailers-only answers) or trailers. A response body
//! dropped before its trailers (client went away) counts as `Canceled`.
//!
//! Every known method's counters are resolved once into an immutable table,
//! so a call costs a map lookup and atomic adds, never a lock. Like
//! grpc-go, every method starts at zero for every code, so rates exist
//! before the first call.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use hyper::body::Frame;
use prometheus::{Histogram, IntCounter};

use etcd_server::metrics::{extensive, metrics};

/// gRPC status codes by number, named as grpc-go prints them.
const CODES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];
const CANCELED: usize = 1;
const UNKNOWN: usize = 2;

/// Every method served: (service, method, grpc_type).
const METHODS: &[(&str, &str, &str)] = &[
    ("etcdserverpb.KV", "Range", "unary"),
    ("etcdserverpb.KV", "Put", "unary"),
    ("etcdserverpb.KV", "DeleteRange", "unary"),
    ("etcdserverpb.KV", "Txn", "unary"),
    ("etcdserverpb.KV", "Compact", "unary"),
    ("etcdserverpb.Watch", "Watch", "bidi_stream"),
    ("etcdserverpb.Lease", "LeaseGrant", "unary"),
    ("etcdserverpb.Lease", "LeaseRevoke", "unary"),
    ("etcdserverpb.Lease", "LeaseKeepAlive", "bidi_stream"),
    ("etcdserverpb.Lease", "LeaseTimeToLive", "unary"),
    ("etcdserverpb.Lease", "LeaseLeases", "unary"),
    ("etcdserverpb.Cluster", "MemberAdd", "unary"),
    ("etcdserverpb.Cluster", "MemberRemove", "unary"),
    ("etcdserverpb.Cluster", "MemberUpdate", "unary"),
    ("etcdserverpb.Cluster", "MemberList", "unary"),
    ("etcdserverpb.Cluster", "MemberPromote", "unary"),
    ("etcdserverpb.Maintenance", "Alarm", "unary"),
    ("etcdserverpb.Maintenance", "Status", "unary"),
    ("etcdserverpb.Maintenance", "Defragment", "unary"),
    ("etcdserverpb.Maintenance", "Hash", "unary"),
    ("etcdserverpb.Maintenance", "HashKV", "unary"),
    ("etcdserverpb.Maintenance", "Snapshot", "server_stream"),
    ("etcdserverpb.Maintenance", "MoveLeader", "unary"),
    ("etcdserverpb.Auth", "AuthEnable", "unary"),
    ("etcdserverpb.Auth", "AuthDisable", "unary"),
    ("etcdserverpb.Auth", "Authenticate", "unary"),
    ("etcdserverpb.Auth", "UserAdd", "unary"),
    ("etcdserverpb.Auth", "UserGet", "unary"),
    ("etcdserverpb.Auth", "UserList", "unary"),
    ("etcdserverpb.Auth", "UserDelete", "unary"),
    ("etcdserverpb.Auth", "UserChangePassword", "unary"),
    ("etcdserverpb.Auth", "UserGrantRole", "unary"),
    ("etcdserverpb.Auth", "UserRevokeRole", "unary"),
    ("etcdserverpb.Auth", "RoleAdd", "unary"),
    ("etcdserverpb.Auth", "RoleGet", "unary"),
    ("etcdserverpb.Auth", "RoleList", "unary"),
    ("etcdserverpb.Auth", "RoleDelete", "unary"),
    ("etcdserverpb.Auth", "RoleGrantPermission", "unary"),
    ("etcdserverpb.Auth", "RoleRevokePermission", "unary"),
    ("grpc.health.v1.Health", "Check", "unary"),
    ("grpc.health.v1.Health", "Watch", "server_stream"),
    ("v3lockpb.Lock", "Lock", "unary"),
    ("v3lockpb.Lock", "Unlock", "unary"),
    ("v3electionpb.Election", "Campaign", "unary"),
    ("v3electionpb.Election", "Proclaim", "unary"),
    ("v3electionpb.Election", "Leader", "unary"),
    ("v3electionpb.Election", "Observe", "server_stream"),
    ("v3electionpb.Election", "Resign", "unary"),
];

/// One method's counters, resolved once.
struct MethodMetrics {
    started: IntCounter,
    handled: [IntCounter; 17],
    msg_received: IntCounter,
    msg_sent: IntCounter,
    handling: Histogram,
}

/// `/service/method` → its counters.
static TABLE: LazyLock<HashMap<String, Arc<MethodMetrics>>> = LazyLock::new(|| {
    let m = metrics();
    METHODS
        .iter()
        .map(|&(service, method, kind)| {
            let labels = [kind, service, method];
            let mm = MethodMetrics {
                started: m.grpc_started.with_label_values(&labels),
                handled: CODES.map(|code| {
                    m.grpc_handled
                        .with_label_values(&[kind, service, method, code])
                }),
                msg_received: m.grpc_msg_received.with_label_values(&labels),
                msg_sent: m.grpc_msg_sent.with_label_values(&labels),
                handling: m.grpc_handling_seconds.with_label_values(&labels),
            };
            (format!("/{service}/{method}"), Arc::new(mm))
        })
        .collect()
});

/// Creates every method's series (at zero); call when serving starts.
pub fn init() {
    LazyLock::force(&TABLE);
}

/// Middleware for the gRPC routes (`axum::middleware::from_fn(metrics::track)`).
pub async fn track(req: Request, next: Next) -> Response {
    let Some(m) = TABLE.get(req.uri().path()).cloned() else {
        return next.run(req).await;
    };
    m.started.inc();
    let start = Instant::now();
    let req = req.map(|b| Body::new(Counted::new(b, Direction::Received, m.clone(), start)));
    let resp = next.run(req).await;
    let early_code = grpc_code(resp.headers());
    resp.map(|b| {
        let mut body = Counted::new(b, Direction::Sent, m, start);
        if let Some(code) = early_code {
            body.finish(code);
        }
        Body::new(body)
    })
}

/// The numeric `grpc-status` of a header map, if present.
fn grpc_code(headers: &http::HeaderMap) -> Option<usize> {
    let v = headers.get("grpc-status")?;
    Some(
        v.to_str()
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|c| *c < CODES.len())
            .unwrap_or(UNKNOWN),
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    Received,
    Sent,
}

/// Walks gRPC's length-prefixed framing (1 flag byte, 4 bytes big-endian
/// length, payload) across arbitrary chunk boundaries.
#[derive(Default)]
struct FrameCounter {
    header: [u8; 5],
    header_have: usize,
    payload_left: u64,
}

impl FrameCounter {
    /// Feeds a chunk; returns (messages completed, payload bytes seen).
    fn feed(&mut self, mut data: &[u8]) -> (u64, u64) {
        let (mut messages, mut bytes) = (0, 0);
        while !data.is_empty() {
            if self.payload_left > 0 {
                let n = (self.payload_left).min(data.len() as u64);
                self.payload_left -= n;
                bytes += n;
                data = &data[n as usize..];
                if self.payload_left == 0 {
                    messages += 1;
                }
                continue;
            }
            let n = (5 - self.header_have).min(data.len());
            self.header[self.header_have..self.header_have + n].copy_from_slice(&data[..n]);
            self.header_have += n;
            data = &data[n..];
            if self.header_have == 5 {
                self.header_have = 0;
                let len = u32::from_be_bytes(self.header[1..5].try_into().expect("4 bytes"));
                if len == 0 {
                    messages += 1;
                } else {
                    self.payload_left = u64::from(len);
                }
            }
        }
        (messages, bytes)
    }
}

/// A body that counts what passes and, for responses, records the final code.
struct Counted {
    inner: Body,
    direction: Direction,
    method: Arc<MethodMetrics>,
    start: Instant,
    frames: FrameCounter,
    finished: bool,
}

impl Counted {
    fn new(
        inner: Body,
        direction: Direction,
        method: Arc<MethodMetrics>,
        start: Instant,
    ) -> Counted {
        Counted {
            inner,
            direction,
            method,
            start,
            frames: FrameCounter::default(),
            finished: false,
        }
    }

    fn count(&mut self, data: &[u8]) {
        let (messages, bytes) = self.frames.feed(data);
        let m = metrics();
        match self.direction {
            Direction::Received => {
                self.method.msg_received.inc_by(messages);
                m.client_grpc_received_bytes.inc_by(bytes);
            }
            Direction::Sent => {
                self.method.msg_sent.inc_by(messages);
                m.client_grpc_sent_bytes.inc_by(bytes);
            }
        }
    }

    /// Records the call as handled with `code`, once.
    fn finish(&mut self, code: usize) {
        if self.finished || self.direction != Direction::Sent {
            return;
        }
        self.finished = true;
        self.method.handled[code].inc();
        if extensive() {
            self.method
                .handling
                .observe(self.start.elapsed().as_secs_f64());
        }
    }
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let data = data.clone();
                    self.count(&data);
                } else if let Some(code) = frame.trailers_ref().and_then(grpc_code) {
                    self.finish(code);
                }
            }
            Poll::Ready(Some(Err(_))) => self.finish(CANCELED),
            Poll::Ready(None) => self.finish(UNKNOWN),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.finish(CANCELED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0];
        f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn frames_counted_across_any_split() {
        let mut wire = frame(b"hello");
        wire.extend(frame(b""));
        wire.extend(frame(&[7; 300]));
        for split in 0..wire.len() {
            let mut c = FrameCounter::default();
            let (m1, b1) = c.feed(&wire[..split]);
            let (m2, b2) = c.feed(&wire[split..]);
            assert_eq!((m1 + m2, b1 + b2), (3, 305), "split at {split}");
        }
    }

    #[test]
    fn table_covers_etcd_services() {
        assert!(TABLE.contains_key("/etcdserverpb.KV/Put"));
        assert!(TABLE.contains_key("/etcdserverpb.Watch/Watch"));
        assert!(!TABLE.contains_key("/etcdserverpb.KV/Nope"));
        assert_eq!(CODES[16], "Unauthenticated");
    }

    #[test]
    fn grpc_status_header_parsed() {
        let mut h = http::HeaderMap::new();
        assert_eq!(grpc_code(&h), None);
        h.insert("grpc-status", "5".parse().unwrap());
        assert_eq!(grpc_code(&h), Some(5));
        h.insert("grpc-status", "99".parse().unwrap());
        assert_eq!(grpc_code(&h), Some(UNKNOWN));
    }
}
