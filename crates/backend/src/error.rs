//! The backend's error type.

/// Errors from the storage backend. Any of them means the member must stop:
/// the backend never retries a failed write (fail-stop, see STYLE.md §5).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackendError {
    /// redb reported an error (I/O, corruption, ...).
    #[error("backend: {0}")]
    Redb(#[from] redb::Error),
    /// A previous commit failed; the buffered writes may not be durable, so
    /// no further commit is attempted.
    #[error("backend: an earlier commit failed; the backend is stopped")]
    Stopped,
    /// A defragmentation was abandoned; the database is unchanged.
    #[error("backend: defragmentation abandoned: {0}")]
    Defrag(String),
}

impl BackendError {
    /// Wraps any redb sub-error.
    pub(crate) fn redb(e: impl Into<redb::Error>) -> BackendError {
        BackendError::Redb(e.into())
    }
}
