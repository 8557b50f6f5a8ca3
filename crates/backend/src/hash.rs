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
use crate::error::BackendError;
use crate::table::Table;

/// (table, key) pairs left out of [`Backend::hash`].
pub const HASH_IGNORED: &[(Table, &[u8])] = &[(Table::Meta, b"consistent_index")];

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

fn crc32c_update(crc: u32, data: &[u8]) -> u32 {
    let mut c = !crc;
    for &b in data {
        c = CRC32C_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

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
    fn crc32c_check_value() {
        assert_eq!(crc32c_update(0, b"123456789"), 0xE306_9283);
        let split = crc32c_update(crc32c_update(0, b"1234"), b"56789");
        assert_eq!(split, 0xE306_9283, "incremental updates chain");
    }

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
