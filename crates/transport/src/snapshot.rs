//! Snapshot transfer: `POST /raft/snapshot` carries one framed
//! `MsgSnapshot` followed by the leader's whole database file. The receiver
//! stores the file as `<snap-dir>/<index as %016x>.snap.db` (etcd's name) and
//! only then hands the message to Raft, so when Raft installs the snapshot
//! the data it covers is already on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use raft::eraftpb::Message;
use tokio::io::AsyncWriteExt;

use crate::codec::{self, Decoder};
use crate::Transport;

/// Where a received snapshot's database lands.
pub fn db_path(snap_dir: &Path, index: u64) -> PathBuf {
    snap_dir.join(format!("{index:016x}.snap.db"))
}

/// Sends `msg` and the database file at `db` to its peer; `true` when the
/// peer stored it.
pub(crate) async fn send(t: Arc<Transport>, msg: Message, db: PathBuf) -> bool {
    let urls = t.peer_urls(msg.to);
    for url in urls {
        match send_once(&t, &url, &msg, &db).await {
            Ok(()) => {
                tracing::info!(target: "rafthttp", "sent database snapshot at index {} to peer {:x}",
                    msg.get_snapshot().get_metadata().index, msg.to);
                return true;
            }
            Err(e) => tracing::warn!(target: "rafthttp", "failed to send database snapshot to {:x} at {url}: {e}", msg.to),
        }
    }
    false
}

async fn send_once(t: &Transport, url: &str, msg: &Message, db: &Path) -> Result<(), String> {
    let uri: http::Uri = format!("{}/raft/snapshot", url.trim_end_matches('/')).parse().map_err(|e| format!("{e}"))?;
    let authority = uri.authority().cloned().ok_or("bad peer URL")?;
    let tcp = t.dialer().connect(&uri, Duration::from_secs(5)).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.map_err(|e| e.to_string())?;
    let task = tokio::spawn(conn);
    let mut body = codec::encode(msg).to_vec();
    body.extend(tokio::fs::read(db).await.map_err(|e| e.to_string())?);
    let req = http::Request::post(uri)
        .header(http::header::HOST, authority.as_str())
        .header("X-Server-From", format!("{:x}", t.local_id()))
        .header("X-Etcd-Cluster-ID", format!("{:x}", t.cluster_id()))
        .header(http::header::CONTENT_TYPE, "application/octet-stream")
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = tokio::time::timeout(Duration::from_secs(60), sender.send_request(req))
        .await
        .map_err(|_| "timeout".to_string())?
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let _ = resp.into_body().collect().await;
    task.abort();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("peer answered {status}"))
    }
}

pub(crate) async fn receive(State(t): State<Arc<Transport>>, headers: HeaderMap, body: Body) -> Response {
    if crate::receiver::check_cluster(&t, &headers).is_err() {
        return (StatusCode::PRECONDITION_FAILED, "cluster ID mismatch\n").into_response();
    }
    let Some(dir) = t.snapshot_dir() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response();
    };
    match store(&dir, body).await {
        Ok(msg) => {
            tracing::info!(target: "rafthttp", "received database snapshot at index {} from {:x}",
                msg.get_snapshot().get_metadata().index, msg.from);
            t.deliver(msg);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => {
            tracing::warn!(target: "rafthttp", "failed to receive database snapshot: {e}");
            (StatusCode::BAD_REQUEST, e).into_response()
        }
    }
}

async fn store(dir: &Path, body: Body) -> Result<Message, String> {
    let mut data = body.into_data_stream();
    let mut decoder = Decoder::default();
    let mut msg = None;
    let mut rest = Vec::new();
    while msg.is_none() {
        let chunk = data.next().await.ok_or("stream ended before the message")?.map_err(|e| e.to_string())?;
        decoder.feed(&chunk);
        if let Some(m) = decoder.next().map_err(|e| e.to_string())? {
            rest = decoder.take_rest();
            msg = Some(m);
        }
    }
    let msg = msg.expect("loop ends with a message");
    let index = msg.get_snapshot().get_metadata().index;
    let final_path = db_path(dir, index);
    let tmp = final_path.with_extension("db.tmp");
    let mut f = tokio::fs::File::create(&tmp).await.map_err(|e| e.to_string())?;
    f.write_all(&rest).await.map_err(|e| e.to_string())?;
    while let Some(chunk) = data.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        f.write_all(&chunk).await.map_err(|e| e.to_string())?;
    }
    f.sync_all().await.map_err(|e| e.to_string())?;
    drop(f);
    tokio::fs::rename(&tmp, &final_path).await.map_err(|e| e.to_string())?;
    Ok(msg)
}
