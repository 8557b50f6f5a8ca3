//! [`Lessor`]: the lease table, the expiry queue and the checkpoint schedule.
//!
//! Two kinds of callers, two kinds of state:
//! - The applier calls [`Lessor::grant`], [`Lessor::revoke`],
//!   [`Lessor::checkpoint`], [`Lessor::attach`] / [`Lessor::detach`] in log
//!   order. These change only replicated state, identically on every member,
//!   and return what the caller must persist or delete; the lessor itself
//!   does no I/O.
//! - The leader's loop and the API call [`Lessor::promote`] /
//!   [`Lessor::demote`], [`Lessor::renew`], [`Lessor::expired_leases`],
//!   [`Lessor::due_checkpoints`]. These read the [`Clock`] and change only
//!   soft state (expiries, schedules) that no other member sees.
//!
//! A lessor is *primary* between `promote` and `demote`: only then do leases
//! have an expiry and can be renewed. A non-primary lessor keeps every lease
//! alive forever; expiry is the leader's decision, carried out by proposing
//! `LeaseRevoke` through Raft (so apply stays deterministic).
//!
//! One mutex guards everything; no method calls out while holding it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::clock::Clock;
use crate::error::LeaseError;
use crate::lease::Lease;
use crate::queue::TimedQueue;
use crate::record::LeaseRecord;
use crate::spread::pile_up_delays_ns;
use crate::{EXPIRED_LEASE_RETRY_INTERVAL, LEASE_REVOKE_RATE_PER_S, MAX_LEASE_TTL_S};

/// How a lessor behaves.
#[derive(Debug, Clone)]
pub struct LessorConfig {
    /// TTLs below this are raised to it (etcd's `minLeaseTTL`, see
    /// [`crate::min_lease_ttl_s`]).
    pub min_ttl_s: i64,
    /// Checkpoint interval; `None` disables checkpoints (etcd without
    /// `--experimental-enable-lease-checkpoint`).
    pub checkpoint_interval: Option<Duration>,
    /// Whether applied checkpoints are persisted, so remaining TTLs survive
    /// a restart (`--experimental-enable-lease-checkpoint-persist`).
    pub checkpoint_persist: bool,
    /// How long an expired lease waits before it is reported again if its
    /// revoke did not apply (etcd: 3 s).
    pub expired_retry_interval: Duration,
    /// Leases that may expire per second before promotion spreads expiries
    /// (etcd's `leaseRevokeRate`).
    pub revoke_rate_per_s: usize,
}

impl Default for LessorConfig {
    fn default() -> Self {
        LessorConfig {
            min_ttl_s: 0,
            checkpoint_interval: None,
            checkpoint_persist: false,
            expired_retry_interval: EXPIRED_LEASE_RETRY_INTERVAL,
            revoke_rate_per_s: LEASE_REVOKE_RATE_PER_S,
        }
    }
}

/// A successful renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewal {
    /// The lease's TTL in seconds: what the keep-alive answers.
    pub ttl_s: i64,
    /// A checkpointed remaining TTL is recorded and must be cleared by
    /// proposing a checkpoint with remaining TTL 0 (etcd does this so the
    /// next leader does not resurrect a stale remaining TTL).
    pub clear_checkpoint: bool,
}

/// A lease's time to live, as `LeaseTimeToLive` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeToLive {
    /// Whole seconds until expiry, truncated toward zero (negative or 0 once
    /// expired; `i64::MAX / 1e9` on a non-primary lessor, as etcd).
    pub remaining_s: i64,
    /// The granted TTL in seconds.
    pub granted_ttl_s: i64,
    /// Attached keys in key order (empty unless asked for).
    pub keys: Vec<Vec<u8>>,
}

#[derive(Debug, Default)]
struct State {
    leases: HashMap<i64, Lease>,
    /// key → the lease it is attached to.
    owners: HashMap<Vec<u8>, i64>,
    primary: bool,
    expiries: TimedQueue,
    checkpoints: TimedQueue,
}

/// The lessor. `Send + Sync`; share it behind an `Arc`.
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// use etcd_lease::{Lessor, LessorConfig, ManualClock};
/// let clock = Arc::new(ManualClock::new());
/// let lessor = Lessor::new(LessorConfig { min_ttl_s: 2, ..Default::default() }, clock.clone());
/// lessor.promote(Duration::ZERO);
/// assert_eq!(lessor.grant(7, 1).unwrap().ttl_s, 2); // raised to the minimum
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(lessor.expired_leases(10), vec![7]);
/// ```
pub struct Lessor {
    cfg: LessorConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

impl std::fmt::Debug for Lessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.lock();
        f.debug_struct("Lessor")
            .field("leases", &s.leases.len())
            .field("primary", &s.primary)
            .finish()
    }
}

