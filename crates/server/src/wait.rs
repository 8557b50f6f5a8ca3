//! Proposers waiting for their entry to be applied, keyed by request id.
//! The applier triggers each id at most once; a proposer that gives up
//! (timeout) removes its id so the map stays bounded by in-flight requests.

use std::collections::HashMap;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::apply::ApplyResult;

/// Registry of in-flight proposals.
#[derive(Default)]
pub struct Wait {
    waiters: Mutex<HashMap<u64, oneshot::Sender<ApplyResult>>>,
}

impl Wait {
    /// Registers `id`; the receiver resolves when the entry is applied.
    pub fn register(&self, id: u64) -> oneshot::Receiver<ApplyResult> {
        let (tx, rx) = oneshot::channel();
        let old = self.waiters.lock().insert(id, tx);
        assert!(old.is_none(), "duplicate request id {id:x}");
        rx
    }

    /// Delivers the result for `id`, if someone still waits.
    pub fn trigger(&self, id: u64, result: ApplyResult) {
        if let Some(tx) = self.waiters.lock().remove(&id) {
            let _ = tx.send(result);
        }
    }

    /// Forgets `id` (its proposer gave up).
    pub fn cancel(&self, id: u64) {
        self.waiters.lock().remove(&id);
    }

    /// Number of proposals in flight.
    pub fn len(&self) -> usize {
        self.waiters.lock().len()
    }

    /// True when nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Request ids like etcd's `idutil.Generator`: the member id's low 16 bits,
/// then milliseconds since the epoch, then a counter, so ids stay unique
/// across restarts and members.
pub struct IdGenerator {
    next: std::sync::atomic::AtomicU64,
}

impl IdGenerator {
    /// A generator for `member_id`, seeded from the wall clock.
    pub fn new(member_id: u64) -> IdGenerator {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let prefix = (member_id & 0xffff) << 48;
        let suffix = (ms & 0xff_ffff_ffff) << 8;
        IdGenerator { next: std::sync::atomic::AtomicU64::new(prefix | suffix) }
    }

    /// The next id.
    pub fn next(&self) -> u64 {
        self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1
    }
}
