//! Password hashing: bcrypt, `$2a$` form like Go's `x/crypto/bcrypt`, so
//! hashes from an etcd data dir verify here and ours verify there.
//!
//! Hashing is slow on purpose (cost 10 ≈ 50–100 ms); the server hashes
//! before proposing, never on the applier thread, and the salt's randomness
//! stays out of apply.

use crate::AuthError;

/// etcd's `--bcrypt-cost` default.
pub const BCRYPT_COST_DEFAULT: u32 = 10;
/// The lowest cost bcrypt accepts.
const BCRYPT_COST_MIN: u32 = 4;
/// The highest cost bcrypt accepts.
const BCRYPT_COST_MAX: u32 = 31;

/// Hashes `password` with `cost` (an out-of-range cost falls back to the
/// default, as etcd does).
pub fn hash_password(password: &str, cost: u32) -> Result<Vec<u8>, AuthError> {
    let cost = if (BCRYPT_COST_MIN..=BCRYPT_COST_MAX).contains(&cost) {
        cost
    } else {
        BCRYPT_COST_DEFAULT
    };
    let parts = bcrypt::hash_with_result(password, cost).map_err(|e| AuthError::Hash(e.to_string()))?;
    Ok(parts.format_for_version(bcrypt::Version::TwoA).into_bytes())
}

/// Whether `password` matches the stored `hash`; a malformed hash matches
/// nothing.
pub fn verify_password(password: &str, hash: &[u8]) -> bool {
    let Ok(hash) = std::str::from_utf8(hash) else {
        return false;
    };
    bcrypt::verify(password, hash).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_in_go_form() {
        let h = hash_password("s3cret", 4).unwrap();
        assert!(h.starts_with(b"$2a$04$"));
        assert!(verify_password("s3cret", &h));
        assert!(!verify_password("S3cret", &h));
        assert!(!verify_password("s3cret", b"garbage"));
    }

    #[test]
    fn verifies_a_hash_made_by_go() {
        // The known-answer vector of Go's x/crypto/bcrypt tests.
        let go = b"$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga";
        assert!(verify_password("allmine", go));
        assert!(!verify_password("allmine2", go));
    }
}
