//! The `jwt` token provider: signed tokens any member can verify with the
//! same key, and that survive restarts.
//!
//! Claims are etcd's: `username`, `revision` (the auth revision at issue)
//! and `exp` (issue time + ttl, Unix seconds). A token verifies only with
//! the configured algorithm and key, before `exp` (no leeway, like
//! jwt-go); anything else is an invalid token.
//!
//! Keys, as etcd 3.4's `auth/options.go`: HMAC needs `priv-key` (the
//! secret). RSA and ECDSA take `priv-key`, `pub-key` or both: with only the
//! private key the public one is derived from it (any member holding the
//! private key signs and verifies); with only the public key the provider
//! is verify-only. Private keys are PEM, PKCS#1 (`RSA PRIVATE KEY`) or
//! PKCS#8 (`PRIVATE KEY`); ECDSA private keys must be PKCS#8, which is what
//! the signer (ring) takes.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::PrivateKeyDer;

use crate::AuthError;

/// etcd's JWT ttl default (5 minutes).
const JWT_TTL_DEFAULT: Duration = Duration::from_secs(300);

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Claims {
    username: String,
    revision: u64,
    exp: u64,
}

/// Signs and verifies JWTs.
pub struct JwtTokens {
    alg: Algorithm,
    sign: Option<EncodingKey>,
    verify: DecodingKey,
    ttl: Duration,
}

impl std::fmt::Debug for JwtTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtTokens")
            .field("alg", &self.alg)
            .field("ttl", &self.ttl)
            .finish()
    }
}

fn opts_err(msg: impl std::fmt::Display) -> AuthError {
    AuthError::InvalidAuthOpts(msg.to_string())
}

/// The signing and verifying keys for `alg` from the PEM files given.
fn keys(
    alg: Algorithm,
    public: Option<&[u8]>,
    private: Option<&[u8]>,
) -> Result<(Option<EncodingKey>, DecodingKey), AuthError> {
    let bad_key = |e: jsonwebtoken::errors::Error| opts_err(format!("bad key: {e}"));
    let missing = || opts_err("missing key data");
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            let secret = private.ok_or_else(missing)?;
            Ok((
                Some(EncodingKey::from_secret(secret)),
                DecodingKey::from_secret(secret),
            ))
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let sign = private
                .map(EncodingKey::from_ec_pem)
                .transpose()
                .map_err(bad_key)?;
            let verify = match (public, private) {
                (Some(p), _) => DecodingKey::from_ec_pem(p).map_err(bad_key)?,
                (None, Some(p)) => DecodingKey::from_ec_der(&ec_public_of(alg, p)?),
                (None, None) => return Err(missing()),
            };
            Ok((sign, verify))
        }
        Algorithm::EdDSA => Err(opts_err("invalid auth signature method")),
        _ => {
            let sign = private
                .map(EncodingKey::from_rsa_pem)
                .transpose()
                .map_err(bad_key)?;
            let verify = match (public, private) {
                (Some(p), _) => DecodingKey::from_rsa_pem(p).map_err(bad_key)?,
                (None, Some(p)) => DecodingKey::from_rsa_der(&rsa_public_of(p)?),
                (None, None) => return Err(missing()),
            };
            Ok((sign, verify))
        }
    }
}

fn private_der(pem: &[u8]) -> Result<PrivateKeyDer<'static>, AuthError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| opts_err(format!("bad private key: {e:?}")))
}

/// The PKCS#1 `RSAPublicKey` DER of an RSA private key in PEM.
fn rsa_public_of(pem: &[u8]) -> Result<Vec<u8>, AuthError> {
    let der = private_der(pem)?;
    let pair = match &der {
        PrivateKeyDer::Pkcs1(k) => ring::rsa::KeyPair::from_der(k.secret_pkcs1_der()),
        PrivateKeyDer::Pkcs8(k) => ring::rsa::KeyPair::from_pkcs8(k.secret_pkcs8_der()),
        _ => return Err(opts_err("bad private key: not an RSA key")),
    }
    .map_err(|e| opts_err(format!("bad private key: {e}")))?;
    Ok(ring::signature::KeyPair::public_key(&pair)
        .as_ref()
        .to_vec())
}

/// The uncompressed public point of an ECDSA private key in PKCS#8 PEM.
fn ec_public_of(alg: Algorithm, pem: &[u8]) -> Result<Vec<u8>, AuthError> {
    let PrivateKeyDer::Pkcs8(der) = private_der(pem)? else {
        return Err(opts_err("bad private key: ECDSA keys must be PKCS#8"));
    };
    let signing = match alg {
        Algorithm::ES384 => &ring::signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    };
    let rng = ring::rand::SystemRandom::new();
    let pair = ring::signature::EcdsaKeyPair::from_pkcs8(signing, der.secret_pkcs8_der(), &rng)
        .map_err(|e| opts_err(format!("bad private key: {e}")))?;
    Ok(ring::signature::KeyPair::public_key(&pair)
        .as_ref()
        .to_vec())
}

