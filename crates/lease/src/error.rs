//! The lessor's errors. The server maps them to etcd's client-visible table
//! (`etcd_proto::EtcdError`).

/// An error of a lessor operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LeaseError {
    /// No lease with this id (or id 0, which means "no lease").
    #[error("lease not found")]
    NotFound,
    /// A lease with this id is already granted.
    #[error("lease already exists")]
    Exists,
    /// The requested TTL is above [`crate::MAX_LEASE_TTL_S`].
    #[error("too large lease TTL")]
    TtlTooLarge,
    /// Only the primary lessor (on the leader) renews leases.
    #[error("not a primary lessor")]
    NotPrimary,
    /// The lease is past its expiry and waits for its revoke to apply.
    #[error("lease expired, revoke pending")]
    Expired,
}
