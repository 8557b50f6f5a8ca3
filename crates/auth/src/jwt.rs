//! The `jwt` token provider: signed tokens any member can verify with the
//! same key, and that survive restarts.
//!
//! Claims are etcd's: `username`, `revision` (the auth revision at issue)
//! and `exp` (issue time + ttl, Unix seconds). A token verifies only with
//! the configured algorithm and key, before `exp` (no leeway, like
//! jwt-go); anything else is an invalid token. RSA and ECDSA need the
//! public key to verify; without a private key the provider is
//! verify-only.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

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
        let alg: Algorithm = method.parse().map_err(|_| opts_err("invalid auth signature method"))?;
        let ttl = match opts.get("ttl").filter(|t| !t.is_empty()) {
            Some(t) => crate::token::parse_duration(t).ok_or_else(|| opts_err(format!("bad ttl {t:?}")))?,
            None => JWT_TTL_DEFAULT,
        };
        let (public, private) = (read("pub-key")?, read("priv-key")?);
        let bad_key = |e: jsonwebtoken::errors::Error| opts_err(format!("bad key: {e}"));
        let (sign, verify) = match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let secret = private.ok_or_else(|| opts_err("missing key data"))?;
                (
                    Some(EncodingKey::from_secret(&secret)),
                    DecodingKey::from_secret(&secret),
                )
            }
            Algorithm::ES256 | Algorithm::ES384 => {
                let public = public.ok_or_else(|| opts_err("missing key data"))?;
                let sign = private
                    .map(|p| EncodingKey::from_ec_pem(&p))
                    .transpose()
                    .map_err(bad_key)?;
                (sign, DecodingKey::from_ec_pem(&public).map_err(bad_key)?)
            }
            Algorithm::EdDSA => return Err(opts_err("invalid auth signature method")),
            _ => {
                let public = public.ok_or_else(|| opts_err("missing key data"))?;
                let sign = private
                    .map(|p| EncodingKey::from_rsa_pem(&p))
                    .transpose()
                    .map_err(bad_key)?;
                (sign, DecodingKey::from_rsa_pem(&public).map_err(bad_key)?)
            }
        };
        Ok(JwtTokens { alg, sign, verify, ttl })
    }

    /// A token for `username` at auth revision `revision`, valid for the ttl.
    pub fn assign(&self, username: &str, revision: u64, now: SystemTime) -> Result<String, AuthError> {
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
        jsonwebtoken::encode(&Header::new(self.alg), &claims, key).map_err(|e| AuthError::Hash(e.to_string()))
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
