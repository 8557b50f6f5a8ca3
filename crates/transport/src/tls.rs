//! TLS settings of one side (clients or peers), turned into rustls
//! configurations the way etcd 3.4's `transport.TLSInfo` builds Go's
//! `tls.Config`.
//!
//! Contract (each point is etcd 3.4 behaviour, `pkg/transport/listener.go`):
//! - TLS 1.2 is the lowest version; TLS 1.3 is always on. `--cipher-suites`
//!   restricts the TLS 1.2 suites only (Go cannot configure TLS 1.3 suites),
//!   see [`crate::tls_ciphers`].
//! - Serving: a client certificate is *required* as soon as a trusted CA file
//!   is given or client-cert-auth is on (Go's `RequireAndVerifyClientCert`);
//!   it is then verified against the CA file (the system bundle when there is
//!   none), the CRL file when one is given, and the allowed CN or host name.
//!   ALPN offers `h2` and `http/1.1` (hyper serves both on one port).
//! - Dialing: the certificate pair, when given, is always presented; the
//!   server is verified against the CA file (else the system bundle) for the
//!   URL's host (or [`TlsInfo::server_name`]), except for self-signed auto-TLS
//!   material, which skips verification like etcd's `selfCert`.
//! - The allowed CN and allowed host name are mutually exclusive and apply
//!   to the leaf certificate of the other side, in both directions.
//!
//! Deviation: Go reads the certificate pair again on every handshake (so a
//! renewed file is picked up); etcd-rs reads it once when the listener or
//! dialer is built.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::tls_verify::{
    AllowedPeer, CheckedClientVerifier, CheckedServerVerifier, SkipServerVerification,
};

/// Where the system's CA bundle lives on Debian (Go reads the same file).
pub const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// ALPN protocols a TLS listener offers, best first.
pub const SERVER_ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Why TLS material cannot be used. `Display` gives etcd's message where
/// etcd has one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A `--cipher-suites` name Go does not know.
    #[error("unexpected TLS cipher suite {0:?}")]
    UnknownCipherSuite(String),
    /// A Go cipher suite rustls does not implement (CBC, RC4, 3DES, static RSA).
    #[error("etcd-rs: TLS cipher suite {0:?} is not supported (only ECDHE with AES-GCM or ChaCha20-Poly1305 is)")]
    UnsupportedCipherSuite(String),
    /// Only one of the key and certificate files was given.
    #[error("KeyFile and CertFile must both be present[key: {key}, cert: {cert}]")]
    MissingKeyPair {
        /// The key file given.
        key: String,
        /// The certificate file given.
        cert: String,
    },
    /// A file could not be read.
    #[error("open {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        reason: String,
    },
    /// A file holds no usable PEM (or DER) data.
    #[error("tls: {what} in {path}")]
    Pem {
        /// The file.
        path: String,
        /// What was missing or wrong.
        what: &'static str,
    },
    /// `--peer-cert-allowed-cn` and `--peer-cert-allowed-hostname` together.
    #[error(
        "AllowedCN and AllowedHostname are mutually exclusive (cn={cn:?}, hostname={hostname:?})"
    )]
    AllowedExclusive {
        /// The allowed CN.
        cn: String,
        /// The allowed host name.
        hostname: String,
    },
    /// rustls refused the material.
    #[error("tls: {0}")]
    Rustls(String),
    /// Auto TLS could not create its certificate.
    #[error("cannot generate self-signed certificate: {0}")]
    SelfCert(String),
}

/// The TLS settings of one side (etcd's `transport.TLSInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// PEM certificate chain (`--cert-file`, `--peer-cert-file`).
    pub cert_file: PathBuf,
    /// PEM private key (`--key-file`, `--peer-key-file`).
    pub key_file: PathBuf,
    /// PEM CA bundle the other side is verified against (empty: none).
    pub trusted_ca_file: PathBuf,
    /// Require and verify the other side's certificate when serving.
    pub client_cert_auth: bool,
    /// Certificate revocation list, PEM or DER (empty: none).
    pub crl_file: PathBuf,
    /// The other side's leaf certificate must have this CN (empty: any).
    pub allowed_cn: String,
    /// The other side's leaf certificate must be valid for this host (empty: any).
    pub allowed_hostname: String,
    /// etcd's `--cipher-suites` names (empty: rustls' defaults).
    pub cipher_suites: Vec<String>,
    /// Skip the check of a peer client certificate's SANs against its address.
    pub skip_client_san_verify: bool,
    /// Host name to verify a dialed server for, instead of the URL's host.
    pub server_name: String,
    /// The pair was generated by auto TLS: dialing skips server verification.
    pub self_cert: bool,
}

impl fmt::Display for TlsInfo {
    /// etcd's `TLSInfo.String()`, logged at start.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cert = {}, key = {}, trusted-ca = {}, client-cert-auth = {}, crl-file = {}",
            self.cert_file.display(),
            self.key_file.display(),
            self.trusted_ca_file.display(),
            self.client_cert_auth,
            self.crl_file.display()
        )
    }
}

impl TlsInfo {
    /// No certificate material (etcd's `TLSInfo.Empty`).
    pub fn is_empty(&self) -> bool {
        self.cert_file.as_os_str().is_empty() && self.key_file.as_os_str().is_empty()
    }

    /// The rustls provider: ring, with `--cipher-suites` applied.
    pub fn provider(&self) -> Result<Arc<CryptoProvider>, TlsError> {
        crate::tls_ciphers::provider(&self.cipher_suites).map(Arc::new)
    }

    fn allowed(&self) -> Result<AllowedPeer, TlsError> {
        AllowedPeer::new(&self.allowed_cn, &self.allowed_hostname)
    }

