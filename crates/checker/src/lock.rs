//! Lock safety: no two clients hold one lock at once, and holders are
//! ordered by their lock key's create revision (the fencing token).
//!
//! A hold lasts from the acquiring client learning it holds the lock (lock
//! acquired *and* its lease checked alive afterwards) to the client asking
//! to release it. A lock is only as safe as its lease: a client paused past
//! its lease's TTL may still believe it holds the lock. So two holds
//! conflict only if both ended while their leases were surely alive
//! (`released_invoke_ns < valid_until_ns`).

use crate::Violation;

/// One client's hold of the lock.
#[derive(Clone, Debug)]
pub struct LockHold {
    /// The client.
    pub client: u32,
    /// When the client knew it held the lock.
    pub acquired_ns: u64,
    /// When the Lock call was invoked.
    pub lock_invoke_ns: u64,
    /// When it asked to release (or stopped relying on) the lock.
    pub released_invoke_ns: u64,
    /// Before this instant its lease was surely alive (a refresh's
    /// invocation time plus the TTL it returned).
    pub valid_until_ns: u64,
    /// Create revision of its lock key.
    pub fencing_rev: i64,
}

/// Checks holds of one lock.
pub fn check_locks(holds: &[LockHold]) -> Vec<Violation> {
    let mut v = Vec::new();
    let mut sorted: Vec<&LockHold> = holds.iter().collect();
    sorted.sort_by_key(|h| h.acquired_ns);
    for (i, a) in sorted.iter().enumerate() {
        for b in &sorted[i + 1..] {
            let overlap = b.acquired_ns < a.released_invoke_ns;
            let both_valid =
                a.released_invoke_ns < a.valid_until_ns && b.released_invoke_ns < b.valid_until_ns;
            if overlap && both_valid {
                v.push(Violation::new(
                    "lock-overlap",
                    format!(
                        "client {} held the lock {}..{} ns (rev {}) while client {} held it from {} ns (rev {})",
                        a.client, a.acquired_ns, a.released_invoke_ns, a.fencing_rev, b.client, b.acquired_ns, b.fencing_rev
                    ),
                ));
            }
            if a.acquired_ns < b.lock_invoke_ns && a.fencing_rev >= b.fencing_rev {
                v.push(Violation::new(
                    "lock-fencing",
                    format!(
                        "client {} acquired (rev {}) before client {} asked, yet the later lock has rev {}",
                        a.client, a.fencing_rev, b.client, b.fencing_rev
                    ),
                ));
            }
        }
    }
    v
}
