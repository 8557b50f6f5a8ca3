//! A minimal v2 keys client for the discovery protocol: plain HTTP/1.1 to one
//! discovery endpoint, one request per connection.
//!
//! Contract (as etcd's v2 client classifies answers, which decides what the
//! discovery protocol retries):
//! - a connection failure or a 5xx status is [`KeysError::Unreachable`]: the
//!   caller backs off and retries;
//! - any other status carries either a v2 response (2xx) or a v2 error
//!   (`{"errorCode":…}`); a body that is neither is [`KeysError::InvalidJson`].
//!
//! With a proxy set (`--discovery-proxy`), each request goes to the proxy
//! with an absolute-form URI, as Go's `http.ProxyURL` sends `http://` ones.
//!
//! Every request except a watch is bounded by [`REQUEST_TIMEOUT`] (etcd's
//! `client.DefaultRequestTimeout`); a watch waits until the server answers.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::Deserialize;

/// Upper bound on one non-watch request (etcd: 5 s).
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound on a response body (a discovery directory is small).
const RESPONSE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// One v2 node as the discovery protocol reads it.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Node {
    /// Full key, e.g. `/discovery/<token>/<id>`.
    #[serde(default)]
    pub key: String,
    /// Value (empty for directories).
    #[serde(default)]
    pub value: String,
    /// Index of the write that created the node.
    #[serde(default)]
    pub created_index: u64,
    /// Index of the last write to the node.
    #[serde(default)]
    pub modified_index: u64,
    /// Children of a directory.
    #[serde(default)]
    pub nodes: Vec<Node>,
}

#[derive(Deserialize)]
struct Body {
    node: Option<Node>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error_code: u64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    cause: String,
    #[serde(default)]
    index: u64,
}

/// A successful v2 answer.
pub(crate) struct KeysResponse {
    /// The node (the directory for a listing).
    pub node: Node,
    /// `X-Etcd-Index`.
    pub index: u64,
}

/// Why a v2 request failed.
#[derive(Debug)]
pub(crate) enum KeysError {
    /// No usable answer (connection failure, timeout, 5xx): retry later.
    Unreachable(String),
    /// The server answered with a v2 error.
    Etcd {
        /// etcd's error code (100 key not found, 105 key exists, ...).
        code: u64,
        /// etcd's v2 client rendering: `code: message (cause) [index]`.
        message: String,
    },
    /// The answer was not v2 JSON: not an etcd endpoint.
    InvalidJson,
}

/// v2 error code: key already exists.
pub(crate) const CODE_NODE_EXIST: u64 = 105;

/// A client for one `http://host:port` endpoint.
pub(crate) struct KeysClient {
    authority: String,
    /// `host:port` of the HTTP proxy requests go through.
    proxy: Option<String>,
}

