//! The proxy's client listeners and what they route (etcd's `startProxy`
//! mux wrapped around `httpproxy.NewHandler`), outermost first:
//! 1. a path that is not clean (`//`, `.`, `..`) is redirected (301) to its
//!    cleaned form, as Go's `ServeMux` does;
//! 2. `/metrics`: the proxy's own Prometheus metrics;
//! 3. `--proxy readonly`: any method but GET gets 501 with an empty body;
//! 4. CORS headers (`--cors` default `*`) on every answer below; OPTIONS
//!    gets 200 with no body;
//! 5. `/v2/config/local/proxy`: `{"endpoints":[...]}` (GET only), the
//!    endpoints available now;
//! 6. anything else is forwarded ([`super::reverse`]).
//!
//! Listeners speak HTTP/1.1 (TLS for `https://` URLs); live connections are
//! bounded by [`CONNECTIONS_MAX`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use super::metrics::ProxyMetrics;
use super::reverse::{full, Forwarder, RespBody};

/// Upper bound on client connections served at once.
pub const CONNECTIONS_MAX: usize = 10_000;

/// Everything a request needs.
pub struct Handler {
    /// Forwards to members.
    pub forwarder: Forwarder,
    /// `--proxy readonly`.
    pub readonly: bool,
    /// Counters served at `/metrics`.
    pub metrics: Arc<ProxyMetrics>,
}

/// Go's `path.Clean` as `ServeMux` applies it: also keeps a trailing slash.
pub fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return "/".into();
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut cleaned = format!("/{}", out.join("/"));
    if p.ends_with('/') && cleaned != "/" {
        cleaned.push('/');
    }
    cleaned
}

fn redirect(req: &Request<Incoming>, cleaned: &str) -> Response<RespBody> {
    let target = match req.uri().query() {
        Some(q) => format!("{cleaned}?{q}"),
        None => cleaned.to_string(),
    };
    let get_or_head = req.method() == Method::GET || req.method() == Method::HEAD;
    let body = if get_or_head {
        let escaped = target
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&#34;")
            .replace('\'', "&#39;");
        format!("<a href=\"{escaped}\">Moved Permanently</a>.\n\n")
    } else {
        String::new()
    };
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if get_or_head {
        r.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&target) {
        r.headers_mut().insert("location", v);
    }
    r
}

fn plain(code: StatusCode, body: impl Into<hyper::body::Bytes>) -> Response<RespBody> {
    let mut r = Response::new(full(body));
    *r.status_mut() = code;
    r.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

impl Handler {
    /// Answers one request from `remote`.
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        remote: SocketAddr,
    ) -> Response<RespBody> {
        let cleaned = clean_path(req.uri().path());
        if cleaned != req.uri().path() && req.method() != Method::CONNECT {
            return redirect(&req, &cleaned);
        }
        if req.uri().path() == "/metrics" {
            let mut r = Response::new(full(self.metrics.render()));
            r.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            return r;
        }
        if self.readonly && req.method() != Method::GET {
            let mut r = Response::new(full(""));
            *r.status_mut() = StatusCode::NOT_IMPLEMENTED;
            return r;
        }
        let mut resp = if req.method() == Method::OPTIONS {
            Response::new(full(""))
        } else if req.uri().path() == "/v2/config/local/proxy" {
            self.config(req.method())
        } else {
            self.forwarder.forward(req, remote).await
        };
        with_cors(&mut resp);
        resp
    }

    fn config(&self, method: &Method) -> Response<RespBody> {
        if method != Method::GET {
            let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
            r.headers_mut()
                .insert("allow", HeaderValue::from_static("GET"));
            r.headers_mut().insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            return r;
        }
        let (endpoints, _) = self
            .forwarder
            .director
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .available(Instant::now());
        let body = format!("{}\n", serde_json::json!({ "endpoints": endpoints }));
        plain(StatusCode::OK, body)
    }
}

/// Puts etcd's CORS headers (origin `*`) before the answer's own ones, so
/// a forwarded answer carries both, as etcd's proxy does.
fn with_cors(resp: &mut Response<RespBody>) {
    let mut h = hyper::HeaderMap::new();
    h.append(
        "access-control-allow-methods",
        HeaderValue::from_static("POST, GET, OPTIONS, PUT, DELETE"),
    );
    h.append("access-control-allow-origin", HeaderValue::from_static("*"));
    h.append(
        "access-control-allow-headers",
        HeaderValue::from_static("accept, content-type, authorization"),
    );
    for (name, value) in resp.headers().iter() {
        h.append(name.clone(), value.clone());
    }
    *resp.headers_mut() = h;
}

/// Serves `handler` on `listener` (TLS when `tls` is set) until the process
/// ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: Arc<Handler>,
) {
    let limit = Arc::new(tokio::sync::Semaphore::new(CONNECTIONS_MAX));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let mut backoff = Duration::from_millis(5);
    loop {
        let permit = match limit.clone().acquire_owned().await {
            Ok(p) => p,
            Err(_) => return,
        };
        let (tcp, remote) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Go's http.Serve: retry temporary accept errors with backoff.
                tracing::warn!(target: "etcdmain", "proxy: accept error: {e}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        backoff = Duration::from_millis(5);
        let handler = handler.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let svc = hyper::service::service_fn(move |req| {
                let h = handler.clone();
                async move { Ok::<_, Infallible>(h.handle(req, remote).await) }
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            // Go writes canonical header names (`Content-Type`); some clients care.
            http.title_case_headers(true);
            let _ = match acceptor {
                None => http.serve_connection(TokioIo::new(tcp), svc).await,
                Some(a) => match a.accept(tcp).await {
                    Ok(tls) => http.serve_connection(TokioIo::new(tls), svc).await,
                    Err(e) => {
                        tracing::warn!(target: "embed", "rejected connection from {remote:?} ({e})");
                        return;
                    }
                },
            };
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_path_as_go_servemux() {
        assert_eq!(clean_path("/v2/keys/a"), "/v2/keys/a");
        assert_eq!(clean_path("/v2/keys//a/../b"), "/v2/keys/b");
        assert_eq!(clean_path("/v2/keys/dir/"), "/v2/keys/dir/");
        assert_eq!(clean_path("/./x/."), "/x");
        assert_eq!(clean_path("/.."), "/");
        assert_eq!(clean_path("/"), "/");
        assert_eq!(clean_path(""), "/");
    }
}
