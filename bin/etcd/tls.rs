//! TLS of the listeners and the peer dialer, from the flags, in etcd 3.4's
//! order (`embed.configurePeerListeners`, then `configureClientListeners`):
//! cipher suites, auto TLS, the warnings for `http://` URLs given TLS
//! material, and the refusal of `https://` URLs without it.
//!
//! Errors carry etcd's message; the caller logs it as critical and exits 1.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use etcd_server::EtcdServer;

use etcd_transport::tls::TlsInfo;
use etcd_transport::tls_dial::PeerDialer;
use etcd_transport::tls_listener::TlsAcceptor;

use crate::config::{EtcdConfig, EtcdUrl, TlsSettings};

/// What the listeners and the peer dialer use.
pub struct ListenerTls {
    /// Server configuration of `https://` peer listeners (none without peer TLS).
    pub peer_acceptor: Option<TlsAcceptor>,
    /// Server configuration of `https://` client listeners.
    pub client_config: Option<Arc<rustls::ServerConfig>>,
    /// How this member dials peers.
    pub peer_dialer: PeerDialer,
}

/// The transport's TLS settings from one side's flags.
pub(crate) fn info(s: &TlsSettings, cipher_suites: &[String]) -> TlsInfo {
    TlsInfo {
        cert_file: PathBuf::from(&s.cert_file),
        key_file: PathBuf::from(&s.key_file),
        trusted_ca_file: PathBuf::from(&s.trusted_ca_file),
        client_cert_auth: s.client_cert_auth,
        crl_file: PathBuf::from(&s.crl_file),
        allowed_cn: s.allowed_cn.clone(),
        allowed_hostname: s.allowed_hostname.clone(),
        cipher_suites: cipher_suites.to_vec(),
        skip_client_san_verify: s.skip_client_san_verify,
        server_name: String::new(),
        self_cert: false,
    }
}

/// etcd's `SelfCert` step for one side: generated material when auto TLS is
/// on and no pair was given.
fn self_cert(
    mut tls: TlsInfo,
    auto: bool,
    cfg: &EtcdConfig,
    side: &str,
    urls: &[EtcdUrl],
) -> anyhow::Result<TlsInfo> {
    if !auto {
        return Ok(tls);
    }
    if !tls.is_empty() {
        tracing::warn!(target: "embed", "ignoring {side} auto TLS since certs given");
        return Ok(tls);
    }
    let dir = PathBuf::from(&cfg.data_dir).join("fixtures").join(side);
    let hosts: Vec<String> = urls.iter().map(|u| u.host_port().to_string()).collect();
    let generated = etcd_transport::tls_selfcert::self_cert(&dir, &hosts)?;
    tls.cert_file = generated.cert_file;
    tls.key_file = generated.key_file;
    tls.self_cert = true;
    Ok(tls)
}

