//! The clock seam (STYLE.md §2). The lessor reads time only through
//! [`Clock`], so tests drive expiry with [`ManualClock`] instead of sleeping.
//!
//! Only leader-local soft state (expiry instants, checkpoint schedule) ever
//! depends on the clock; what is replicated and persisted (id, TTL, remaining
//! TTL, attached keys) never does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A monotonic time source.
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    base: Instant,
    offset_ns: AtomicU64,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl ManualClock {
    /// A clock standing at an arbitrary instant.
    pub fn new() -> ManualClock {
        ManualClock {
            base: Instant::now(),
            offset_ns: AtomicU64::new(0),
        }
    }

    /// Moves time forward by `d`.
    pub fn advance(&self, d: Duration) {
        let ns = u64::try_from(d.as_nanos()).expect("advance fits in u64 nanoseconds");
        self.offset_ns.fetch_add(ns, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.base + Duration::from_nanos(self.offset_ns.load(Ordering::SeqCst))
    }
}
