//! Revisions and their on-disk key encoding.
//!
//! A revision is `(main, sub)`: `main` numbers write transactions, `sub`
//! numbers the changes inside one. The `key` table is keyed by the encoded
//! revision, so a table scan visits changes in commit order.
//!
//! On-disk format of a `key` table key (fixed width, big-endian so byte order
//! equals numeric order; this one field is big-endian for that reason and
//! matches etcd's layout byte for byte):
//!
//! ```text
//! offset 0..8   main, u64 big-endian (never negative)
//! offset 8      b'_'
//! offset 9..17  sub, u64 big-endian (never negative)
//! offset 17     b't' present only for a tombstone (a delete)
//! ```

/// Length of an encoded revision.
pub const REV_BYTES_LEN: usize = 17;
/// Length of an encoded revision with the tombstone mark.
pub const MARKED_REV_BYTES_LEN: usize = 18;
const TOMBSTONE_MARK: u8 = b't';

/// A revision: main (transaction) and sub (change within it). Ordered by
/// main, then sub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Revision {
    /// The write transaction's revision.
    pub main: i64,
    /// The change's position in its transaction.
    pub sub: i64,
}

impl Revision {
    /// Creates a revision.
    pub fn new(main: i64, sub: i64) -> Revision {
        Revision { main, sub }
    }

    /// The 17-byte encoding.
    pub fn to_bytes(self) -> [u8; REV_BYTES_LEN] {
        assert!(
            self.main >= 0 && self.sub >= 0,
            "negative revision {self:?}"
        );
        let mut b = [0u8; REV_BYTES_LEN];
        b[..8].copy_from_slice(&(self.main as u64).to_be_bytes());
        b[8] = b'_';
        b[9..].copy_from_slice(&(self.sub as u64).to_be_bytes());
        b
    }

    /// The `key` table key: the encoding, plus the tombstone mark if asked.
    pub fn to_key(self, tombstone: bool) -> Vec<u8> {
        let mut k = Vec::with_capacity(MARKED_REV_BYTES_LEN);
        k.extend_from_slice(&self.to_bytes());
        if tombstone {
            k.push(TOMBSTONE_MARK);
        }
        k
    }

    /// Decodes a `key` table key; returns the revision and whether it is a
    /// tombstone. Panics on a malformed key (a storage invariant).
    pub fn from_key(b: &[u8]) -> (Revision, bool) {
        assert!(
            (b.len() == REV_BYTES_LEN || b.len() == MARKED_REV_BYTES_LEN) && b[8] == b'_',
            "malformed revision key {b:?}"
        );
        let main = u64::from_be_bytes(b[..8].try_into().expect("8 bytes")) as i64;
        let sub = u64::from_be_bytes(b[9..17].try_into().expect("8 bytes")) as i64;
        let tombstone = b.len() == MARKED_REV_BYTES_LEN;
        assert!(
            !tombstone || b[17] == TOMBSTONE_MARK,
            "unknown revision mark {}",
            b[17]
        );
        (Revision { main, sub }, tombstone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_encoding() {
        let r = Revision::new(0x0102, 3);
        assert_eq!(
            r.to_key(false),
            vec![0, 0, 0, 0, 0, 0, 1, 2, b'_', 0, 0, 0, 0, 0, 0, 0, 3]
        );
        assert_eq!(
            r.to_key(true),
            vec![0, 0, 0, 0, 0, 0, 1, 2, b'_', 0, 0, 0, 0, 0, 0, 0, 3, b't']
        );
        assert_eq!(Revision::from_key(&r.to_key(false)), (r, false));
        assert_eq!(Revision::from_key(&r.to_key(true)), (r, true));
    }

    #[test]
    fn byte_order_is_revision_order() {
        let revs = [
            Revision::new(1, 0),
            Revision::new(1, 1),
            Revision::new(1, 256),
            Revision::new(2, 0),
            Revision::new(256, 0),
            Revision::new(i64::MAX, i64::MAX),
        ];
        for w in revs.windows(2) {
            assert!(w[0] < w[1]);
            assert!(w[0].to_key(false) < w[1].to_key(false));
            assert!(
                w[0].to_key(true) < w[1].to_key(false),
                "a tombstone sorts before the next revision"
            );
        }
    }

    #[test]
    #[should_panic(expected = "malformed revision key")]
    fn rejects_short_key() {
        Revision::from_key(b"short");
    }
}
