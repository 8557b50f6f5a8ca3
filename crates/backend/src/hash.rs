//! Whole-backend hash (etcd's `backend.Hash`, behind Maintenance.Hash).
//!
//! A CRC-32C (Castagnoli) over every table in name order: the table's name,
//! then each (key, value) in key order, skipping `meta/consistent_index`
//! (members apply the same entries but persist the index at different
//! times, as in etcd's `DefaultIgnores`). Buffered writes are included, so
//! the hash does not depend on commit timing. Our table encodings differ
//! from etcd's bolt buckets in places, so the value differs from etcd's for
//! the same data; members of one etcd-rs cluster agree with each other.

use crate::backend::Backend;
use crate::crc32c::crc32c_update;
use crate::error::BackendError;
use crate::table::Table;

/// (table, key) pairs left out of [`Backend::hash`].
pub const HASH_IGNORED: &[(Table, &[u8])] = &[(Table::Meta, b"consistent_index")];

impl Backend {
    /// The hash of all tables (see the module docs), from one consistent view.
    pub fn hash(&self) -> Result<u32, BackendError> {
        let mut tables = Table::ALL;
        tables.sort_by_key(|t| t.name());
        let reader = self.read()?;
        let mut crc = 0u32;
        for t in tables {
            crc = crc32c_update(crc, t.name().as_bytes());
            reader.for_each(t, &[], None, |k, v| {
                if !HASH_IGNORED.iter().any(|(it, ik)| *it == t && *ik == k) {
                    crc = crc32c_update(crc, k);
                    crc = crc32c_update(crc, v);
                }
                true
            })?;
        }
        Ok(crc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BackendConfig;

    #[test]
    fn hash_covers_data_but_not_the_consistent_index_or_commit_timing() {
        let dir = tempfile::tempdir().unwrap();
        let a = Backend::open(&dir.path().join("a"), BackendConfig::default()).unwrap();
        let b = Backend::open(&dir.path().join("b"), BackendConfig::default()).unwrap();
        for be in [&a, &b] {
            be.put(Table::Key, b"k", b"v");
        }
        a.commit().unwrap();
        a.put(Table::Meta, b"consistent_index", &7u64.to_le_bytes());
        b.put(Table::Meta, b"consistent_index", &9u64.to_le_bytes());
        assert_eq!(a.hash().unwrap(), b.hash().unwrap());
        b.put(Table::Alarm, b"x", b"");
        assert_ne!(a.hash().unwrap(), b.hash().unwrap());
    }
}
