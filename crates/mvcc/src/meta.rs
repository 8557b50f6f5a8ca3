//! Store metadata kept in the backend's `meta` table.
//!
//! On-disk format (fixed width, little-endian):
//!
//! | key                   | value                                    |
//! |-----------------------|------------------------------------------|
//! | `consistent_index`    | u64 LE: last applied Raft index          |
//! | `scheduledCompactRev` | i64 LE: compaction requested up to here  |
//! | `finishedCompactRev`  | i64 LE: compaction completed up to here  |
//!
//! The consistent index is written in the same backend batch as the changes
//! of the entry it names, so after a crash the WAL is replayed from exactly
//! the first entry whose effects were lost.

use etcd_backend::{Backend, BackendError, Table};

/// Key of the last applied Raft index.
pub const CONSISTENT_INDEX_KEY: &[u8] = b"consistent_index";
/// Key of the last scheduled compaction revision.
pub const SCHEDULED_COMPACT_KEY: &[u8] = b"scheduledCompactRev";
/// Key of the last finished compaction revision.
pub const FINISHED_COMPACT_KEY: &[u8] = b"finishedCompactRev";

/// Buffers the consistent index.
pub fn put_consistent_index(b: &Backend, index: u64) {
    b.put(Table::Meta, CONSISTENT_INDEX_KEY, &index.to_le_bytes());
}

/// Reads the consistent index (0 if never written).
pub fn consistent_index(b: &Backend) -> Result<u64, BackendError> {
    Ok(b.get(Table::Meta, CONSISTENT_INDEX_KEY)?
        .map_or(0, |v| u64::from_le_bytes(fixed8(&v))))
}

/// Buffers a compaction revision under `key`.
pub fn put_rev(b: &Backend, key: &[u8], rev: i64) {
    b.put(Table::Meta, key, &rev.to_le_bytes());
}

/// Reads a compaction revision stored under `key`.
pub fn rev(b: &Backend, key: &[u8]) -> Result<Option<i64>, BackendError> {
    Ok(b.get(Table::Meta, key)?
        .map(|v| i64::from_le_bytes(fixed8(&v))))
}

fn fixed8(v: &[u8]) -> [u8; 8] {
    v.try_into()
        .unwrap_or_else(|_| panic!("meta value of {} bytes, want 8", v.len()))
}
