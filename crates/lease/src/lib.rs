//! The lessor (etcd's `lease` package): leases with a TTL, keys attached to
//! them, expiry decided by the leader, checkpoints of remaining TTLs.
//!
//! Logic without I/O (STYLE.md §1–2): the [`Lessor`] keeps the lease table
//! in memory and reads time only through a [`Clock`]. Applied operations
//! (grant, revoke, checkpoint, attach/detach) change replicated state and
//! return what the caller persists ([`LeaseRecord`], the backend's `lease`
//! table, format in `record.rs`) or deletes (a revoked lease's keys, deleted
//! in one KV transaction). Leader operations (promote/demote, renew, the
//! expired and checkpoint queues) change only leader-local soft state.
//!
//! Invariants:
//! - A key is attached to at most one lease; `owners` and each lease's key
//!   set agree.
//! - Replicated state never depends on the clock, so members agree after
//!   applying the same entries; expiries exist only on the primary.
//! - Queues hold at most `2 × leases + 1024` entries (stale ones are
//!   dropped lazily, then by rebuilding).
//!
//! Module map: `clock` (seam), `record` (on-disk format), `lease` (one
//! lease), `queue` (timed min-queue), `spread` (pile-up spreading on
//! promotion), `lessor` (the public [`Lessor`]), `error`.

#![deny(missing_docs)]

mod clock;
mod error;
mod lease;
mod lessor;
mod queue;
mod record;
mod spread;

use std::time::Duration;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::LeaseError;
pub use lessor::{Lessor, LessorConfig, Renewal, TimeToLive};
pub use record::{lease_id_from_key, lease_key, LeaseRecord, LEASE_KEY_LEN};

/// The largest TTL a grant accepts, in seconds (etcd's `MaxLeaseTTL`).
pub const MAX_LEASE_TTL_S: i64 = 9_000_000_000;
/// Leases revoked per second at most (etcd's `leaseRevokeRate`).
pub const LEASE_REVOKE_RATE_PER_S: usize = 1000;
/// Checkpoints proposed per second at most (etcd's `leaseCheckpointRate`).
pub const LEASE_CHECKPOINT_RATE_PER_S: usize = 1000;
/// Checkpoints per proposed entry at most (etcd's `maxLeaseCheckpointBatchSize`).
pub const MAX_LEASE_CHECKPOINT_BATCH: usize = 1000;
/// Default checkpoint interval (etcd's `defaultLeaseCheckpointInterval`).
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// How long before an expired lease whose revoke did not apply is reported
/// again (etcd's `defaultExpiredleaseRetryInterval`).
pub const EXPIRED_LEASE_RETRY_INTERVAL: Duration = Duration::from_secs(3);
/// Period of the leader's expiry/checkpoint loop (etcd's 500 ms).
pub const LEASE_LOOP_INTERVAL: Duration = Duration::from_millis(500);
/// Revoke proposals in flight at once (etcd's `maxPendingRevokes`).
pub const MAX_PENDING_REVOKES: usize = 16;

/// etcd's minimum lease TTL: `ceil((3 × election_ticks / 2) × heartbeat)`
/// in seconds, long enough for a new leader to be elected before a lease
/// granted just before a leader loss could expire.
///
/// ```
/// // etcd's defaults: 100 ms heartbeat, 10 ticks per election → 2 s.
/// assert_eq!(etcd_lease::min_lease_ttl_s(10, 100), 2);
/// ```
pub fn min_lease_ttl_s(election_ticks: u64, heartbeat_ms: u64) -> i64 {
    let min_ms = (3 * election_ticks / 2) * heartbeat_ms;
    i64::try_from(min_ms.div_ceil(1000)).unwrap_or(i64::MAX)
}
