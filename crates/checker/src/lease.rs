//! Lease safety: a key attached to a lease disappears with it.
//! - revoked: once a `LeaseRevoke` was acknowledged, no read invoked later
//!   sees the key;
//! - expired: no read invoked after the lease's latest possible expiry plus
//!   an allowed bound sees the key. The latest possible expiry is the last
//!   refresh (grant or keep-alive answered) plus the TTL, or, if later, the
//!   end of the last disturbance (a leader change extends every lease by its
//!   TTL, as etcd's lessor does on promotion) plus the TTL.

use crate::Violation;

/// A read of a leased key.
#[derive(Clone, Debug)]
pub struct LeaseRead {
    /// Invocation time.
    pub invoke_ns: u64,
    /// Completion time.
    pub complete_ns: u64,
    /// Whether the key was there (with this lease).
    pub present: bool,
}

/// Everything about one lease and its key.
#[derive(Clone, Debug, Default)]
pub struct LeaseLog {
    /// Lease id.
    pub lease_id: i64,
    /// The key attached to it.
    pub key: String,
    /// Granted TTL in seconds.
    pub ttl_secs: i64,
    /// Completion time of the last answered grant or keep-alive.
    pub last_refresh_complete_ns: u64,
    /// Completion time of an acknowledged revoke, if any.
    pub revoked_complete_ns: Option<u64>,
    /// Linearizable reads of the key.
    pub reads: Vec<LeaseRead>,
}

/// Checks every lease; `disturbed_until_ns` is when the last fault that
/// could move leadership ended, `slack_ns` the allowed bound.
pub fn check_leases(leases: &[LeaseLog], disturbed_until_ns: u64, slack_ns: u64) -> Vec<Violation> {
    let mut v = Vec::new();
    for l in leases {
        let ttl_ns = u64::try_from(l.ttl_secs).unwrap_or(0) * 1_000_000_000;
        let deadline = l.last_refresh_complete_ns.max(disturbed_until_ns) + ttl_ns + slack_ns;
        for r in l.reads.iter().filter(|r| r.present) {
            if let Some(t) = l.revoked_complete_ns {
                if r.invoke_ns > t {
                    v.push(Violation::new(
                        "lease-revoked",
                        format!("key {} of lease {:x} read at {} ns, after its revoke was acknowledged at {t} ns", l.key, l.lease_id, r.invoke_ns),
                    ));
                }
            }
            if r.invoke_ns > deadline {
                v.push(Violation::new(
                    "lease-outlived",
                    format!(
                        "key {} of lease {:x} (ttl {} s) read at {} ns, after its latest expiry + bound {deadline} ns",
                        l.key, l.lease_id, l.ttl_secs, r.invoke_ns
                    ),
                ));
            }
        }
    }
    v
}
