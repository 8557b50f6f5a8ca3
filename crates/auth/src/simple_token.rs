//! The `simple` token provider: opaque tokens kept in this member's memory.
//!
//! A token is `<16 random letters>.<raft index>`: the proposer draws the
//! letters, and every member, on applying the Authenticate entry at that
//! index, records the token for the user, so any member accepts it (after
//! it has applied that index). A token lives `ttl` after its last use
//! (etcd's `--auth-token-ttl`, default 300 s); deleting a user, changing
//! its password or disabling auth drops its tokens. Nothing is persisted:
//! a restart forgets every token, as in etcd.
//!
//! Time comes in as an argument (`now`), so tests move it by hand.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::Rng as _;

/// Letters in a token's random part.
pub const SIMPLE_TOKEN_PREFIX_LEN: usize = 16;
/// etcd's `--auth-token-ttl` default.
pub const SIMPLE_TOKEN_TTL_DEFAULT_S: u64 = 300;
/// Upper bound on live tokens; past it the ones closest to expiry go first.
const SIMPLE_TOKENS_MAX: usize = 1 << 20;

const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

#[derive(Debug)]
struct Entry {
    user: String,
    expires: Instant,
}

/// Live simple tokens of this member.
#[derive(Debug)]
pub struct SimpleTokens {
    ttl: Duration,
    tokens: Mutex<HashMap<String, Entry>>,
}

impl SimpleTokens {
    /// A provider whose tokens live `ttl_s` seconds after last use (0 means
    /// the default).
    pub fn new(ttl_s: u64) -> SimpleTokens {
        let ttl_s = if ttl_s == 0 { SIMPLE_TOKEN_TTL_DEFAULT_S } else { ttl_s };
        SimpleTokens {
            ttl: Duration::from_secs(ttl_s),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// The random part of a new token.
    pub fn gen_prefix() -> String {
        let mut rng = rand::rng();
        (0..SIMPLE_TOKEN_PREFIX_LEN)
            .map(|_| LETTERS[rng.random_range(0..LETTERS.len())] as char)
            .collect()
    }

    /// Records the token `<prefix>.<index>` for `user`; returns it.
    pub fn assign(&self, prefix: &str, index: u64, user: &str, now: Instant) -> String {
        let token = format!("{prefix}.{index}");
        let mut tokens = self.tokens.lock();
        tokens.retain(|_, e| e.expires > now);
        if tokens.len() >= SIMPLE_TOKENS_MAX {
            if let Some(oldest) = tokens.iter().min_by_key(|(_, e)| e.expires).map(|(k, _)| k.clone()) {
                tokens.remove(&oldest);
            }
        }
        tokens.insert(
            token.clone(),
            Entry {
                user: user.to_string(),
                expires: now + self.ttl,
            },
        );
        token
    }

    /// The raft index a well-formed token was issued at.
    pub fn index_of(token: &str) -> Option<u64> {
        let (prefix, index) = token.split_once('.')?;
        if prefix.contains('.') || index.contains('.') {
            return None;
        }
        index.parse().ok()
    }

    /// The user of a live token, extending its life; `None` if unknown or
    /// expired.
    pub fn user(&self, token: &str, now: Instant) -> Option<String> {
        let mut tokens = self.tokens.lock();
        let e = tokens.get_mut(token)?;
        if e.expires <= now {
            tokens.remove(token);
            return None;
        }
        e.expires = now + self.ttl;
        Some(e.user.clone())
    }

    /// Drops every token of `user`.
    pub fn invalidate_user(&self, user: &str) {
        self.tokens.lock().retain(|_, e| e.user != user);
    }

    /// Drops every token (auth disabled).
    pub fn clear(&self) {
        self.tokens.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_expires_after_ttl_without_use_and_use_extends_it() {
        let t = SimpleTokens::new(10);
        let t0 = Instant::now();
        let tok = t.assign("abc", 7, "alice", t0);
        assert_eq!(tok, "abc.7");
        assert_eq!(SimpleTokens::index_of(&tok), Some(7));
        assert_eq!(t.user(&tok, t0 + Duration::from_secs(9)).as_deref(), Some("alice"));
        assert_eq!(t.user(&tok, t0 + Duration::from_secs(18)).as_deref(), Some("alice"));
        assert_eq!(t.user(&tok, t0 + Duration::from_secs(29)), None);
    }

    #[test]
    fn invalidate_and_malformed() {
        let t = SimpleTokens::new(0);
        let now = Instant::now();
        let a = t.assign("p", 1, "a", now);
        let b = t.assign("q", 2, "b", now);
        t.invalidate_user("a");
        assert_eq!(t.user(&a, now), None);
        assert_eq!(t.user(&b, now).as_deref(), Some("b"));
        assert_eq!(SimpleTokens::index_of("nodot"), None);
        assert_eq!(SimpleTokens::index_of("a.b.1"), None);
        assert_eq!(SimpleTokens::gen_prefix().len(), SIMPLE_TOKEN_PREFIX_LEN);
    }
}
