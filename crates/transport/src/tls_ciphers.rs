//! `--cipher-suites`: etcd's (Go's) cipher suite names mapped to rustls'
//! ring suites.
//!
//! Contract:
//! - A name Go does not know is refused with etcd's message
//!   (`unexpected TLS cipher suite "X"`).
//! - A name Go knows but rustls does not implement (CBC, RC4, 3DES, static
//!   RSA key exchange) is refused too: serving it silently without the suite
//!   would change what clients can negotiate.
//! - The list restricts TLS 1.2 only, in the order given. TLS 1.3 suites are
//!   always all enabled, as in Go, whose `tls.Config.CipherSuites` does not
//!   apply to TLS 1.3; TLS 1.3 names are accepted and change nothing.
//! - An empty list keeps rustls' defaults.

use rustls::crypto::ring::{cipher_suite as cs, default_provider};
use rustls::crypto::CryptoProvider;
use rustls::SupportedCipherSuite;

use crate::tls::TlsError;

/// Go's names for the TLS 1.2 suites rustls implements.
const TLS12: &[(&str, &SupportedCipherSuite)] = &[
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        &cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        &cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        &cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        &cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        &cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        &cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    // Aliases etcd's tlsutil accepts.
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        &cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        &cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// Go's TLS 1.3 suite names (always on).
const TLS13: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// Suites Go knows that rustls does not implement.
const GO_ONLY: &[&str] = &[
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
];

/// Checks every name (etcd does so before it listens).
pub fn validate(names: &[String]) -> Result<(), TlsError> {
    provider(names).map(|_| ())
}

/// The ring provider with `names` applied (see the module docs).
pub fn provider(names: &[String]) -> Result<CryptoProvider, TlsError> {
    let mut provider = default_provider();
    if names.is_empty() {
        return Ok(provider);
    }
    let mut suites: Vec<SupportedCipherSuite> = provider
        .cipher_suites
        .iter()
        .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_)))
        .copied()
        .collect();
    for name in names {
        let name = name.as_str();
        if let Some((_, suite)) = TLS12.iter().find(|(n, _)| *n == name) {
            if !suites.iter().any(|s| s.suite() == suite.suite()) {
                suites.push(**suite);
            }
        } else if TLS13.contains(&name) {
            continue;
        } else if GO_ONLY.contains(&name) {
            return Err(TlsError::UnsupportedCipherSuite(name.to_string()));
        } else {
            return Err(TlsError::UnknownCipherSuite(name.to_string()));
        }
    }
    provider.cipher_suites = suites;
    Ok(provider)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn unknown_and_unsupported_names_are_refused() {
        assert_eq!(
            provider(&names(&["FOO"])).unwrap_err().to_string(),
            "unexpected TLS cipher suite \"FOO\""
        );
        assert!(matches!(
            provider(&names(&["TLS_RSA_WITH_AES_128_CBC_SHA"])),
            Err(TlsError::UnsupportedCipherSuite(_))
        ));
    }

    #[test]
    fn list_restricts_tls12_in_order_and_keeps_tls13() {
        let p = provider(&names(&[
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        ]))
        .unwrap();
        let tls12: Vec<_> = p
            .cipher_suites
            .iter()
            .filter(|s| matches!(s, SupportedCipherSuite::Tls12(_)))
            .map(|s| s.suite())
            .collect();
        assert_eq!(
            tls12,
            vec![
                cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384.suite(),
                cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256.suite()
            ]
        );
        let tls13 = p
            .cipher_suites
            .iter()
            .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_)))
            .count();
        assert_eq!(tls13, 3);
    }

    #[test]
    fn empty_list_is_the_default() {
        assert_eq!(
            provider(&[]).unwrap().cipher_suites.len(),
            default_provider().cipher_suites.len()
        );
    }
}
