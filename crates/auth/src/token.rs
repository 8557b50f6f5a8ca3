//! `--auth-token`: which provider issues and checks tokens.
//!
//! Format (etcd's): `<type>[,<name>=<value>...]`, type `simple` or `jwt`;
//! an option given twice or without `=` is an error.

use std::collections::HashMap;

use crate::{AuthError, JwtTokens, SimpleTokens};

/// This member's token provider.
#[derive(Debug)]
pub enum TokenProvider {
    /// Opaque tokens kept in memory, replicated through Authenticate entries.
    Simple(SimpleTokens),
    /// Signed JWTs.
    Jwt(JwtTokens),
}

impl TokenProvider {
    /// Parses `--auth-token`; `ttl_s` is `--auth-token-ttl` (simple only).
    pub fn from_options(opts: &str, ttl_s: u64) -> Result<TokenProvider, AuthError> {
        let mut parts = opts.split(',');
        let kind = parts.next().unwrap_or("");
        let mut map = HashMap::new();
        for p in parts {
            let Some((k, v)) = p.split_once('=').filter(|(_, v)| !v.contains('=')) else {
                return Err(AuthError::InvalidAuthOpts(format!("bad option {p:?}")));
            };
            if map.insert(k.to_string(), v.to_string()).is_some() {
                return Err(AuthError::InvalidAuthOpts(format!("option {k:?} given twice")));
            }
        }
        match kind {
            "simple" => Ok(TokenProvider::Simple(SimpleTokens::new(ttl_s))),
            "jwt" => Ok(TokenProvider::Jwt(JwtTokens::from_options(&map)?)),
            other => Err(AuthError::InvalidAuthOpts(format!("unknown token type {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        assert!(matches!(
            TokenProvider::from_options("simple", 0),
            Ok(TokenProvider::Simple(_))
        ));
        assert!(TokenProvider::from_options("bogus", 0).is_err());
        assert!(TokenProvider::from_options("jwt,ttl=1s,ttl=2s", 0).is_err());
        assert!(TokenProvider::from_options("jwt,sign-method", 0).is_err());
        assert!(
            TokenProvider::from_options("jwt,sign-method=HS256", 0).is_err(),
            "HS needs priv-key"
        );
    }
}
