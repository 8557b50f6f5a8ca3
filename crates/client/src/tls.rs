//! TLS to the client endpoints (etcdctl's `--cacert`, `--cert`, `--key`,
//! `--insecure-skip-tls-verify`, `--insecure-transport=false`).
//!
//! Contract, following etcd's Go client (clientv3 `processCreds`):
//! - an `https://` endpoint is dialed with TLS: the configured settings, or
//!   with none configured, no client certificate and the system CA bundle;
//! - an `http://` endpoint is always dialed in the clear;
//! - a bare `host:port` endpoint uses TLS exactly when settings are given.
//!
//! The server is verified for the endpoint's host (an IP address against
//! the certificate's IP SANs) and HTTP/2 is negotiated by ALPN (`h2`), as
//! gRPC servers require. The handshake runs in our connector under the
//! dial timeout; tonic then speaks HTTP/2 over the stream.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::error::{Error, Result};

/// The ALPN protocol gRPC runs on.
const ALPN_H2: &[u8] = b"h2";

/// Certificate settings for TLS to the endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM CA bundle servers are verified against (empty: system bundle).
    pub ca_file: PathBuf,
    /// PEM client certificate chain (empty: none).
    pub cert_file: PathBuf,
    /// PEM client private key (empty: none).
    pub key_file: PathBuf,
    /// Accept any server certificate.
    pub insecure_skip_verify: bool,
}

impl TlsOptions {
    /// The rustls configuration for these settings, offering `h2`.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>> {
        let info = etcd_transport::tls::TlsInfo {
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            trusted_ca_file: self.ca_file.clone(),
            self_cert: self.insecure_skip_verify,
            ..Default::default()
        };
        let base = info
            .client_config()
            .map_err(|e| Error::Tls(e.to_string()))?;
        let mut config = (*base).clone();
        config.alpn_protocols = vec![ALPN_H2.to_vec()];
        Ok(Arc::new(config))
    }
}

/// Connects over TCP and runs the TLS handshake for `host`; the stream
/// tonic's HTTP/2 client is handed.
#[derive(Clone)]
pub(crate) struct TlsConnector {
    config: Arc<rustls::ClientConfig>,
    /// `host:port` to dial.
    authority: String,
    /// The name the server's certificate must be valid for.
    host: String,
}

impl TlsConnector {
    /// A connector for `authority` (`host:port`, IPv6 hosts bracketed).
    pub(crate) fn new(config: Arc<rustls::ClientConfig>, authority: &str) -> TlsConnector {
        let host = match authority.rsplit_once(':') {
            Some((h, _)) => h,
            None => authority,
        };
        TlsConnector {
            config,
            authority: authority.to_string(),
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        }
    }

    async fn connect(self) -> std::io::Result<TokioIo<TlsStream<TcpStream>>> {
        let name = ServerName::try_from(self.host.clone())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let tcp = TcpStream::connect(&self.authority).await?;
        let _ = tcp.set_nodelay(true);
        let tls = tokio_rustls::TlsConnector::from(self.config)
            .connect(name, tcp)
            .await?;
        Ok(TokioIo::new(tls))
    }
}

type ConnectFuture =
    Pin<Box<dyn Future<Output = std::io::Result<TokioIo<TlsStream<TcpStream>>>> + Send>>;

impl tower::Service<http::Uri> for TlsConnector {
    type Response = TokioIo<TlsStream<TcpStream>>;
    type Error = std::io::Error;
    type Future = ConnectFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Ignores the URI: tonic is given a plain `http://` one so that it
    /// does not try TLS itself; the real address is the connector's.
    fn call(&mut self, _: http::Uri) -> ConnectFuture {
        Box::pin(self.clone().connect())
    }
}

/// Whether endpoint `ep` is dialed with TLS (see module docs), given
/// whether TLS settings were configured.
pub fn wants_tls(ep: &str, configured: bool) -> bool {
    let ep = ep.trim();
    if ep.starts_with("https://") || ep.starts_with("unixs://") {
        true
    } else if ep.contains("://") {
        false
    } else {
        configured
    }
}

/// `ep` without its scheme: the `host:port` to dial.
pub fn authority(ep: &str) -> &str {
    let ep = ep.trim();
    let rest = ep.split_once("://").map_or(ep, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_decides_like_clientv3() {
        assert!(wants_tls("https://a:1", false));
        assert!(!wants_tls("http://a:1", true));
        assert!(wants_tls("a:1", true));
        assert!(!wants_tls("a:1", false));
    }

    #[test]
    fn authority_and_host() {
        assert_eq!(authority("https://127.0.0.1:2379"), "127.0.0.1:2379");
        assert_eq!(authority("127.0.0.1:2379"), "127.0.0.1:2379");
        let c = TlsOptions::default().client_config().unwrap();
        assert_eq!(c.alpn_protocols, vec![b"h2".to_vec()]);
        assert_eq!(TlsConnector::new(c.clone(), "[::1]:2379").host, "::1");
        assert_eq!(TlsConnector::new(c, "localhost:2379").host, "localhost");
    }

    #[test]
    fn missing_ca_file_is_an_error() {
        let o = TlsOptions {
            ca_file: "/nonexistent/ca.pem".into(),
            ..Default::default()
        };
        let e = o.client_config().unwrap_err().to_string();
        assert!(e.contains("no such file or directory"), "{e}");
    }
}
