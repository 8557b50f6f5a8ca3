//! Forwarding one client request to a member (etcd's
//! `httpproxy.reverseProxy`).
//!
//! Contract (etcd 3.4):
//! - The request body is read in full first (bounded by
//!   [`REQUEST_BODY_BYTES_MAX`]), so the same request can go to the next
//!   endpoint when one cannot be reached.
//! - Hop-by-hop headers are dropped both ways; `X-Forwarded-For` gets the
//!   client's address appended. The client's `Host` header is kept.
//! - Endpoints are tried in the director's order; a connection or send
//!   failure marks the endpoint failed and moves on. Any HTTP answer, even
//!   a 5xx, is the member's answer and is passed back as is.
//! - No endpoint available: 503 `httpproxy: zero endpoints currently
//!   available`; none answered: 502 `httpproxy: unable to get response from
//!   N endpoint(s)`; both as etcd's JSON `{"message":...}`.
//! - The member's response body is streamed, never buffered: v2 watches are
//!   long polls and `stream=true` watches never end.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use http_body_util::{combinators::BoxBody, BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};

use super::director::Director;
use super::metrics::{Dropped, ProxyMetrics};
use super::pool::{Pool, ReqBody};

/// Upper bound on a request body the proxy buffers (etcd's proxy reads
/// bodies without a limit; v2 values are far smaller in practice).
pub const REQUEST_BODY_BYTES_MAX: usize = 64 * 1024 * 1024;

/// Errors of response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Body of every proxy response.
pub type RespBody = BoxBody<Bytes, BoxError>;

/// Headers that concern one connection only (Go's `httputil` list).
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
];

/// A small body from bytes.
pub fn full(bytes: impl Into<Bytes>) -> RespBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// etcd's `httptypes.HTTPError`: `{"message":...}` as JSON with `code`.
pub fn http_error(code: StatusCode, message: &str) -> Response<RespBody> {
    let body = serde_json::json!({ "message": message }).to_string();
    let mut r = Response::new(full(body));
    *r.status_mut() = code;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn strip_hop_by_hop(h: &mut HeaderMap) {
    for name in HOP_BY_HOP {
        h.remove(name);
    }
}

/// Appends `client_ip` to `X-Forwarded-For`, folding earlier values into
/// one `a, b, c` header.
fn forwarded_for(h: &mut HeaderMap, client_ip: &str) {
    let prior: Vec<&str> = h
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let value = if prior.is_empty() {
        client_ip.to_string()
    } else {
        format!("{}, {client_ip}", prior.join(", "))
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert("x-forwarded-for", v);
    }
}

/// Sends requests to the director's endpoints.
pub struct Forwarder {
    /// Endpoint state, shared with the refresher.
    pub director: Arc<Mutex<Director>>,
    /// Member connections.
    pub pool: Arc<Pool>,
    /// Counters.
    pub metrics: Arc<ProxyMetrics>,
}

impl Forwarder {
    fn director(&self) -> std::sync::MutexGuard<'_, Director> {
        self.director.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Endpoints to try now (logging those back from a failure).
    fn endpoints(&self) -> Vec<String> {
        let (now, back) = self.director().available(Instant::now());
        for url in back {
            tracing::info!(target: "proxy/httpproxy", "marked endpoint {url} available, to retest connectivity");
        }
        now
    }

    /// Answers one client request.
    pub async fn forward(&self, req: Request<Incoming>, remote: SocketAddr) -> Response<RespBody> {
        let method = req.method().as_str().to_string();
        self.metrics.incoming(&method);
        let start = Instant::now();
        let (mut parts, body) = req.into_parts();
        let body = match Limited::new(body, REQUEST_BODY_BYTES_MAX).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                let msg = format!("failed to read request body: {e}");
                tracing::info!(target: "proxy/httpproxy", "{msg}");
                return http_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("httpproxy: {msg}"),
                );
            }
        };
        strip_hop_by_hop(&mut parts.headers);
        forwarded_for(&mut parts.headers, &remote.ip().to_string());
        let endpoints = self.endpoints();
        if endpoints.is_empty() {
            let msg = "zero endpoints currently available";
            self.metrics.dropped(&method, Dropped::ZeroEndpoints);
            tracing::info!(target: "proxy/httpproxy", "{msg}");
            return http_error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("httpproxy: {msg}"),
            );
        }
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        for ep in &endpoints {
            let make = || build_request(&parts, &path, ep, body.clone());
            match self.pool.send(ep, make).await {
                Ok(resp) => {
                    self.metrics
                        .handled(&method, resp.status().as_u16(), start.elapsed());
                    let (mut rparts, rbody) = resp.into_parts();
                    strip_hop_by_hop(&mut rparts.headers);
                    return Response::from_parts(rparts, rbody.map_err(BoxError::from).boxed());
                }
                Err(e) => {
                    self.metrics.dropped(&method, Dropped::FailedSending);
                    tracing::info!(target: "proxy/httpproxy", "failed to direct request to {ep}: {e}");
                    if self.director().failed(ep, Instant::now()) {
                        tracing::info!(target: "proxy/httpproxy", "marked endpoint {ep} unavailable");
                    }
                }
            }
        }
        let msg = format!(
            "unable to get response from {} endpoint(s)",
            endpoints.len()
        );
        self.metrics
            .dropped(&method, Dropped::FailedGettingResponse);
        tracing::info!(target: "proxy/httpproxy", "{msg}");
        http_error(StatusCode::BAD_GATEWAY, &format!("httpproxy: {msg}"))
    }
}

/// The request to send to endpoint `ep` (`scheme://host:port`).
fn build_request(
    parts: &hyper::http::request::Parts,
    path: &str,
    ep: &str,
    body: Bytes,
) -> Request<ReqBody> {
    let mut req = Request::new(Full::new(body));
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = path
        .parse()
        .unwrap_or_else(|_| hyper::Uri::from_static("/"));
    *req.headers_mut() = parts.headers.clone();
    if !req.headers().contains_key("host") {
        let host = ep.split_once("://").map(|(_, h)| h).unwrap_or(ep);
        if let Ok(v) = HeaderValue::from_str(host) {
            req.headers_mut().insert("host", v);
        }
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_dropped() {
        let mut h = HeaderMap::new();
        for name in HOP_BY_HOP {
            h.insert(name, HeaderValue::from_static("x"));
        }
        h.insert("x-etcd-index", HeaderValue::from_static("7"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn forwarded_for_appends_and_folds() {
        let mut h = HeaderMap::new();
        forwarded_for(&mut h, "10.0.0.9");
        assert_eq!(h["x-forwarded-for"], "10.0.0.9");
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1"));
        h.append(
            "x-forwarded-for",
            HeaderValue::from_static("2.2.2.2, 3.3.3.3"),
        );
        forwarded_for(&mut h, "10.0.0.9");
        assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.9");
    }

    #[test]
    fn errors_are_etcd_json() {
        let r = http_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "httpproxy: zero endpoints currently available",
        );
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["content-type"], "application/json");
    }
}