impl JwtTokens {
    /// Builds the provider from `--auth-token jwt,...` options: `sign-method`,
    /// `pub-key` and `priv-key` (file paths), `ttl` (Go duration).
    pub fn from_options(opts: &HashMap<String, String>) -> Result<JwtTokens, AuthError> {
        let read = |name: &str| -> Result<Option<Vec<u8>>, AuthError> {
            match opts.get(name) {
                Some(path) if !path.is_empty() => std::fs::read(path)
                    .map(Some)
                    .map_err(|e| opts_err(format!("{name} {path}: {e}"))),
                _ => Ok(None),
            }
        };
        let method = opts.get("sign-method").map(String::as_str).unwrap_or("");
        let alg: Algorithm = method
            .parse()
            .map_err(|_| opts_err("invalid auth signature method"))?;
        let ttl = match opts.get("ttl").filter(|t| !t.is_empty()) {
            Some(t) => {
                let ns = etcd_gotext::parse_duration_ns(t).ok().filter(|ns| *ns >= 0);
                Duration::from_nanos(ns.ok_or_else(|| opts_err(format!("bad ttl {t:?}")))? as u64)
            }
            None => JWT_TTL_DEFAULT,
        };
        let (public, private) = (read("pub-key")?, read("priv-key")?);
        let (sign, verify) = keys(alg, public.as_deref(), private.as_deref())?;
        Ok(JwtTokens {
            alg,
            sign,
            verify,
            ttl,
        })
    }

    /// A token for `username` at auth revision `revision`, valid for the ttl.
    pub fn assign(
        &self,
        username: &str,
        revision: u64,
        now: SystemTime,
    ) -> Result<String, AuthError> {
        let key = self.sign.as_ref().ok_or(AuthError::VerifyOnly)?;
        let exp = (now + self.ttl)
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = Claims {
            username: username.to_string(),
            revision,
            exp,
        };
        jsonwebtoken::encode(&Header::new(self.alg), &claims, key)
            .map_err(|e| AuthError::Hash(e.to_string()))
    }

    /// The user and revision of a valid token.
    pub fn info(&self, token: &str) -> Option<(String, u64)> {
        let mut v = Validation::new(self.alg);
        v.leeway = 0;
        v.set_required_spec_claims(&["exp"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.verify, &v).ok()?;
        Some((data.claims.username, data.claims.revision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata(name: &str) -> String {
        format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    fn provider(opts: &[(&str, String)]) -> Result<JwtTokens, AuthError> {
        let map = opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        JwtTokens::from_options(&map)
    }

    fn rs256(priv_key: Option<&str>, pub_key: Option<&str>) -> JwtTokens {
        let mut opts = vec![
            ("sign-method", "RS256".to_string()),
            ("ttl", "10s".to_string()),
        ];
        opts.extend(priv_key.map(|k| ("priv-key", testdata(k))));
        opts.extend(pub_key.map(|k| ("pub-key", testdata(k))));
        provider(&opts).unwrap()
    }

    #[test]
    fn rsa_private_key_alone_signs_and_verifies_and_public_key_alone_verifies() {
        let now = SystemTime::now();
        let full = rs256(Some("rsa-a.pem"), None);
        let token = full.assign("alice", 7, now).unwrap();
        assert_eq!(full.info(&token), Some(("alice".to_string(), 7)));
        let both = rs256(Some("rsa-a.pem"), Some("rsa-a.pub.pem"));
        assert_eq!(both.info(&token), Some(("alice".to_string(), 7)));
        let verify_only = rs256(None, Some("rsa-a.pub.pem"));
        assert_eq!(verify_only.info(&token), Some(("alice".to_string(), 7)));
        assert_eq!(
            verify_only.assign("alice", 7, now),
            Err(AuthError::VerifyOnly)
        );
        let pkcs8 = rs256(Some("rsa-b.pkcs8.pem"), None);
        let other = pkcs8.assign("bob", 1, now).unwrap();
        assert_eq!(pkcs8.info(&other), Some(("bob".to_string(), 1)));
    }

    #[test]
    fn forged_altered_and_expired_tokens_are_refused() {
        let now = SystemTime::now();
        let a = rs256(Some("rsa-a.pem"), None);
        let b = rs256(Some("rsa-b.pkcs8.pem"), None);
        let by_b = b.assign("root", 1, now).unwrap();
        assert_eq!(a.info(&by_b), None, "signed with another key");
        let token = a.assign("alice", 1, now).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let claims = format!(
            r#"{{"username":"root","revision":1,"exp":{}}}"#,
            now.duration_since(UNIX_EPOCH).unwrap().as_secs() + 10
        );
        use base64::Engine as _;
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims),
            parts[2]
        );
        assert_eq!(a.info(&forged), None, "claims altered");
        let old = a.assign("alice", 1, now - Duration::from_secs(11)).unwrap();
        assert_eq!(a.info(&old), None, "expired");
        assert_eq!(a.info("not.a.jwt"), None);
    }

    #[test]
    fn ecdsa_private_key_alone_signs_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ec.pem");
        std::fs::write(&path, rcgen::KeyPair::generate().unwrap().serialize_pem()).unwrap();
        let p = provider(&[
            ("sign-method", "ES256".to_string()),
            ("priv-key", path.display().to_string()),
        ])
        .unwrap();
        let token = p.assign("carol", 3, SystemTime::now()).unwrap();
        assert_eq!(p.info(&token), Some(("carol".to_string(), 3)));
    }

    #[test]
    fn keys_are_required() {
        assert!(provider(&[("sign-method", "RS256".to_string())]).is_err());
        assert!(provider(&[("sign-method", "ES256".to_string())]).is_err());
        assert!(provider(&[
            ("sign-method", "RS256".to_string()),
            ("priv-key", testdata("README.md"))
        ])
        .is_err());
    }
}
