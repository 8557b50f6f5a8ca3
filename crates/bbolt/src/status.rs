//! `etcdctl snapshot status`: hash, revision, key count and size of a file.
//!
//! The hash is CRC-32C (Castagnoli) over, for each top-level bucket in name
//! order, the bucket name followed by each key and value in key order — the
//! same bytes etcd 3.4's `snapshot.Status` feeds its hasher, so the values
//! match for the same file. `revision` is the main revision of the last key
//! of bucket `key` (its first 8 bytes, big-endian).

use crate::error::BoltError;
use crate::reader::BoltReader;

/// What `snapshot status` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotStatus {
    /// CRC-32C over bucket names, keys and values.
    pub hash: u32,
    /// Main revision of the last key in bucket `key` (0 if none).
    pub revision: i64,
    /// Entries over all buckets.
    pub total_key: u64,
    /// Database size in bytes (pages × page size).
    pub total_size_bytes: u64,
}

/// Computes the status of an open file.
pub fn snapshot_status(db: &BoltReader) -> Result<SnapshotStatus, BoltError> {
    let mut crc = Crc32c::default();
    let mut status = SnapshotStatus {
        hash: 0,
        revision: 0,
        total_key: 0,
        total_size_bytes: db.size_bytes(),
    };
    for name in db.buckets()? {
        crc.update(&name);
        let is_key = name == b"key";
        db.for_each(&name, |k, v| {
            crc.update(k);
            crc.update(v);
            if is_key && k.len() >= 8 {
                status.revision = i64::from_be_bytes(k[..8].try_into().expect("8 bytes"));
            }
            status.total_key += 1;
            true
        })?;
    }
    status.hash = crc.finish();
    Ok(status)
}

/// Incremental CRC-32C.
#[derive(Default)]
struct Crc32c {
    state: u32,
}

impl Crc32c {
    fn update(&mut self, data: &[u8]) {
        self.state = crc32c::crc32c_append(self.state, data);
    }

    fn finish(&self) -> u32 {
        self.state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        let mut c = Crc32c::default();
        c.update(b"1234");
        c.update(b"56789");
        assert_eq!(c.finish(), 0xE306_9283);
    }
}
