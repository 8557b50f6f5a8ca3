//! Catch-up rounds: unsynced watchers read their missed revisions from the
//! backend, then join the synced group.
//!
//! A round has three steps (etcd's `syncWatchers`, without holding the hub
//! lock across the backend read, so `notify` — the applier — never waits on
//! a long read):
//! 1. under the lock: pick up to `watchers_per_sync` unsynced watchers whose
//!    queues have room; cancel those below the compaction point (response
//!    with `compact_revision`); fix the read window
//!    `start = min(min_rev) ..= end = min(hub revision, start + revs_per_sync - 1)`;
//! 2. without the lock: read the window (and the `prev_kv` its watchers need);
//! 3. under the lock: give each chosen watcher (if unchanged) its events as
//!    one response with header revision `end`, set `min_rev = end + 1`, and
//!    promote it if `end` is the hub revision. If the hub moved on by at most
//!    `final_gap_revs` meanwhile, read that gap under the lock and promote;
//!    otherwise the watcher stays unsynced for the next round.

use etcd_proto::mvccpb::Event;

use crate::error::MvccError;

use super::hub::{response, HubState, Wakes, WatchHub};
use super::source::WatchSource;
use super::watcher::{is_create, Watcher, WatcherKey, WatcherState};

/// What one catch-up round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncRound {
    /// Watchers that advanced (got events, were promoted or canceled).
    pub progressed: usize,
    /// Watchers still unsynced after the round.
    pub remaining: usize,
}

/// A watcher picked in step 1, as it was then.
struct Chosen {
    wk: WatcherKey,
    w: Watcher,
}

impl WatchHub {
    /// Runs one catch-up round against `source`. Errors are storage faults
    /// (a compaction racing the read is not an error: the next round cancels
    /// the watchers it overtook).
    pub fn sync_once(&self, source: &dyn WatchSource) -> Result<SyncRound, MvccError> {
        let compact_rev = source.compact_revision();
        let mut wakes = Wakes::default();
        let mut round = SyncRound::default();
        let picked = {
            let mut st = self.state.lock();
            let picked = self.choose(&mut st, compact_rev, &mut wakes, &mut round);
            round.remaining = st.unsynced.len();
            picked
        };
        wakes.run(self);
        let Some((chosen, start, end)) = picked else {
            return Ok(round);
        };

        let events = match source.events(start, end) {
            Ok(evs) => with_prev_kv(source, &chosen, evs)?,
            Err(MvccError::Compacted) => {
                round.progressed += 1; // retry at once; the next round cancels
                return Ok(round);
            }
            Err(e) => return Err(e),
        };

        let mut wakes = Wakes::default();
        {
            let mut guard = self.state.lock();
            let st = &mut *guard;
            let (advanced, left) = self.deliver(st, chosen, &events, end, &mut wakes);
            round.progressed += advanced;
            let gap = st.rev - end;
            if !left.is_empty() && gap <= self.cfg.final_gap_revs {
                match source.events(end + 1, st.rev) {
                    Ok(evs) => {
                        let evs = with_prev_kv(source, &left, evs)?;
                        let rev = st.rev;
                        self.deliver(st, left, &evs, rev, &mut wakes);
                    }
                    Err(MvccError::Compacted) => {}
                    Err(e) => return Err(e),
                }
            }
            round.remaining = st.unsynced.len();
        }
        wakes.run(self);
        Ok(round)
    }

