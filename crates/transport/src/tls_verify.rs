//! Certificate checks beyond the chain: the allowed CN / host name
//! (`--peer-cert-allowed-cn`, `--peer-cert-allowed-hostname`), the CN a
//! client certificate names (for auth), the address check of a peer's
//! client certificate, and the verifier auto TLS dials with.
//!
//! Contract:
//! - [`CheckedClientVerifier`] / [`CheckedServerVerifier`] first run the
//!   webpki chain verification they wrap, then [`AllowedPeer`] on the leaf;
//!   a refusal is `client certificate authentication failed` (etcd's text).
//! - [`check_peer_san`] is etcd's `checkCertSAN`: a peer certificate with IP
//!   or DNS SANs must name the address the connection comes from, through
//!   an IP SAN or a DNS SAN whose forward lookup gives that address.
//!   Deviation: etcd also tries a reverse (PTR) lookup; etcd-rs does not.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::ParsedCertificate;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::tls::TlsError;

/// etcd's message when the allowed CN or host name does not match.
pub const AUTH_FAILED: &str = "client certificate authentication failed";

/// What the other side's leaf certificate must name.
#[derive(Clone, Debug, Default)]
pub enum AllowedPeer {
    /// Anything (only the chain is verified).
    #[default]
    Any,
    /// Exactly this subject CN.
    Cn(String),
    /// Valid for this host name or IP address.
    Hostname(String),
}

impl AllowedPeer {
    /// From the two flags, which exclude each other.
    pub fn new(cn: &str, hostname: &str) -> Result<AllowedPeer, TlsError> {
        match (cn.is_empty(), hostname.is_empty()) {
            (true, true) => Ok(AllowedPeer::Any),
            (false, true) => Ok(AllowedPeer::Cn(cn.to_string())),
            (true, false) => Ok(AllowedPeer::Hostname(hostname.to_string())),
            (false, false) => Err(TlsError::AllowedExclusive {
                cn: cn.to_string(),
                hostname: hostname.to_string(),
            }),
        }
    }

    /// Whether `leaf` passes.
    pub fn allows(&self, leaf: &CertificateDer<'_>) -> bool {
        match self {
            AllowedPeer::Any => true,
            AllowedPeer::Cn(cn) => common_name(leaf).as_deref() == Some(cn.as_str()),
            AllowedPeer::Hostname(host) => {
                let Ok(name) = ServerName::try_from(host.as_str()) else {
                    return false;
                };
                let Ok(parsed) = ParsedCertificate::try_from(leaf) else {
                    return false;
                };
                rustls::client::verify_server_name(&parsed, &name).is_ok()
            }
        }
    }

    fn check(&self, leaf: &CertificateDer<'_>) -> Result<(), rustls::Error> {
        if self.allows(leaf) {
            Ok(())
        } else {
            Err(rustls::Error::General(AUTH_FAILED.to_string()))
        }
    }
}

/// The subject CN of a DER certificate, if it has one.
pub fn common_name(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let cn = parsed.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_string)
}

/// The IP and DNS SANs of a DER certificate.
pub fn subject_alt_names(cert: &CertificateDer<'_>) -> (Vec<IpAddr>, Vec<String>) {
    let mut ips = Vec::new();
    let mut dns = Vec::new();
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return (ips, dns);
    };
    if let Ok(Some(san)) = parsed.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                x509_parser::extensions::GeneralName::DNSName(d) => dns.push(d.to_string()),
                x509_parser::extensions::GeneralName::IPAddress(b) => match b.len() {
                    4 => ips.push(IpAddr::from(<[u8; 4]>::try_from(*b).expect("4 bytes"))),
                    16 => ips.push(IpAddr::from(<[u8; 16]>::try_from(*b).expect("16 bytes"))),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    (ips, dns)
}

/// etcd's `checkCertSAN` for a peer connecting from `remote` (see module docs).
pub async fn check_peer_san(leaf: &CertificateDer<'_>, remote: IpAddr) -> Result<(), String> {
    let (ips, dns) = subject_alt_names(leaf);
    if ips.is_empty() && dns.is_empty() {
        return Ok(());
    }
    if ips.contains(&remote) {
        return Ok(());
    }
    if dns.is_empty() {
        let valid: Vec<String> = ips.iter().map(|ip| ip.to_string()).collect();
        return Err(format!(
            "x509: certificate is valid for {}, not {remote}",
            valid.join(", ")
        ));
    }
    for name in dns.iter().filter(|d| !d.starts_with("*.")) {
        if let Ok(addrs) = tokio::net::lookup_host((name.as_str(), 0)).await {
            if addrs.into_iter().any(|a| a.ip() == remote) {
                return Ok(());
            }
        }
    }
    let quoted: Vec<String> = dns.iter().map(|d| format!("{d:?}")).collect();
    Err(format!(
        "tls: \"{remote}\" does not match any of DNSNames [{}]",
        quoted.join(" ")
    ))
}

