//! The MVCC error type. The server maps each variant to etcd's exact client
//! message (`etcdserver: ...`) and gRPC code.

use etcd_backend::BackendError;

/// Errors of the key-value store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MvccError {
    /// The requested revision is older than the compaction point.
    #[error("mvcc: required revision has been compacted")]
    Compacted,
    /// The requested revision has not been written yet.
    #[error("mvcc: required revision is a future revision")]
    FutureRev,
    /// `ignore_value` / `ignore_lease` on a missing key, or an empty request op.
    #[error("key not found")]
    KeyNotFound,
    /// A put names a lease that does not exist.
    #[error("requested lease not found")]
    LeaseNotFound,
    /// A txn has more operations than allowed.
    #[error("too many operations in txn request")]
    TooManyOps,
    /// A txn writes the same key twice.
    #[error("duplicate key given in txn request")]
    DuplicateKey,
    /// A request without a key.
    #[error("key is not provided")]
    EmptyKey,
    /// A put with `ignore_value` also gives a value.
    #[error("value is provided")]
    ValueProvided,
    /// A put with `ignore_lease` also gives a lease.
    #[error("lease is provided")]
    LeaseProvided,
    /// The backend failed; the member must stop.
    #[error(transparent)]
    Backend(#[from] BackendError),
}