    /// Step 1. Returns the chosen watchers and the read window.
    fn choose(
        &self,
        st: &mut HubState,
        compact_rev: i64,
        wakes: &mut Wakes,
        round: &mut SyncRound,
    ) -> Option<(Vec<Chosen>, i64, i64)> {
        let mut chosen = Vec::new();
        let mut compacted = Vec::new();
        let mut ahead = Vec::new();
        for wk in st.unsynced.iter() {
            if chosen.len() >= self.cfg.watchers_per_sync {
                break;
            }
            let stream = st
                .streams
                .get_mut(&wk.stream)
                .expect("stream of an unsynced watcher");
            if stream.queue.len() >= self.cfg.stream_queue_len {
                stream.starved = true;
                continue;
            }
            let w = stream.watchers.get_mut(&wk.id).expect("unsynced watcher");
            if w.min_rev < compact_rev {
                let mut resp = response(wk.id, 0);
                resp.compact_revision = compact_rev;
                resp.canceled = true;
                w.state = WatcherState::Compacted;
                stream.push(resp, false);
                wakes.add(wk.stream, stream);
                compacted.push(*wk);
            } else if w.min_rev > st.rev {
                ahead.push(*wk);
            } else {
                chosen.push(Chosen {
                    wk: *wk,
                    w: w.clone(),
                });
            }
        }
        round.progressed += compacted.len() + ahead.len();
        for wk in compacted {
            st.unsynced.remove(&wk);
        }
        for wk in ahead {
            st.unsynced.remove(&wk);
            let w = st
                .streams
                .get_mut(&wk.stream)
                .and_then(|s| s.watchers.get_mut(&wk.id));
            let w = w.expect("unsynced watcher");
            w.state = WatcherState::Synced;
            st.synced.insert(w, wk);
        }
        let start = chosen.iter().map(|c| c.w.min_rev).min()?;
        let end = st.rev.min(start.saturating_add(self.cfg.revs_per_sync - 1));
        chosen.retain(|c| c.w.min_rev <= end);
        Some((chosen, start, end))
    }

    /// Step 3: gives each chosen watcher still in the state it was chosen in
    /// its events up to `end`. Returns how many advanced and those that are
    /// now at `end + 1` but not yet synced.
    fn deliver(
        &self,
        st: &mut HubState,
        chosen: Vec<Chosen>,
        events: &[Event],
        end: i64,
        wakes: &mut Wakes,
    ) -> (usize, Vec<Chosen>) {
        let mut advanced = 0;
        let mut left = Vec::new();
        for mut c in chosen {
            let Some(stream) = st.streams.get_mut(&c.wk.stream) else {
                continue;
            };
            let Some(w) = stream.watchers.get_mut(&c.wk.id) else {
                continue;
            };
            if w.epoch != c.w.epoch || w.state != WatcherState::Unsynced || w.min_rev != c.w.min_rev
            {
                continue;
            }
            if stream.queue.len() >= self.cfg.stream_queue_len {
                stream.starved = true;
                continue;
            }
            let evs: Vec<Event> = events
                .iter()
                .filter(|e| w.accepts(e))
                .map(|e| w.shape(e))
                .collect();
            advanced += 1;
            w.min_rev = end + 1;
            if !evs.is_empty() {
                w.progress_due = false;
                let mut resp = response(c.wk.id, end);
                resp.events = evs;
                let fragment = w.fragment;
                stream.push(resp, fragment);
                wakes.add(c.wk.stream, stream);
            }
            let w = stream
                .watchers
                .get_mut(&c.wk.id)
                .expect("watcher just seen");
            if end == st.rev {
                w.state = WatcherState::Synced;
                st.unsynced.remove(&c.wk);
                st.synced.insert(w, c.wk);
            } else {
                c.w.min_rev = end + 1;
                left.push(c);
            }
        }
        (advanced, left)
    }
}

/// Attaches `prev_kv` to the events a `prev_kv` watcher among `chosen` will
/// receive (creations have none), read at the revision before each event.
fn with_prev_kv(
    source: &dyn WatchSource,
    chosen: &[Chosen],
    mut events: Vec<Event>,
) -> Result<Vec<Event>, MvccError> {
    if !chosen.iter().any(|c| c.w.prev_kv) {
        return Ok(events);
    }
    for ev in &mut events {
        if is_create(ev) || !chosen.iter().any(|c| c.w.prev_kv && c.w.wants(ev)) {
            continue;
        }
        let kv = ev.kv.as_ref().expect("a watch event carries its key-value");
        if kv.mod_revision <= 1 {
            continue;
        }
        ev.prev_kv = match source.kv_at(&kv.key, kv.mod_revision - 1) {
            Ok(prev) => prev,
            Err(MvccError::Compacted | MvccError::FutureRev) => None,
            Err(e) => return Err(e),
        };
    }
    Ok(events)
}
