//! One task per peer keeps one HTTP/1.1 POST open to the peer's
//! `/raft/stream` and writes frames into its body, in the order Raft produced
//! them (raft-rs 0.7 assumes per-peer order). A broken stream is reopened
//! with backoff; messages queued meanwhile are dropped, which Raft tolerates
//! (it retransmits), and the queue is bounded so a dead peer costs nothing.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::StreamBody;
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use parking_lot::RwLock;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// Frames queued per peer before new ones are dropped.
pub const PEER_QUEUE_FRAMES: usize = 4096;

const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);

/// A frame queued for a peer; appends carry when they were queued, for the
/// follower latency of the v2 stats.
pub(crate) struct Outgoing {
    pub(crate) frame: Bytes,
    pub(crate) append_queued_at: Option<std::time::Instant>,
}

/// Identity headers every stream carries (etcd's rafthttp names).
#[derive(Clone)]
pub(crate) struct StreamIds {
    pub(crate) from: u64,
    pub(crate) to: u64,
    pub(crate) cluster_id: u64,
    pub(crate) on_removed: Arc<std::sync::OnceLock<Arc<dyn Fn() + Send + Sync>>>,
    pub(crate) dialer: crate::tls_dial::PeerDialer,
    pub(crate) status: Arc<crate::peer_status::PeerStatus>,
    pub(crate) v2stats: Arc<crate::v2stats::V2Stats>,
}

/// Runs until `rx` is closed (the peer was removed).
pub(crate) async fn run(ids: StreamIds, urls: Arc<RwLock<Vec<String>>>, mut rx: mpsc::Receiver<Outgoing>) {
    let mut backoff = BACKOFF_MIN;
    let mut attempt = 0usize;
    loop {
        let url = {
            let urls = urls.read();
            if urls.is_empty() {
                return;
            }
            urls[attempt % urls.len()].clone()
        };
        attempt += 1;
        let end = stream_once(&ids, &url, &mut rx).await;
        match &end {
            StreamEnd::Closed => {}
            StreamEnd::Broken(reason) | StreamEnd::WasActive(reason) => ids.status.deactivate(ids.to, reason),
        }
        match end {
            StreamEnd::Closed => return,
            StreamEnd::Broken(reason) => {
                tracing::debug!(target: "rafthttp", "cannot stream to peer {:x} at {url} ({reason})", ids.to);
            }
            StreamEnd::WasActive(reason) => {
                tracing::warn!(target: "rafthttp", "lost the TCP streaming connection with peer {:x} ({reason})", ids.to);
                backoff = BACKOFF_MIN;
            }
        }
        // Drop what queued while there was no stream: stale for Raft.
        while let Ok(dropped) = rx.try_recv() {
            if dropped.append_queued_at.is_some() {
                ids.v2stats.follower_fail(ids.to);
            }
        }
        if rx.is_closed() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

enum StreamEnd {
    /// The queue closed: the peer was removed.
    Closed,
    /// Never got going.
    Broken(String),
    /// Carried messages, then broke.
    WasActive(String),
}

async fn stream_once(ids: &StreamIds, url: &str, rx: &mut mpsc::Receiver<Outgoing>) -> StreamEnd {
    let uri: http::Uri = match format!("{}/raft/stream", url.trim_end_matches('/')).parse() {
        Ok(u) => u,
        Err(e) => return StreamEnd::Broken(format!("bad peer URL {url}: {e}")),
    };
    let Some(authority) = uri.authority().cloned() else {
        return StreamEnd::Broken(format!("bad peer URL {url}"));
    };
    let tcp = match ids.dialer.connect(&uri, Duration::from_secs(1)).await {
        Ok(s) => s,
        Err(e) => return StreamEnd::Broken(e),
    };
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await {
        Ok(x) => x,
        Err(e) => return StreamEnd::Broken(e.to_string()),
    };
    let conn_task = tokio::spawn(conn);
    let (body_tx, body_rx) = mpsc::channel::<Result<Frame<Bytes>, Infallible>>(64);
    let req = http::Request::post(uri)
        .header(http::header::HOST, authority.as_str())
        .header("X-Server-From", format!("{:x}", ids.from))
        .header("X-Raft-To", format!("{:x}", ids.to))
        .header("X-Etcd-Cluster-ID", format!("{:x}", ids.cluster_id))
        .header(http::header::CONTENT_TYPE, "application/octet-stream")
        .body(StreamBody::new(ReceiverStream::new(body_rx)));
    let req = match req {
        Ok(r) => r,
        Err(e) => return StreamEnd::Broken(e.to_string()),
    };
    let response = sender.send_request(req);
    tokio::pin!(response);
    let mut sent_any = false;
    // Link heartbeats keep the peer's read timeout from firing on an idle
    // stream (the first one goes out at once and marks the stream started).
    let mut heartbeat = tokio::time::interval(crate::peer_status::LINK_HEARTBEAT);
    let end = loop {
        tokio::select! {
            resp = &mut response => {
                let why = match resp {
                    Ok(r) if r.status() == http::StatusCode::PRECONDITION_FAILED => {
                        tracing::error!(target: "rafthttp", "request sent was ignored by peer {:x} (cluster ID mismatch)", ids.to);
                        "cluster ID mismatch".to_string()
                    }
                    Ok(r) if r.status() == http::StatusCode::GONE => {
                        tracing::error!(target: "rafthttp", "peer {:x} says this member has been permanently removed from the cluster", ids.to);
                        if let Some(f) = ids.on_removed.get() {
                            f();
                        }
                        "removed from the cluster".to_string()
                    }
                    Ok(r) => format!("peer closed the stream ({})", r.status()),
                    Err(e) => e.to_string(),
                };
                break if sent_any { StreamEnd::WasActive(why) } else { StreamEnd::Broken(why) };
            }
            _ = heartbeat.tick() => {
                if body_tx.send(Ok(Frame::data(crate::codec::link_heartbeat()))).await.is_err() {
                    break if sent_any { StreamEnd::WasActive("stream closed".into()) } else { StreamEnd::Broken("stream closed".into()) };
                }
                if !sent_any {
                    sent_any = true;
                    ids.status.activate(ids.to);
                    tracing::info!(target: "rafthttp", "established a TCP streaming connection with peer {:x}", ids.to);
                }
            }
            out = rx.recv() => {
                let Some(out) = out else { break StreamEnd::Closed };
                let frame = out.frame;
                crate::metrics::observe(crate::metrics::PeerTraffic::Sent { to: ids.to, bytes: frame.len() });
                if body_tx.send(Ok(Frame::data(frame))).await.is_err() {
                    if out.append_queued_at.is_some() {
                        ids.v2stats.follower_fail(ids.to);
                    }
                    break if sent_any { StreamEnd::WasActive("stream closed".into()) } else { StreamEnd::Broken("stream closed".into()) };
                }
                if let Some(at) = out.append_queued_at {
                    ids.v2stats.follower_succ(ids.to, at.elapsed());
                }
                if !sent_any {
                    sent_any = true;
                    ids.status.activate(ids.to);
                    tracing::info!(target: "rafthttp", "established a TCP streaming connection with peer {:x}", ids.to);
                }
            }
        }
    };
    conn_task.abort();
    end
}
