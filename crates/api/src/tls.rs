//! Serving clients over TLS (`https://` client URLs).
//!
//! Each accepted socket is handshaken in its own task by
//! [`etcd_transport::tls_listener::TlsAcceptor`] (bounded, refusals logged
//! like etcd's `rejected connection from ...`); the decrypted stream then
//! goes through the same `:authority` fix and the same h1/h2 server as plain
//! connections ([`crate::serve_connection`]), so gRPC, the JSON gateway, v2,
//! `/health`, `/version` and `/metrics` are all served over TLS.
//!
//! When the client presented a certificate (it was verified in the
//! handshake, see `etcd_transport::tls`), its subject CN is put into every
//! request of that connection as a [`PeerCn`] extension. tonic services read
//! it with `request.extensions().get::<PeerCn>()`, axum handlers with
//! `Option<Extension<PeerCn>>`. etcd uses that CN as the user name of gRPC
//! requests when auth is on (and ignores it for gateway requests, which it
//! proxies through its own gRPC client).

use std::sync::Arc;

use etcd_server::EtcdServer;
use etcd_transport::tls_listener::TlsAcceptor;

/// The subject common name of the verified client certificate of the
/// connection a request came on. Absent on plain connections, on TLS
/// connections without a client certificate, and when the CN is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerCn(pub String);

/// Serves clients on `listener` over TLS with `config` until the process ends.
pub async fn serve_clients_tls(
    listener: tokio::net::TcpListener,
    server: Arc<EtcdServer>,
    config: Arc<rustls::ServerConfig>,
) -> std::io::Result<()> {
    serve_router_tls(listener, crate::client_router(server), config).await
}

/// Serves `router` on `listener` over TLS with `config` (see module docs).
pub(crate) async fn serve_router_tls(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    config: Arc<rustls::ServerConfig>,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::new(config, false);
    let mut listener = listener;
    loop {
        // axum's accept retries and backs off on accept errors.
        let (tcp, remote) = axum::serve::Listener::accept(&mut listener).await;
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%remote, error = %e, "cannot set TCP_NODELAY");
        }
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let Some(tls) = acceptor.accept(tcp, remote).await else {
                return;
            };
            let cn = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|certs| certs.first())
                .and_then(etcd_transport::tls_verify::common_name)
                .filter(|cn| !cn.is_empty())
                .map(PeerCn);
            let io = crate::h2_authority::AuthorityFix::new(tls);
            match cn {
                Some(cn) => crate::serve_connection(io, router.layer(axum::Extension(cn))).await,
                None => crate::serve_connection(io, router).await,
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    struct Files {
        dir: tempfile::TempDir,
    }

    impl Files {
        fn path(&self, name: &str) -> std::path::PathBuf {
            self.dir.path().join(name)
        }
    }

    /// A CA, a server pair for 127.0.0.1 and client pairs with the given CNs.
    fn pki(client_cns: &[&str]) -> Files {
        let files = Files {
            dir: tempfile::tempdir().unwrap(),
        };
        let mut ca = CertificateParams::default();
        ca.distinguished_name.push(DnType::CommonName, "ca");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        std::fs::write(files.path("ca.pem"), ca_cert.pem()).unwrap();
        let mut names = vec![("server", "server")];
        names.extend(client_cns.iter().map(|cn| (*cn, *cn)));
        for (name, cn) in names {
            let mut p = CertificateParams::default();
            p.distinguished_name.push(DnType::CommonName, cn);
            p.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().unwrap())];
            let key = KeyPair::generate().unwrap();
            let cert = p.signed_by(&key, &ca_cert, &ca_key).unwrap();
            std::fs::write(files.path(&format!("{name}.pem")), cert.pem()).unwrap();
            std::fs::write(files.path(&format!("{name}-key.pem")), key.serialize_pem()).unwrap();
        }
        files
    }

    /// GETs `/cn` over TLS presenting `client` (if any); the response body.
    async fn get_cn(
        files: &Files,
        addr: std::net::SocketAddr,
        client: Option<&str>,
    ) -> std::io::Result<String> {
        let info = etcd_transport::tls::TlsInfo {
            cert_file: client
                .map(|c| files.path(&format!("{c}.pem")))
                .unwrap_or_default(),
            key_file: client
                .map(|c| files.path(&format!("{c}-key.pem")))
                .unwrap_or_default(),
            trusted_ca_file: files.path("ca.pem"),
            ..Default::default()
        };
        let config = info.client_config().unwrap();
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let mut tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await?;
        tls.write_all(b"GET /cn HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await?;
        let mut out = String::new();
        tls.read_to_string(&mut out).await?;
        Ok(out
            .rsplit("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_string())
    }

    async fn serve(files: &Files, client_cert_auth: bool) -> std::net::SocketAddr {
        let info = etcd_transport::tls::TlsInfo {
            cert_file: files.path("server.pem"),
            key_file: files.path("server-key.pem"),
            trusted_ca_file: if client_cert_auth {
                files.path("ca.pem")
            } else {
                Default::default()
            },
            client_cert_auth,
            ..Default::default()
        };
        let router = axum::Router::new().route(
            "/cn",
            axum::routing::get(|cn: Option<axum::Extension<PeerCn>>| async move {
                cn.map_or_else(|| "none".to_string(), |c| c.0 .0)
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve_router_tls(
            listener,
            router,
            info.server_config().unwrap(),
        ));
        addr
    }

    #[tokio::test]
    async fn verified_client_cn_reaches_handlers() {
        let files = pki(&["alice", "bob"]);
        let addr = serve(&files, true).await;
        assert_eq!(get_cn(&files, addr, Some("alice")).await.unwrap(), "alice");
        assert_eq!(get_cn(&files, addr, Some("bob")).await.unwrap(), "bob");
        // No certificate: refused in the handshake (seen by the client when it
        // first reads, TLS 1.3 finishing the handshake on its side first).
        assert!(get_cn(&files, addr, None).await.is_err());
    }

    #[tokio::test]
    async fn no_cn_without_client_cert_auth() {
        let files = pki(&["alice"]);
        let addr = serve(&files, false).await;
        assert_eq!(get_cn(&files, addr, None).await.unwrap(), "none");
        // A certificate the server did not ask for is not sent.
        assert_eq!(get_cn(&files, addr, Some("alice")).await.unwrap(), "none");
    }
}
