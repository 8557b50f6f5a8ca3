//! The one error type of this crate.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong in the WAL or the snapshot files.
///
/// An `Io` error from a mutating call (`save`, `save_snapshot`, `release_to`, `Snapshotter::save`)
/// is fatal for the caller: the member must stop, not retry (a failed fsync may have dropped
/// dirty pages, so the file's content is unknown). The `Wal` itself refuses further writes after
/// such a failure ([`WalError::Broken`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalError {
    /// An operating-system call failed.
    #[error("wal: {context}: {source}")]
    Io {
        /// What was being done, with the path involved.
        context: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Bytes that cannot be a torn tail are not valid records (bad CRC, bad framing, ...).
    #[error("wal: {reason} in {} at offset {offset}", segment.display())]
    Corrupt {
        /// The segment file holding the bad bytes.
        segment: PathBuf,
        /// Byte offset of the bad record inside `segment`.
        offset: u64,
        /// What is wrong, e.g. `crc mismatch`.
        reason: String,
    },
    /// Another process (or another `Wal` in this process) holds the lock on a segment.
    #[error("wal: file already locked: {}", path.display())]
    Locked {
        /// The locked segment.
        path: PathBuf,
    },
    /// `create` was called on a directory that already holds `*.wal` files.
    #[error("wal: a WAL already exists in {}", dir.display())]
    AlreadyExists {
        /// The directory.
        dir: PathBuf,
    },
    /// No segment holds the requested snapshot index, or the segments after it are not a
    /// contiguous sequence (etcd's `wal: file not found`).
    #[error("wal: file not found (no contiguous segments from index {index} in {})", dir.display())]
    SegmentNotFound {
        /// The WAL directory.
        dir: PathBuf,
        /// The snapshot index that was asked for.
        index: u64,
    },
    /// The log holds no snapshot record with the requested index.
    #[error("wal: snapshot not found")]
    SnapshotNotFound,
    /// The log holds a snapshot record with the requested index but another term.
    #[error("wal: snapshot mismatch")]
    SnapshotMismatch,
    /// Two segments carry different metadata.
    #[error("wal: conflicting metadata found")]
    MetadataConflict,
    /// A record payload is larger than [`crate::RECORD_PAYLOAD_BYTES_MAX`]. Nothing was written.
    #[error("wal: max entry size limit exceeded ({payload_bytes} bytes > {max_bytes})")]
    RecordTooLarge {
        /// The payload size asked for.
        payload_bytes: u64,
        /// The limit.
        max_bytes: u64,
    },
    /// An earlier write or sync failed; this `Wal` accepts no more writes.
    #[error("wal: unusable after an earlier write or sync failure")]
    Broken,
    /// A snapshot file could not be decoded (it is renamed to `*.broken` by `load_newest`).
    #[error("snap: {reason} in {}", path.display())]
    SnapCorrupt {
        /// The snapshot file.
        path: PathBuf,
        /// What is wrong, e.g. `crc mismatch`.
        reason: String,
    },
}

impl WalError {
    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> WalError {
        WalError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Adds context to `io::Result`s.
pub(crate) trait IoContext<T> {
    /// Maps the error to [`WalError::Io`] with a lazily built context.
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, WalError>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T, WalError> {
        self.map_err(|e| WalError::io(context(), e))
    }
}
