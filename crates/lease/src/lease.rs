//! One lease: its replicated fields and the leader's soft state.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// A granted lease.
///
/// Replicated (identical on every member, changed only by applied entries):
/// `ttl_s`, `remaining_ttl_s`, `keys`. Leader-local soft state: `expiry`
/// (`None` means "never", the state of every lease on a non-primary lessor)
/// and the instants of this lease's live queue entries.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    pub(crate) ttl_s: i64,
    pub(crate) remaining_ttl_s: i64,
    pub(crate) expiry: Option<Instant>,
    pub(crate) expiry_queued_at: Option<Instant>,
    pub(crate) checkpoint_at: Option<Instant>,
    pub(crate) keys: BTreeSet<Vec<u8>>,
}

impl Lease {
    pub(crate) fn new(ttl_s: i64, remaining_ttl_s: i64) -> Lease {
        Lease {
            ttl_s,
            remaining_ttl_s,
            expiry: None,
            expiry_queued_at: None,
            checkpoint_at: None,
            keys: BTreeSet::new(),
        }
    }

    /// The TTL a refresh grants: the checkpointed remaining TTL if one is
    /// recorded, else the full TTL (etcd's `RemainingTTL()`).
    pub(crate) fn effective_ttl_s(&self) -> i64 {
        if self.remaining_ttl_s > 0 {
            self.remaining_ttl_s
        } else {
            self.ttl_s
        }
    }

    /// Sets the expiry to `now + extend + ttl_s` seconds.
    pub(crate) fn refresh(&mut self, now: Instant, extend: Duration, ttl_s: i64) {
        let ttl = Duration::from_secs(u64::try_from(ttl_s).unwrap_or(0));
        // A TTL beyond what `Instant` can hold never expires in practice.
        self.expiry = now.checked_add(extend + ttl);
    }

    /// Nanoseconds until expiry (negative once past it); `i64::MAX` when
    /// the lease never expires (etcd: `math.MaxInt64` duration).
    pub(crate) fn remaining_ns(&self, now: Instant) -> i64 {
        match self.expiry {
            None => i64::MAX,
            Some(e) if e >= now => i64::try_from((e - now).as_nanos()).unwrap_or(i64::MAX),
            Some(e) => -i64::try_from((now - e).as_nanos()).unwrap_or(i64::MAX),
        }
    }

    /// Whether the lease is past its expiry (never, when not primary).
    pub(crate) fn expired(&self, now: Instant) -> bool {
        self.remaining_ns(now) <= 0
    }
}
