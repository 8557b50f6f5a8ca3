//! Dialing peers: a TCP connection for `http://` peer URLs, TLS over it for
//! `https://` ones. Every peer client (the Raft streams, snapshots, the
//! `/members` fetch of a joining member) connects through a [`PeerDialer`].
//!
//! Contract:
//! - The whole connect (TCP and handshake) is bounded by the caller's timeout.
//! - TLS verifies the server for the URL's host (an IP address is checked
//!   against IP SANs), or for the configured server name when one is set
//!   (etcd's `ServerName`, used with `--discovery-srv`).
//! - No ALPN is offered: the peer protocol is HTTP/1.1, and Go's peer client
//!   offers none either.
//! - An `https://` URL with no peer TLS configured is dialed with no client
//!   certificate, verifying the server against the system CA bundle (Go's
//!   zero `tls.Config`).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::tls::TlsInfo;

/// How peer connections are made.
#[derive(Clone, Debug, Default)]
pub struct PeerDialer {
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Verify servers for this name instead of the URL host (empty: URL host).
    server_name: String,
}

impl PeerDialer {
    /// A dialer using `config` for `https://` URLs; `server_name` overrides
    /// the host verified (empty: the URL's host).
    pub fn new(config: Arc<rustls::ClientConfig>, server_name: String) -> PeerDialer {
        PeerDialer {
            tls: Some(config),
            server_name,
        }
    }

    /// From the peer TLS settings (used for `https://` peers only).
    pub fn from_info(info: &TlsInfo) -> Result<PeerDialer, crate::tls::TlsError> {
        Ok(PeerDialer::new(
            info.client_config()?,
            info.server_name.clone(),
        ))
    }

    /// Whether `https://` peers are dialed with configured TLS.
    pub fn has_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Connects to the authority of `uri`, with TLS when its scheme is
    /// `https`, within `timeout`.
    pub async fn connect(&self, uri: &http::Uri, timeout: Duration) -> Result<PeerStream, String> {
        tokio::time::timeout(timeout, self.connect_inner(uri))
            .await
            .map_err(|_| "dial timeout".to_string())?
    }

    async fn connect_inner(&self, uri: &http::Uri) -> Result<PeerStream, String> {
        let authority = uri
            .authority()
            .ok_or_else(|| format!("bad peer URL {uri}"))?;
        let tcp = TcpStream::connect(authority.as_str())
            .await
            .map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        if uri.scheme_str() != Some("https") {
            return Ok(PeerStream::Plain(tcp));
        }
        let config = match &self.tls {
            Some(c) => c.clone(),
            None => TlsInfo::default()
                .client_config()
                .map_err(|e| e.to_string())?,
        };
        let host = if self.server_name.is_empty() {
            authority
                .host()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string()
        } else {
            self.server_name.clone()
        };
        let name = ServerName::try_from(host).map_err(|e| e.to_string())?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| format!("tls: {e}"))?;
        Ok(PeerStream::Tls(Box::new(tls)))
    }
}

/// A connection to a peer.
pub enum PeerStream {
    /// `http://`.
    Plain(TcpStream),
    /// `https://`.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for PeerStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PeerStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            PeerStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for PeerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            PeerStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            PeerStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PeerStream::Plain(s) => Pin::new(s).poll_flush(cx),
            PeerStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            PeerStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            PeerStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
