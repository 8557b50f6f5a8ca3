//! The receiving side: `/raft/stream` reads frames from the request body and
//! hands each message to the local Raft node, in arrival order.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;

use crate::codec::Decoder;
use crate::Transport;

pub(crate) fn router(t: Arc<Transport>) -> axum::Router {
    axum::Router::new()
        .route("/raft/stream", post(stream))
        .route("/raft/snapshot", post(crate::snapshot::receive))
        .route("/raft/probing", axum::routing::get(crate::prober::handler))
        .with_state(t)
}

/// A request from a member of another cluster is refused.
pub(crate) fn check_cluster(t: &Transport, headers: &HeaderMap) -> Result<(), ()> {
    if header_id(headers, "X-Etcd-Cluster-ID") == Some(t.cluster_id()) {
        Ok(())
    } else {
        Err(())
    }
}

fn header_id(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name).and_then(|v| v.to_str().ok()).and_then(|s| u64::from_str_radix(s, 16).ok())
}

async fn stream(State(t): State<Arc<Transport>>, headers: HeaderMap, body: Body) -> Response {
    let cid = t.cluster_id();
    if header_id(&headers, "X-Etcd-Cluster-ID") != Some(cid) {
        tracing::error!(target: "rafthttp", "request cluster ID mismatch (got {:?} want {cid:x})",
            headers.get("X-Etcd-Cluster-ID"));
        let mut r = (StatusCode::PRECONDITION_FAILED, "cluster ID mismatch\n").into_response();
        r.headers_mut().insert("X-Etcd-Cluster-ID", format!("{cid:x}").parse().expect("hex is a header value"));
        return r;
    }
    if let Some(from) = header_id(&headers, "X-Server-From") {
        if t.is_removed(from) {
            return (StatusCode::GONE, "the member has been permanently removed from the cluster\n").into_response();
        }
    }
    if let Some(to) = header_id(&headers, "X-Raft-To") {
        if to != t.local_id() {
            return (StatusCode::PRECONDITION_FAILED, "to field mismatch\n").into_response();
        }
    }
    let from = header_id(&headers, "X-Server-From").unwrap_or(0);
    let mut data = body.into_data_stream();
    let end = read_frames(&t, from, &mut data).await;
    t.peer_status().deactivate(from, end.0);
    end.1
}

/// Reads the stream until it ends; says why, with the response to give.
async fn read_frames(
    t: &Transport,
    from: u64,
    data: &mut (impl futures::Stream<Item = Result<bytes::Bytes, axum::Error>> + Unpin),
) -> (&'static str, Response) {
    let mut decoder = Decoder::default();
    loop {
        let chunk = match tokio::time::timeout(crate::peer_status::READ_TIMEOUT, data.next()).await {
            Err(_) => {
                tracing::warn!(target: "rafthttp", "no data from peer {from:x} for {:?}; closing its stream", crate::peer_status::READ_TIMEOUT);
                return ("read timeout", StatusCode::REQUEST_TIMEOUT.into_response());
            }
            Ok(None) => return ("stream ended", StatusCode::OK.into_response()),
            Ok(Some(Err(_))) => return ("stream broke", StatusCode::OK.into_response()),
            Ok(Some(Ok(c))) => c,
        };
        t.peer_status().activate(from);
        crate::metrics::observe(crate::metrics::PeerTraffic::Received { from, bytes: chunk.len() });
        decoder.feed(&chunk);
        // A member removed while its stream is open is told so at once.
        if t.is_removed(from) {
            let gone = "the member has been permanently removed from the cluster\n";
            return ("member removed", (StatusCode::GONE, gone).into_response());
        }
        loop {
            match decoder.next() {
                Ok(Some(m)) if crate::codec::is_link_heartbeat(&m) => {}
                Ok(Some(m)) => {
                    if m.get_msg_type() == raft::eraftpb::MessageType::MsgAppend {
                        t.v2stats().received_append(from, protobuf::Message::compute_size(&m) as usize);
                    }
                    t.deliver(m)
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(target: "rafthttp", "closing stream from {from:x}: {e}");
                    return ("bad frame", (StatusCode::BAD_REQUEST, e.to_string()).into_response());
                }
            }
        }
    }
}
