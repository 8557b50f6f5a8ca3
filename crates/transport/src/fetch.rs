//! Plain GETs to other members' peer URLs (etcd's `/members`, used by a
//! member joining an existing cluster to learn its id and the cluster id).

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

use crate::tls_dial::PeerDialer;

/// What a peer answered.
pub struct PeerResponse {
    /// HTTP status.
    pub status: u16,
    /// `X-Etcd-Cluster-ID`, parsed from hex.
    pub cluster_id: Option<u64>,
    /// The body.
    pub body: Vec<u8>,
}

/// GETs `path` from the peer at `base_url` over plain HTTP (an `https://`
/// URL verifies the server against the system CA bundle), bounded by `timeout`.
pub async fn get(base_url: &str, path: &str, timeout: Duration) -> Result<PeerResponse, String> {
    get_with(&PeerDialer::default(), base_url, path, timeout).await
}

/// GETs `path` from the peer at `base_url`, dialing with `dialer` (TLS for
/// `https://`), bounded by `timeout`.
pub async fn get_with(dialer: &PeerDialer, base_url: &str, path: &str, timeout: Duration) -> Result<PeerResponse, String> {
    tokio::time::timeout(timeout, get_inner(dialer, base_url, path))
        .await
        .map_err(|_| format!("timeout reaching {base_url}"))?
}

async fn get_inner(dialer: &PeerDialer, base_url: &str, path: &str) -> Result<PeerResponse, String> {
    let uri: http::Uri = format!("{}{path}", base_url.trim_end_matches('/'))
        .parse()
        .map_err(|e| format!("bad URL {base_url}: {e}"))?;
    let authority = uri.authority().cloned().ok_or_else(|| format!("bad URL {base_url}"))?;
    let tcp = dialer.connect(&uri, Duration::from_secs(60)).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| e.to_string())?;
    let task = tokio::spawn(conn);
    let req = http::Request::get(uri)
        .header(http::header::HOST, authority.as_str())
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let cluster_id = resp
        .headers()
        .get("X-Etcd-Cluster-ID")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| u64::from_str_radix(s, 16).ok());
    let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes().to_vec();
    task.abort();
    Ok(PeerResponse { status, cluster_id, body })
}
