//! The crate's one error type.

/// What can go wrong reading or writing a bbolt file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BoltError {
    /// File system error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Not a bbolt file (bad magic, unsupported version, or both meta pages invalid).
    #[error("invalid database: {0}")]
    Invalid(String),
    /// The file ends before the pages its meta page says it holds.
    #[error("truncated database: need {need_bytes} bytes, file has {have_bytes}")]
    Truncated {
        /// Bytes the meta page claims.
        need_bytes: u64,
        /// Bytes the file has.
        have_bytes: u64,
    },
    /// A page is malformed.
    #[error("corrupt database: page {pgid}: {reason}")]
    Corrupt {
        /// The page.
        pgid: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// No top-level bucket with this name.
    #[error("bucket {0:?} not found")]
    BucketNotFound(String),
    /// The writer was given buckets or keys out of order (or duplicated).
    #[error("out of order: {0}")]
    Unsorted(String),
    /// A key, value or node does not fit the format's limits.
    #[error("too large: {0}")]
    TooLarge(String),
}