/// The `host:port` of an `http://` proxy URL (a bare `host:port` is taken as
/// `http://`, as Go's proxy parsing does).
pub(crate) fn proxy_authority(url: &str) -> Result<String, String> {
    let with_scheme = if url.contains("://") { url.to_string() } else { format!("http://{url}") };
    let uri: http::Uri = with_scheme.parse().map_err(|e| format!("invalid proxy address {url:?}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("invalid proxy address {url:?}: only http:// proxies are supported"));
    }
    let a = uri.authority().ok_or_else(|| format!("invalid proxy address {url:?}"))?;
    Ok(match a.port_u16() {
        Some(_) => a.as_str().to_string(),
        None => format!("{}:80", a.host()),
    })
}

impl KeysClient {
    /// A client for `authority` (`host:port`).
    pub fn new(authority: String) -> KeysClient {
        KeysClient { authority, proxy: None }
    }

    /// Sends every request through the HTTP proxy at `proxy` (`host:port`).
    pub fn set_proxy(&mut self, proxy: String) {
        self.proxy = Some(proxy);
    }

    /// `GET <path>` (a key or a one-level directory listing).
    pub async fn get(&self, path: &str) -> Result<KeysResponse, KeysError> {
        bounded(self.send("GET", path.to_string(), None)).await
    }

    /// `PUT <path>?prevExist=false` with `value`: creates the key or fails
    /// with [`CODE_NODE_EXIST`].
    pub async fn create(&self, path: &str, value: &str) -> Result<KeysResponse, KeysError> {
        let body = format!("value={}", etcd_gotext::query_escape(value));
        bounded(self.send("PUT", format!("{path}?prevExist=false"), Some(body))).await
    }

    /// `GET <path>?wait=true&waitIndex=…[&recursive=true]`: the first change
    /// at or after `wait_index`. Not bounded in time (a long poll).
    pub async fn watch(
        &self,
        path: &str,
        wait_index: u64,
        recursive: bool,
    ) -> Result<KeysResponse, KeysError> {
        let mut uri = format!("{path}?wait=true&waitIndex={wait_index}");
        if recursive {
            uri.push_str("&recursive=true");
        }
        self.send("GET", uri, None).await
    }

    async fn send(
        &self,
        method: &str,
        path_and_query: String,
        form: Option<String>,
    ) -> Result<KeysResponse, KeysError> {
        let unreachable =
            |e: &dyn std::fmt::Display| KeysError::Unreachable(format!("{}: {e}", self.authority));
        let dial = self.proxy.as_deref().unwrap_or(self.authority.as_str());
        let path_and_query = match self.proxy {
            Some(_) => format!("http://{}{path_and_query}", self.authority),
            None => path_and_query,
        };
        let tcp = tokio::net::TcpStream::connect(dial)
            .await
            .map_err(|e| unreachable(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| unreachable(&e))?;
        let task = tokio::spawn(conn);
        let mut req = http::Request::builder()
            .method(method)
            .uri(path_and_query)
            .header(http::header::HOST, self.authority.as_str());
        if form.is_some() {
            req = req.header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            );
        }
        let req = req
            .body(Full::new(bytes::Bytes::from(form.unwrap_or_default())))
            .map_err(|e| unreachable(&e))?;
        let result = async {
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| unreachable(&e))?;
            let status = resp.status().as_u16();
            let index = resp
                .headers()
                .get("X-Etcd-Index")
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let body = http_body_util::Limited::new(resp.into_body(), RESPONSE_BYTES_MAX)
                .collect()
                .await
                .map_err(|e| unreachable(&e))?
                .to_bytes();
            Ok::<_, KeysError>((status, index, body))
        }
        .await;
        task.abort();
        let (status, index, body) = result?;
        classify(status, index, &body)
    }
}

/// Sorts an answer into success, v2 error, retryable or not etcd.
fn classify(status: u16, index: u64, body: &[u8]) -> Result<KeysResponse, KeysError> {
    if status >= 500 {
        return Err(KeysError::Unreachable(format!("status {status}")));
    }
    if (200..300).contains(&status) {
        let b: Body = serde_json::from_slice(body).map_err(|_| KeysError::InvalidJson)?;
        return Ok(KeysResponse {
            node: b.node.unwrap_or_default(),
            index,
        });
    }
    let e: ErrorBody = serde_json::from_slice(body).map_err(|_| KeysError::InvalidJson)?;
    Err(KeysError::Etcd {
        code: e.error_code,
        message: format!(
            "{}: {} ({}) [{}]",
            e.error_code, e.message, e.cause, e.index
        ),
    })
}

async fn bounded<T>(
    f: impl std::future::Future<Output = Result<T, KeysError>>,
) -> Result<T, KeysError> {
    tokio::time::timeout(REQUEST_TIMEOUT, f)
        .await
        .map_err(|_| KeysError::Unreachable("request timed out".into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_like_etcds_client() {
        let ok = classify(200, 7, br#"{"action":"get","node":{"key":"/a","value":"3","modifiedIndex":4,"createdIndex":4}}"#)
            .expect("ok");
        assert_eq!(
            (ok.node.value.as_str(), ok.node.created_index, ok.index),
            ("3", 4, 7)
        );
        match classify(
            404,
            7,
            br#"{"errorCode":100,"message":"Key not found","cause":"/a","index":7}"#,
        ) {
            Err(KeysError::Etcd { code: 100, message }) => {
                assert_eq!(message, "100: Key not found (/a) [7]")
            }
            other => panic!("{:?}", other.err()),
        }
        assert!(matches!(
            classify(503, 0, b""),
            Err(KeysError::Unreachable(_))
        ));
        assert!(matches!(
            classify(200, 0, b"<html>"),
            Err(KeysError::InvalidJson)
        ));
        assert!(matches!(
            classify(404, 0, b"not found"),
            Err(KeysError::InvalidJson)
        ));
    }
}