/// Builds everything, or fails with etcd's message.
pub fn configure(cfg: &EtcdConfig) -> anyhow::Result<ListenerTls> {
    // Peers first, as etcd does.
    etcd_transport::tls_ciphers::validate(&cfg.cipher_suites)?;
    let mut peer = info(&cfg.peer_tls, &cfg.cipher_suites);
    peer = self_cert(
        peer,
        cfg.peer_tls.auto_tls,
        cfg,
        "peer",
        &cfg.listen_peer_urls,
    )?;
    if !cfg.discovery_srv.is_empty() && peer.trusted_ca_file.as_os_str().is_empty() {
        // Peers found through SRV records are verified for the domain.
        peer.server_name = cfg.discovery_srv.clone();
    }
    if !peer.is_empty() {
        tracing::info!(target: "embed", "peerTLS: {peer}");
    }
    let mut peer_acceptor = None;
    for u in &cfg.listen_peer_urls {
        if u.is_tls() {
            if peer.is_empty() {
                anyhow::bail!(
                    "cannot listen on TLS for {}: KeyFile and CertFile are not presented",
                    u.host_port()
                );
            }
            if peer_acceptor.is_none() {
                peer_acceptor = Some(TlsAcceptor::new(
                    peer.server_config()?,
                    !peer.skip_client_san_verify,
                ));
            }
            continue;
        }
        if !peer.is_empty() {
            tracing::warn!(target: "embed", "The scheme of peer url {} is HTTP while peer key/cert files are presented. Ignored peer key/cert files.", u.as_str());
        }
        if peer.client_cert_auth {
            tracing::warn!(target: "embed", "The scheme of peer url {} is HTTP while client cert auth (--peer-client-cert-auth) is enabled. Ignored client cert auth for this url.", u.as_str());
        }
    }
    let peer_dialer = if peer.is_empty() && peer.server_name.is_empty() {
        PeerDialer::default()
    } else {
        PeerDialer::from_info(&peer)?
    };

    let mut client = info(&cfg.client_tls, &cfg.cipher_suites);
    client = self_cert(
        client,
        cfg.client_tls.auto_tls,
        cfg,
        "client",
        &cfg.listen_client_urls,
    )?;
    let mut client_config = None;
    for u in &cfg.listen_client_urls {
        if !u.is_tls() {
            if !client.is_empty() {
                tracing::warn!(target: "embed", "The scheme of client url {} is HTTP while peer key/cert files are presented. Ignored key/cert files.", u.as_str());
            }
            if client.client_cert_auth {
                tracing::warn!(target: "embed", "The scheme of client url {} is HTTP while client cert auth (--client-cert-auth) is enabled. Ignored client cert auth for this url.", u.as_str());
            }
            continue;
        }
        if client.is_empty() {
            anyhow::bail!(
                "TLS key/cert (--cert-file, --key-file) must be provided for client url {} with HTTPS scheme",
                u.as_str()
            );
        }
        if client_config.is_none() {
            client_config = Some(client.server_config()?);
        }
    }
    if !client.is_empty() {
        tracing::info!(target: "embed", "ClientTLS: {client}");
    }
    Ok(ListenerTls {
        peer_acceptor,
        client_config,
        peer_dialer,
    })
}

/// [`configure`], or etcd's critical log line and exit status 1.
pub fn configure_or_exit(cfg: &EtcdConfig) -> ListenerTls {
    match configure(cfg) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(target: "etcdmain", critical = true, "{e:#}");
            std::process::exit(1);
        }
    }
}

impl ListenerTls {
    /// Serves the peer routes on `listener` (bound for `url`) in the background.
    pub fn spawn_peer(
        &self,
        url: &EtcdUrl,
        listener: tokio::net::TcpListener,
        addr: SocketAddr,
        router: axum::Router,
    ) {
        let acceptor = if url.is_tls() {
            self.peer_acceptor.clone()
        } else {
            None
        };
        tokio::spawn(async move {
            let result = match acceptor {
                Some(a) => etcd_transport::tls_listener::serve(listener, router, a).await,
                None => axum::serve(listener, router).await,
            };
            if let Err(e) = result {
                tracing::error!(target: "embed", "peer listener on {addr} failed: {e}");
            }
        });
    }

    /// Serves clients on `listener` (bound for `url`) in the background.
    pub fn spawn_client(
        &self,
        url: &EtcdUrl,
        listener: tokio::net::TcpListener,
        addr: SocketAddr,
        server: Arc<EtcdServer>,
    ) {
        let config = if url.is_tls() {
            self.client_config.clone()
        } else {
            None
        };
        match &config {
            Some(_) => tracing::info!(target: "embed", "serving client requests on {addr}"),
            None => {
                tracing::info!(target: "embed", notice = true, "serving insecure client requests on {addr}, this is strongly discouraged!")
            }
        }
        tokio::spawn(async move {
            let result = match config {
                Some(c) => etcd_api::tls::serve_clients_tls(listener, server, c).await,
                None => etcd_api::serve_clients(listener, server).await,
            };
            if let Err(e) = result {
                tracing::error!(target: "embed", "client listener on {addr} failed: {e}");
            }
        });
    }
}
