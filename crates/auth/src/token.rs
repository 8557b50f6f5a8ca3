//! `--auth-token`: which provider issues and checks tokens.
//!
//! Format (etcd's): `<type>[,<name>=<value>...]`, type `simple` or `jwt`;
//! an option given twice or without `=` is an error.

use std::collections::HashMap;
use std::time::Duration;

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

/// Parses a Go duration such as `300s`, `5m`, `1h30m`, `250ms`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let value: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale_ns = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += Duration::from_nanos((value * scale_ns) as u64);
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("x"), None);
    }

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
