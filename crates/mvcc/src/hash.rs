//! HashKV: a CRC-32C (Castagnoli) over the `key` table as of a revision, to
//! detect divergence between members (etcd's HashByRev).
//!
//! The hash covers the table name `key`, then every (revision key, value)
//! pair in revision order with `main <= rev`, skipping revisions at or below
//! the compaction point that a compaction at `rev` would not keep. Members
//! that applied the same entries produce the same hash whatever their commit
//! timing.

use etcd_backend::{crc32c_update, Backend, Table};

use crate::error::MvccError;
use crate::revision::Revision;
use crate::store::State;

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
    let mut crc = crc32c_update(0, Table::Key.name().as_bytes());
    backend.read()?.for_each(Table::Key, &[], None, |k, v| {
        let (r, _) = Revision::from_key(k);
        if r >= upper {
            return false;
        }
        if r < lower && !keep.is_empty() && !keep.contains(&r) {
            return true;
        }
        crc = crc32c_update(crc, k);
        crc = crc32c_update(crc, v);
        true
    })?;
    Ok((crc, compact_rev))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_store_hash_matches_etcd() {
        assert_eq!(
            crc32c_update(0, Table::Key.name().as_bytes()),
            1_084_519_789,
            "etcd 3.4's HashKV of an empty store"
        );
    }
}