impl Lessor {
    /// An empty, non-primary lessor.
    pub fn new(cfg: LessorConfig, clock: Arc<dyn Clock>) -> Lessor {
        Lessor {
            cfg,
            clock,
            state: Mutex::new(State::default()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LessorConfig {
        &self.cfg
    }

    /// Replaces all state with persisted leases and the keys attached to
    /// them (from the KV store). The lessor becomes non-primary; TTLs below
    /// the minimum are raised. Returns the keys whose lease is unknown (not
    /// attached), which a consistent backend never has.
    pub fn restore(
        &self,
        records: impl IntoIterator<Item = LeaseRecord>,
        keys: impl IntoIterator<Item = (i64, Vec<u8>)>,
    ) -> Vec<(i64, Vec<u8>)> {
        let mut s = self.state.lock();
        *s = State::default();
        for r in records {
            let ttl_s = r.ttl_s.max(self.cfg.min_ttl_s);
            s.leases.insert(r.id, Lease::new(ttl_s, r.remaining_ttl_s));
        }
        let mut orphans = Vec::new();
        for (id, key) in keys {
            match s.leases.get_mut(&id) {
                Some(l) => {
                    l.keys.insert(key.clone());
                    s.owners.insert(key, id);
                }
                None => orphans.push((id, key)),
            }
        }
        orphans
    }

    // ---- applied (replicated) operations ----

    /// Grants lease `id` with `ttl_s` (raised to the minimum). Returns the
    /// record to persist.
    pub fn grant(&self, id: i64, ttl_s: i64) -> Result<LeaseRecord, LeaseError> {
        if id == 0 {
            return Err(LeaseError::NotFound);
        }
        if ttl_s > MAX_LEASE_TTL_S {
            return Err(LeaseError::TtlTooLarge);
        }
        let now = self.clock.now();
        let mut s = self.state.lock();
        if s.leases.contains_key(&id) {
            return Err(LeaseError::Exists);
        }
        let ttl_s = ttl_s.max(self.cfg.min_ttl_s);
        let mut lease = Lease::new(ttl_s, 0);
        if s.primary {
            lease.refresh(now, Duration::ZERO, ttl_s);
        }
        s.leases.insert(id, lease);
        if s.primary {
            self.schedule_expiry(&mut s, id);
            self.schedule_checkpoint(&mut s, id);
        }
        Ok(LeaseRecord {
            id,
            ttl_s,
            remaining_ttl_s: 0,
        })
    }

    /// Removes lease `id` and its key attachments. Returns the attached keys
    /// in key order: the caller deletes them in one KV transaction together
    /// with the lease's record, so every member deletes the same keys in the
    /// same order.
    pub fn revoke(&self, id: i64) -> Result<Vec<Vec<u8>>, LeaseError> {
        let mut s = self.state.lock();
        let lease = s.leases.remove(&id).ok_or(LeaseError::NotFound)?;
        for k in &lease.keys {
            s.owners.remove(k);
        }
        Ok(lease.keys.into_iter().collect())
    }

    /// Records a checkpointed remaining TTL (0 clears it). Returns the record
    /// to persist when checkpoints are persisted; `None` for an unknown lease.
    pub fn checkpoint(&self, id: i64, remaining_ttl_s: i64) -> Option<LeaseRecord> {
        let mut s = self.state.lock();
        let lease = s.leases.get_mut(&id)?;
        lease.remaining_ttl_s = remaining_ttl_s;
        let record = LeaseRecord {
            id,
            ttl_s: lease.ttl_s,
            remaining_ttl_s,
        };
        if s.primary {
            self.schedule_checkpoint(&mut s, id);
        }
        self.cfg.checkpoint_persist.then_some(record)
    }

    /// Attaches `key` to lease `id`, moving it from any other lease.
    pub fn attach(&self, id: i64, key: &[u8]) -> Result<(), LeaseError> {
        let mut s = self.state.lock();
        if !s.leases.contains_key(&id) {
            return Err(LeaseError::NotFound);
        }
        if let Some(old) = s.owners.insert(key.to_vec(), id) {
            if old != id {
                if let Some(l) = s.leases.get_mut(&old) {
                    l.keys.remove(key);
                }
            }
        }
        s.leases
            .get_mut(&id)
            .expect("checked above")
            .keys
            .insert(key.to_vec());
        Ok(())
    }

    /// Detaches `key` from lease `id` (nothing if it is not attached there).
    pub fn detach(&self, id: i64, key: &[u8]) {
        let mut s = self.state.lock();
        if s.owners.get(key) == Some(&id) {
            s.owners.remove(key);
        }
        if let Some(l) = s.leases.get_mut(&id) {
            l.keys.remove(key);
        }
    }

    // ---- reads ----

    /// Whether lease `id` is granted.
    pub fn exists(&self, id: i64) -> bool {
        self.state.lock().leases.contains_key(&id)
    }

    /// The lease `key` is attached to, 0 if none.
    pub fn lease_of(&self, key: &[u8]) -> i64 {
        self.state.lock().owners.get(key).copied().unwrap_or(0)
    }

    /// Number of granted leases.
    pub fn len(&self) -> usize {
        self.state.lock().leases.len()
    }

    /// Whether no lease is granted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The persisted form of lease `id`.
    pub fn record(&self, id: i64) -> Option<LeaseRecord> {
        let s = self.state.lock();
        s.leases.get(&id).map(|l| LeaseRecord {
            id,
            ttl_s: l.ttl_s,
            remaining_ttl_s: l.remaining_ttl_s,
        })
    }

    /// Lease `id`'s time to live; `None` if it is not granted.
    pub fn time_to_live(&self, id: i64, with_keys: bool) -> Option<TimeToLive> {
        let now = self.clock.now();
        let s = self.state.lock();
        let l = s.leases.get(&id)?;
        Some(TimeToLive {
            // Go's int64(d.Seconds()): truncation toward zero.
            remaining_s: l.remaining_ns(now) / 1_000_000_000,
            granted_ttl_s: l.ttl_s,
            keys: if with_keys {
                l.keys.iter().cloned().collect()
            } else {
                Vec::new()
            },
        })
    }

    /// Every lease id, soonest expiry first (ties by id).
    pub fn leases(&self) -> Vec<i64> {
        let now = self.clock.now();
        let s = self.state.lock();
        let mut v: Vec<(i64, i64)> = s
            .leases
            .iter()
            .map(|(id, l)| (l.remaining_ns(now), *id))
            .collect();
        v.sort_unstable();
        v.into_iter().map(|(_, id)| id).collect()
    }

    // ---- leader-side operations ----

    /// Whether this lessor is primary (its member leads).
    pub fn is_primary(&self) -> bool {
        self.state.lock().primary
    }

    /// Becomes primary: every lease expires `extend` plus its (checkpointed
    /// remaining, else full) TTL from now; piled-up expiries are spread so no
    /// second needs more than 3/4 of the revoke rate.
    pub fn promote(&self, extend: Duration) {
        let now = self.clock.now();
        let mut s = self.state.lock();
        s.primary = true;
        s.expiries.clear();
        s.checkpoints.clear();
        let ids: Vec<i64> = s.leases.keys().copied().collect();
        for &id in &ids {
            let l = s.leases.get_mut(&id).expect("listed above");
            let ttl = l.effective_ttl_s();
            l.refresh(now, extend, ttl);
            l.checkpoint_at = None;
            self.schedule_expiry(&mut s, id);
            self.schedule_checkpoint(&mut s, id);
        }
        if ids.len() < self.cfg.revoke_rate_per_s {
            return;
        }
        let mut by_remaining: Vec<(i64, i64)> = ids
            .iter()
            .map(|id| (s.leases[id].remaining_ns(now), *id))
            .collect();
        by_remaining.sort_unstable();
        let remaining: Vec<i64> = by_remaining.iter().map(|(r, _)| *r).collect();
        for ((_, id), delay) in by_remaining
            .iter()
            .zip(pile_up_delays_ns(&remaining, self.cfg.revoke_rate_per_s))
        {
            let Some(delay_ns) = delay else { continue };
            let l = s.leases.get_mut(id).expect("listed above");
            let ttl = l.effective_ttl_s();
            l.refresh(
                now,
                extend + Duration::from_nanos(delay_ns.max(0) as u64),
                ttl,
            );
            self.schedule_expiry(&mut s, *id);
        }
    }

    /// Stops being primary: leases never expire here until the next promote.
    pub fn demote(&self) {
        let mut s = self.state.lock();
        s.primary = false;
        s.expiries.clear();
        s.checkpoints.clear();
        for l in s.leases.values_mut() {
            l.expiry = None;
            l.expiry_queued_at = None;
            l.checkpoint_at = None;
        }
    }

    /// Renews lease `id`: it now expires its full TTL from now.
    ///
    /// `NotPrimary` off the leader, `NotFound` for an unknown lease,
    /// `Expired` for a lease past its expiry whose revoke has not applied
    /// yet (the caller waits for it, then answers not found, as etcd does).
    pub fn renew(&self, id: i64) -> Result<Renewal, LeaseError> {
        let now = self.clock.now();
        let mut s = self.state.lock();
        if !s.primary {
            return Err(LeaseError::NotPrimary);
        }
        let l = s.leases.get_mut(&id).ok_or(LeaseError::NotFound)?;
        if l.expired(now) {
            return Err(LeaseError::Expired);
        }
        let clear_checkpoint = self.cfg.checkpoint_interval.is_some() && l.remaining_ttl_s > 0;
        let ttl_s = l.ttl_s;
        l.refresh(now, Duration::ZERO, ttl_s);
        self.schedule_expiry(&mut s, id);
        Ok(Renewal {
            ttl_s,
            clear_checkpoint,
        })
    }

    /// Up to `limit` leases past their expiry, soonest first. Each reported
    /// lease is reported again after `expired_retry_interval` if it still
    /// exists (its revoke proposal may have been lost).
    pub fn expired_leases(&self, limit: usize) -> Vec<i64> {
        let now = self.clock.now();
        let mut s = self.state.lock();
        let mut out = Vec::new();
        if !s.primary {
            return out;
        }
        while out.len() < limit {
            let Some((at, id)) = s.expiries.peek() else {
                break;
            };
            let live = s
                .leases
                .get(&id)
                .is_some_and(|l| l.expiry_queued_at == Some(at));
            if !live {
                s.expiries.pop();
                continue;
            }
            if at > now {
                break;
            }
            s.expiries.pop();
            let retry_at = now + self.cfg.expired_retry_interval;
            s.expiries.push(retry_at, id);
            let l = s.leases.get_mut(&id).expect("checked live");
            l.expiry_queued_at = Some(retry_at);
            if l.expired(now) {
                out.push(id);
            }
        }
        out
    }

    /// Up to `limit` due checkpoints as `(lease id, remaining TTL in whole
    /// seconds, rounded up)`, for the leader to propose. Leases whose
    /// remaining time is not below their TTL need none.
    pub fn due_checkpoints(&self, limit: usize) -> Vec<(i64, i64)> {
        let now = self.clock.now();
        let mut s = self.state.lock();
        let mut out = Vec::new();
        if !s.primary || self.cfg.checkpoint_interval.is_none() {
            return out;
        }
        while out.len() < limit {
            let Some((at, id)) = s.checkpoints.peek() else {
                break;
            };
            if at > now {
                break;
            }
            s.checkpoints.pop();
            let Some(l) = s.leases.get_mut(&id) else {
                continue;
            };
            if l.checkpoint_at != Some(at) {
                continue;
            }
            l.checkpoint_at = None;
            let Some(expiry) = l.expiry else { continue };
            if now >= expiry {
                continue;
            }
            let remaining_s = i64::try_from((expiry - now).as_nanos().div_ceil(1_000_000_000))
                .unwrap_or(i64::MAX);
            if remaining_s >= l.ttl_s {
                continue;
            }
            out.push((id, remaining_s));
        }
        out
    }

    fn schedule_expiry(&self, s: &mut State, id: i64) {
        let l = s.leases.get_mut(&id).expect("scheduling a granted lease");
        let Some(at) = l.expiry else { return };
        l.expiry_queued_at = Some(at);
        s.expiries.push(at, id);
        if s.expiries.needs_compaction(s.leases.len()) {
            let leases = &s.leases;
            s.expiries.retain(|t, id| {
                leases
                    .get(&id)
                    .is_some_and(|l| l.expiry_queued_at == Some(t))
            });
        }
    }

    /// etcd's `scheduleCheckpointIfNeeded`: only leases whose TTL outlasts
    /// the interval get a checkpoint, one interval from now.
    fn schedule_checkpoint(&self, s: &mut State, id: i64) {
        let Some(interval) = self.cfg.checkpoint_interval else {
            return;
        };
        let now = self.clock.now();
        let l = s.leases.get_mut(&id).expect("scheduling a granted lease");
        if l.effective_ttl_s() <= i64::try_from(interval.as_secs()).unwrap_or(i64::MAX) {
            return;
        }
        let at = now + interval;
        l.checkpoint_at = Some(at);
        s.checkpoints.push(at, id);
        if s.checkpoints.needs_compaction(s.leases.len()) {
            let leases = &s.leases;
            s.checkpoints
                .retain(|t, id| leases.get(&id).is_some_and(|l| l.checkpoint_at == Some(t)));
        }
    }
}