/// A client verifier that also applies an [`AllowedPeer`].
#[derive(Debug)]
pub struct CheckedClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: AllowedPeer,
}

impl CheckedClientVerifier {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ClientCertVerifier>, allowed: AllowedPeer) -> CheckedClientVerifier {
        CheckedClientVerifier { inner, allowed }
    }
}

impl ClientCertVerifier for CheckedClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let ok = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        self.allowed.check(end_entity)?;
        Ok(ok)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A server verifier that also applies an [`AllowedPeer`].
#[derive(Debug)]
pub struct CheckedServerVerifier {
    inner: Arc<dyn ServerCertVerifier>,
    allowed: AllowedPeer,
}

impl CheckedServerVerifier {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn ServerCertVerifier>, allowed: AllowedPeer) -> CheckedServerVerifier {
        CheckedServerVerifier { inner, allowed }
    }
}

impl ServerCertVerifier for CheckedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ok = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        self.allowed.check(end_entity)?;
        Ok(ok)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Accepts any server certificate (auto TLS material is self-signed), while
/// still checking the handshake signatures, so the peer must hold the key.
#[derive(Debug)]
pub struct SkipServerVerification {
    provider: Arc<CryptoProvider>,
}

impl SkipServerVerification {
    /// A verifier using `provider`'s signature algorithms.
    pub fn new(provider: Arc<CryptoProvider>) -> SkipServerVerification {
        SkipServerVerification { provider }
    }
}

impl ServerCertVerifier for SkipServerVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    fn cert(cn: &str, sans: Vec<SanType>) -> CertificateDer<'static> {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.subject_alt_names = sans;
        let key = KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().der().clone()
    }

    fn ip(s: &str) -> SanType {
        SanType::IpAddress(s.parse().unwrap())
    }

    #[test]
    fn allowed_cn_and_hostname() {
        let c = cert(
            "etcd-peer",
            vec![
                ip("10.0.0.1"),
                SanType::DnsName("m1.example".try_into().unwrap()),
            ],
        );
        assert_eq!(common_name(&c).as_deref(), Some("etcd-peer"));
        assert!(AllowedPeer::Any.allows(&c));
        assert!(AllowedPeer::new("etcd-peer", "").unwrap().allows(&c));
        assert!(!AllowedPeer::new("other", "").unwrap().allows(&c));
        assert!(AllowedPeer::new("", "m1.example").unwrap().allows(&c));
        assert!(AllowedPeer::new("", "10.0.0.1").unwrap().allows(&c));
        assert!(!AllowedPeer::new("", "m2.example").unwrap().allows(&c));
        assert!(!AllowedPeer::new("", "10.0.0.2").unwrap().allows(&c));
    }

    #[tokio::test]
    async fn peer_san_must_name_the_remote_address() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let none = cert("x", vec![]);
        assert_eq!(
            check_peer_san(&none, loopback).await,
            Ok(()),
            "no SANs: nothing to check"
        );
        let ips = cert("x", vec![ip("127.0.0.1"), ip("10.0.0.1")]);
        assert_eq!(check_peer_san(&ips, loopback).await, Ok(()));
        assert_eq!(
            check_peer_san(&ips, "10.9.9.9".parse().unwrap()).await,
            Err("x509: certificate is valid for 127.0.0.1, 10.0.0.1, not 10.9.9.9".to_string())
        );
        let dns = cert("x", vec![SanType::DnsName("localhost".try_into().unwrap())]);
        assert_eq!(
            check_peer_san(&dns, loopback).await,
            Ok(()),
            "localhost resolves to 127.0.0.1"
        );
        let wild = cert("x", vec![SanType::DnsName("*.invalid".try_into().unwrap())]);
        assert_eq!(
            check_peer_san(&wild, loopback).await,
            Err("tls: \"127.0.0.1\" does not match any of DNSNames [\"*.invalid\"]".to_string())
        );
    }
}
