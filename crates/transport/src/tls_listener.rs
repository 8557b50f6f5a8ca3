//! Accepting TLS connections: the handshake of each accepted socket runs in
//! its own task (a slow client cannot hold up others), bounded by
//! [`HANDSHAKE_TIMEOUT`]; a failed handshake or check is logged like etcd's
//! `rejected connection from "addr" (error "...", ServerName "")` and the
//! socket closed. Only connections that passed reach the HTTP server.
//!
//! Peer listeners also run etcd's address check of the client certificate
//! ([`crate::tls_verify::check_peer_san`]) unless it is turned off; client
//! listeners do not (etcd's `NewTLSListener` vs `NewListener`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;

/// The longest a TLS handshake (and the checks after it) may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshakes accepted sockets.
#[derive(Clone)]
pub struct TlsAcceptor {
    acceptor: tokio_rustls::TlsAcceptor,
    check_peer_san: bool,
}

impl TlsAcceptor {
    /// An acceptor with `config`; `check_peer_san` turns on the address check
    /// of client certificates (peer listeners).
    pub fn new(config: Arc<rustls::ServerConfig>, check_peer_san: bool) -> TlsAcceptor {
        TlsAcceptor {
            acceptor: tokio_rustls::TlsAcceptor::from(config),
            check_peer_san,
        }
    }

    /// Runs the handshake and checks on `tcp` from `remote`; `None` (after
    /// logging) when the connection is refused.
    pub async fn accept(&self, tcp: TcpStream, remote: SocketAddr) -> Option<TlsStream<TcpStream>> {
        let work = async {
            let tls = self.acceptor.accept(tcp).await.map_err(|e| e.to_string())?;
            if self.check_peer_san {
                if let Some(leaf) = tls.get_ref().1.peer_certificates().and_then(|c| c.first()) {
                    crate::tls_verify::check_peer_san(leaf, remote.ip()).await?;
                }
            }
            Ok::<_, String>(tls)
        };
        let result = tokio::time::timeout(HANDSHAKE_TIMEOUT, work)
            .await
            .unwrap_or_else(|_| Err("tls: handshake timed out".to_string()));
        match result {
            Ok(tls) => Some(tls),
            Err(e) => {
                tracing::info!(target: "embed", "rejected connection from {:?} (error {:?}, ServerName \"\")", remote.to_string(), e);
                None
            }
        }
    }
}

/// Serves `router` on `listener` over TLS until the listener fails (the
/// peer listener of an `https://` peer URL).
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    acceptor: TlsAcceptor,
) -> std::io::Result<()> {
    loop {
        let (tcp, remote) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of descriptors and the like: back off, as axum does.
                tracing::debug!(target: "embed", "accept error: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let Some(tls) = acceptor.accept(tcp, remote).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(tls), service)
                .await;
        });
    }
}
