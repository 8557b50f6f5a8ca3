//! HashKV: a CRC-32C (Castagnoli) over the `key` table as of a revision, to
//! detect divergence between members (etcd's HashByRev).
//!
//! The hash covers the table name `key`, then every (revision key, value)
//! pair in revision order with `main <= rev`, skipping revisions at or below
//! the compaction point that a compaction at `rev` would not keep. Members
//! that applied the same entries produce the same hash whatever their commit
//! timing.

use etcd_backend::{Backend, Table};

use crate::error::MvccError;
use crate::revision::Revision;
use crate::store::State;

/// CRC-32C lookup table (reflected polynomial 0x82F63B78).
const CRC32C_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82F6_3B78
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// An incremental CRC-32C.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Crc32c(u32);

impl Crc32c {
    pub(crate) fn new() -> Crc32c {
        Crc32c(!0)
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        let mut c = self.0;
        for &b in data {
            c = CRC32C_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
        }
        self.0 = c;
    }

    pub(crate) fn finish(self) -> u32 {
        !self.0
    }
}

/// The hash at `rev` (0: current revision) and the compaction revision.
pub(crate) fn hash_kv(backend: &Backend, state: &State, rev: i64) -> Result<(u32, i64), MvccError> {
    let compact_rev = state.compact_rev;
    if rev > 0 && rev <= compact_rev {
        return Err(MvccError::Compacted);
    }
    if rev > 0 && rev > state.current_rev {
        return Err(MvccError::FutureRev);
    }
    let rev = if rev == 0 { state.current_rev } else { rev };
    let keep = state.index.keep(rev);
    let upper = Revision::new(rev + 1, 0);
    let lower = Revision::new(compact_rev + 1, 0);
    let mut crc = Crc32c::new();
    crc.update(Table::Key.name().as_bytes());
    backend.read()?.for_each(Table::Key, &[], None, |k, v| {
        let (r, _) = Revision::from_key(k);
        if r >= upper {
            return false;
        }
        if r < lower && !keep.is_empty() && !keep.contains(&r) {
            return true;
        }
        crc.update(k);
        crc.update(v);
        true
    })?;
    Ok((crc.finish(), compact_rev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_values() {
        let mut c = Crc32c::new();
        c.update(b"123456789");
        assert_eq!(c.finish(), 0xE306_9283, "the standard CRC-32C check value");
        let mut c = Crc32c::new();
        c.update(b"key");
        assert_eq!(
            c.finish(),
            1_084_519_789,
            "etcd 3.4's HashKV of an empty store"
        );
    }
}
