//! The persisted form of a lease: one entry of the backend's `lease` table.
//!
//! Format (etcd's, so a data dir's lease table reads the same):
//! - key: the lease id as 8 bytes, big-endian two's complement (etcd's
//!   `int64ToBytes`). Big-endian rather than our usual little-endian so the
//!   table iterates in id order, exactly like etcd's bucket.
//! - value: protobuf `leasepb.Lease { int64 ID = 1; int64 TTL = 2;
//!   int64 RemainingTTL = 3; }` (proto3: zero fields are omitted).
//!
//! `RemainingTTL` is 0 unless a checkpoint recorded one and checkpoints are
//! persisted (`--experimental-enable-lease-checkpoint-persist`).
//! `tests/golden.rs` pins both encodings.

use prost::Message;

/// Length of a lease-table key.
pub const LEASE_KEY_LEN: usize = 8;

/// `leasepb.Lease`: what the backend keeps per lease.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct LeaseRecord {
    /// The lease id.
    #[prost(int64, tag = "1")]
    pub id: i64,
    /// The granted TTL in seconds (after the minimum TTL was applied).
    #[prost(int64, tag = "2")]
    pub ttl_s: i64,
    /// The last checkpointed remaining TTL in seconds; 0 means unset.
    #[prost(int64, tag = "3")]
    pub remaining_ttl_s: i64,
}

impl LeaseRecord {
    /// The table key of this lease.
    pub fn key(&self) -> [u8; LEASE_KEY_LEN] {
        lease_key(self.id)
    }

    /// The table value (protobuf).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    /// Decodes a table value; `None` if it is not a valid `leasepb.Lease`.
    pub fn from_bytes(value: &[u8]) -> Option<LeaseRecord> {
        LeaseRecord::decode(value).ok()
    }
}

/// The table key of lease `id`.
pub fn lease_key(id: i64) -> [u8; LEASE_KEY_LEN] {
    id.to_be_bytes()
}

/// The lease id of a table key; `None` if the key is not 8 bytes.
pub fn lease_id_from_key(key: &[u8]) -> Option<i64> {
    <[u8; LEASE_KEY_LEN]>::try_from(key)
        .ok()
        .map(i64::from_be_bytes)
}