    /// The configuration for a TLS listener (etcd's `ServerConfig`).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        let (certs, key) = self.key_pair()?;
        let provider = self.provider()?;
        let allowed = self.allowed()?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(rustls_err)?;
        let want_client_cert =
            !self.trusted_ca_file.as_os_str().is_empty() || self.client_cert_auth;
        let mut config = if want_client_cert {
            let roots = Arc::new(self.roots()?);
            let mut vb =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider);
            if !self.crl_file.as_os_str().is_empty() {
                // The CRL comes from one issuer: other certificates of the
                // chain have no status to check, which is not a failure.
                vb = vb
                    .with_crls(read_crls(&self.crl_file)?)
                    .allow_unknown_revocation_status();
            }
            let inner = vb.build().map_err(|e| TlsError::Rustls(e.to_string()))?;
            builder
                .with_client_cert_verifier(Arc::new(CheckedClientVerifier::new(inner, allowed)))
                .with_single_cert(certs, key)
                .map_err(rustls_err)?
        } else {
            builder
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .map_err(rustls_err)?
        };
        config.alpn_protocols = SERVER_ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }

    /// The configuration for dialing a TLS server (etcd's `ClientConfig`).
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let provider = self.provider()?;
        let allowed = self.allowed()?;
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(rustls_err)?;
        let builder = if self.self_cert {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(SkipServerVerification::new(provider)))
        } else {
            let roots = Arc::new(self.roots()?);
            let inner =
                rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|e| TlsError::Rustls(e.to_string()))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(CheckedServerVerifier::new(
                    inner, allowed,
                )))
        };
        let config = if self.is_empty() {
            builder.with_no_client_auth()
        } else {
            let (certs, key) = self.key_pair()?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(rustls_err)?
        };
        Ok(Arc::new(config))
    }

    /// Reads the certificate chain and key.
    pub fn key_pair(
        &self,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
        if self.cert_file.as_os_str().is_empty() || self.key_file.as_os_str().is_empty() {
            return Err(TlsError::MissingKeyPair {
                key: self.key_file.display().to_string(),
                cert: self.cert_file.display().to_string(),
            });
        }
        let certs = read_certs(&self.cert_file)?;
        let key_pem = read(&self.key_file)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::Pem {
            path: self.key_file.display().to_string(),
            what: "failed to find any PEM data in key input",
        })?;
        Ok((certs, key))
    }

    /// The CA file's certificates, or the system bundle when none is given.
    fn roots(&self) -> Result<RootCertStore, TlsError> {
        let mut roots = RootCertStore::empty();
        if self.trusted_ca_file.as_os_str().is_empty() {
            // Go falls back to the system pool; a missing bundle leaves it empty.
            if let Ok(pem) = std::fs::read(SYSTEM_CA_BUNDLE) {
                let certs = CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok);
                roots.add_parsable_certificates(certs);
            }
            return Ok(roots);
        }
        for cert in read_certs(&self.trusted_ca_file)? {
            roots.add(cert).map_err(rustls_err)?;
        }
        Ok(roots)
    }
}

fn rustls_err(e: rustls::Error) -> TlsError {
    TlsError::Rustls(e.to_string())
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Read {
        path: path.display().to_string(),
        reason: io_reason(&e),
    })
}

/// Go's wording of common OS errors.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// The PEM certificates in `path`; at least one.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem {
            path: path.display().to_string(),
            what: "malformed PEM certificate",
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: path.display().to_string(),
            what: "failed to find any PEM data in certificate input",
        });
    }
    Ok(certs)
}

/// The revocation lists in `path`: PEM blocks, or one DER list (Go's
/// `x509.ParseCRL` takes either).
fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let data = read(path)?;
    let pem: Vec<_> = CertificateRevocationListDer::pem_slice_iter(&data)
        .filter_map(Result::ok)
        .collect();
    if !pem.is_empty() {
        return Ok(pem);
    }
    if data.first() == Some(&0x30) {
        return Ok(vec![CertificateRevocationListDer::from(data)]);
    }
    Err(TlsError::Pem {
        path: path.display().to_string(),
        what: "failed to find a certificate revocation list",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_means_no_pair() {
        assert!(TlsInfo::default().is_empty());
        let half = TlsInfo {
            cert_file: "c.pem".into(),
            ..Default::default()
        };
        assert!(!half.is_empty());
        assert_eq!(
            half.server_config().unwrap_err().to_string(),
            "KeyFile and CertFile must both be present[key: , cert: c.pem]"
        );
    }

    #[test]
    fn display_matches_etcd() {
        let info = TlsInfo {
            cert_file: "/c".into(),
            key_file: "/k".into(),
            client_cert_auth: true,
            ..Default::default()
        };
        assert_eq!(
            info.to_string(),
            "cert = /c, key = /k, trusted-ca = , client-cert-auth = true, crl-file = "
        );
    }

    #[test]
    fn missing_file_reads_like_go() {
        let info = TlsInfo {
            cert_file: "/nonexistent/c".into(),
            key_file: "/nonexistent/k".into(),
            ..Default::default()
        };
        assert_eq!(
            info.server_config().unwrap_err().to_string(),
            "open /nonexistent/c: no such file or directory"
        );
    }

    #[test]
    fn allowed_cn_and_hostname_exclude_each_other() {
        let info = TlsInfo {
            allowed_cn: "a".into(),
            allowed_hostname: "b".into(),
            ..Default::default()
        };
        assert_eq!(
            info.client_config().unwrap_err().to_string(),
            "AllowedCN and AllowedHostname are mutually exclusive (cn=\"a\", hostname=\"b\")"
        );
    }
}
