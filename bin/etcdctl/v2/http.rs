//! One HTTP/1.1 exchange with one endpoint, as Go's `http.Transport` plus
//! etcd's v2 `simpleHTTPClient` do it: dial (TLS when the endpoint is
//! `https://`), send, wait for the response head at most the per-request
//! header timeout (`--timeout`; long polls have none), read the body.
//! Errors read like Go's: `dial tcp 127.0.0.1:1: connect: connection
//! refused`, `client: endpoint <ep> exceeded header timeout`.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long a dial may take (etcdctl's 30 s, capped by `--total-timeout`).
pub const DIAL_TIMEOUT_MAX: Duration = Duration::from_secs(30);
/// Largest response body read (a v2 listing of a big tree fits).
pub const BODY_BYTES_MAX: usize = 512 << 20;

/// A request, relative to an endpoint.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: &'static str,
    /// Escaped path and query, starting with `/`.
    pub path_query: String,
    /// Content type and body.
    pub body: Option<(&'static str, String)>,
    /// `user:password` for basic auth.
    pub basic_auth: Option<(String, String)>,
    /// A long poll (`wait=true`): no header timeout.
    pub wait: bool,
}

/// A response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Connection settings shared by every exchange.
#[derive(Clone)]
pub struct Transport {
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub dial_timeout: Duration,
    pub header_timeout: Duration,
}

/// `host:port` of `ep` (`scheme://host:port[/...]`), default port by scheme.
fn authority(ep: &str) -> (bool, String) {
    let (scheme, rest) = ep.split_once("://").unwrap_or(("http", ep));
    let hostport = rest.split('/').next().unwrap_or(rest);
    let https = scheme == "https";
    let has_port = hostport
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.contains(']'));
    if has_port {
        (https, hostport.to_string())
    } else {
        (
            https,
            format!("{hostport}:{}", if https { 443 } else { 80 }),
        )
    }
}

/// Go's rendering of a failed dial.
fn dial_error(addr: &str, e: &std::io::Error) -> String {
    let what = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "connect: connection refused".to_string(),
        std::io::ErrorKind::TimedOut => "i/o timeout".to_string(),
        _ => e.to_string(),
    };
    format!("dial tcp {addr}: {what}")
}

trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

impl Transport {
    async fn dial(&self, ep: &str) -> Result<Box<dyn Io>, String> {
        let (https, addr) = authority(ep);
        let tcp = match tokio::time::timeout(self.dial_timeout, TcpStream::connect(&addr)).await {
            Err(_) => return Err(format!("dial tcp {addr}: i/o timeout")),
            Ok(Err(e)) => return Err(dial_error(&addr, &e)),
            Ok(Ok(s)) => s,
        };
        let _ = tcp.set_nodelay(true);
        if !https {
            return Ok(Box::new(tcp));
        }
        let config = match &self.tls {
            Some(c) => c.clone(),
            None => etcd_client::TlsOptions::default()
                .client_config()
                .map_err(|e| e.to_string())?,
        };
        let mut config = (*config).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let name = rustls::pki_types::ServerName::try_from(host).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Box::new(tls))
    }

    /// Sends `req` to endpoint `ep` (`scheme://host:port`).
    pub async fn send(&self, ep: &str, req: &Request) -> Result<Response, String> {
        let io = self.dial(ep).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let (_, host) = authority(ep);
        let mut b = hyper::Request::builder()
            .method(req.method)
            .uri(&req.path_query)
            .header("Host", host)
            .header("User-Agent", "Go-http-client/1.1");
        if let Some((user, pass)) = &req.basic_auth {
            use base64::Engine;
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            b = b.header("Authorization", format!("Basic {token}"));
        }
        let body = match &req.body {
            Some((ctype, body)) => {
                b = b.header("Content-Type", *ctype);
                Bytes::from(body.clone())
            }
            None => Bytes::new(),
        };
        let request = b.body(Full::new(body)).map_err(|e| e.to_string())?;
        let fut = sender.send_request(request);
        let resp = if req.wait || self.header_timeout.is_zero() {
            fut.await.map_err(|e| e.to_string())?
        } else {
            match tokio::time::timeout(self.header_timeout, fut).await {
                Err(_) => return Err(format!("client: endpoint {ep} exceeded header timeout")),
                Ok(r) => r.map_err(|e| e.to_string())?,
            }
        };
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let limited = http_body_util::Limited::new(resp.into_body(), BODY_BYTES_MAX);
        let body = limited
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes()
            .to_vec();
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}
