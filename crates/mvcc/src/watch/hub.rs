//! [`WatchHub`]: the watchers of all streams, fed by the applier.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use etcd_proto::etcdserverpb::{ResponseHeader, WatchCreateRequest, WatchResponse};
use etcd_proto::mvccpb::Event;
use parking_lot::Mutex;

use super::config::WatchConfig;
use super::group::WatcherGroup;
use super::stream::{StreamState, Wake, WatchStream};
use super::watcher::{Watcher, WatcherKey, WatcherState};
use super::worker::Signal;
use super::{
    WatchId, AUTO_WATCH_ID, ERR_DUPLICATE_WATCH_ID, ERR_EMPTY_WATCHER_RANGE, INVALID_WATCH_ID,
};

/// Everything the hub lock guards.
#[derive(Default)]
pub(crate) struct HubState {
    /// The newest revision notified (or the store's revision at start).
    pub(crate) rev: i64,
    pub(crate) streams: HashMap<u64, StreamState>,
    pub(crate) synced: WatcherGroup,
    pub(crate) unsynced: BTreeSet<WatcherKey>,
    next_stream: u64,
    next_epoch: u64,
}

/// The watchers of every stream; see the module docs for the contract.
///
/// ```
/// # use std::sync::Arc;
/// # use etcd_mvcc::watch::{WatchConfig, WatchHub};
/// # use etcd_proto::etcdserverpb::WatchCreateRequest;
/// # use etcd_proto::mvccpb::{Event, KeyValue};
/// let hub = Arc::new(WatchHub::new(1, WatchConfig::default()));
/// let stream = hub.open_stream(Arc::new(|| {}));
/// assert!(stream.try_create(&WatchCreateRequest { key: b"k".to_vec(), ..Default::default() }));
/// let kv = KeyValue { key: b"k".to_vec(), mod_revision: 2, create_revision: 2, version: 1, ..Default::default() };
/// hub.notify(&[Event { kv: Some(kv), ..Default::default() }]);
/// assert!(stream.pop().unwrap().0.created);
/// assert_eq!(stream.pop().unwrap().0.events.len(), 1);
/// ```
pub struct WatchHub {
    pub(crate) cfg: WatchConfig,
    pub(crate) state: Mutex<HubState>,
    pub(crate) signal: Arc<Signal>,
}

impl std::fmt::Debug for WatchHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchHub")
            .field("cfg", &self.cfg)
            .field("revision", &self.revision())
            .finish()
    }
}

/// Wake-ups collected under the lock and run after it is released.
#[derive(Default)]
pub(crate) struct Wakes {
    streams: BTreeSet<u64>,
    fns: Vec<Wake>,
    pub(crate) sync: bool,
}

impl Wakes {
    pub(crate) fn add(&mut self, id: u64, s: &StreamState) {
        if self.streams.insert(id) {
            self.fns.push(s.wake.clone());
        }
    }

    pub(crate) fn run(self, hub: &WatchHub) {
        for f in self.fns {
            f();
        }
        if self.sync {
            hub.signal.request();
        }
    }
}

/// A response of `id` whose header carries only `rev`.
pub(crate) fn response(id: WatchId, rev: i64) -> WatchResponse {
    WatchResponse {
        header: Some(ResponseHeader {
            revision: rev,
            ..Default::default()
        }),
        watch_id: id,
        ..Default::default()
    }
}

impl WatchHub {
    /// A hub whose store is at revision `current_rev`.
    pub fn new(current_rev: i64, cfg: WatchConfig) -> WatchHub {
        WatchHub {
            cfg,
            state: Mutex::new(HubState {
                rev: current_rev,
                ..Default::default()
            }),
            signal: Arc::new(Signal::default()),
        }
    }

    /// The hub's settings.
    pub fn config(&self) -> &WatchConfig {
        &self.cfg
    }

    /// The newest revision the hub was notified of.
    pub fn revision(&self) -> i64 {
        self.state.lock().rev
    }

    /// Watchers on all streams (synced, unsynced and compacted).
    pub fn watcher_count(&self) -> usize {
        self.state
            .lock()
            .streams
            .values()
            .map(|s| s.watchers.len())
            .sum()
    }

    /// Watchers waiting for a catch-up round.
    pub fn unsynced_count(&self) -> usize {
        self.state.lock().unsynced.len()
    }

    /// Opens a stream; `wake` is called (never under the hub lock) each time
    /// responses are queued for it.
    pub fn open_stream(self: &Arc<Self>, wake: Arc<dyn Fn() + Send + Sync>) -> WatchStream {
        let mut st = self.state.lock();
        let id = st.next_stream;
        st.next_stream += 1;
        st.streams.insert(id, StreamState::new(wake));
        WatchStream::new(self.clone(), id)
    }

    pub(crate) fn close_stream(&self, sid: u64) {
        let mut st = self.state.lock();
        let st = &mut *st;
        let Some(stream) = st.streams.remove(&sid) else {
            return;
        };
        for (id, w) in stream.watchers {
            let wk = WatcherKey { stream: sid, id };
            match w.state {
                WatcherState::Synced => st.synced.remove(&w, wk),
                WatcherState::Unsynced => assert!(st.unsynced.remove(&wk)),
                WatcherState::Compacted => {}
            }
        }
    }

    pub(crate) fn create(&self, sid: u64, req: &WatchCreateRequest) -> bool {
        let mut wakes = Wakes::default();
        {
            let mut guard = self.state.lock();
            let st = &mut *guard;
            let rev = st.rev;
            let Some(stream) = st.streams.get_mut(&sid) else {
                return true;
            };
            if stream.queue.len() >= self.cfg.control_limit() {
                return false;
            }
            wakes.add(sid, stream);
            let key = if req.key.is_empty() {
                vec![0]
            } else {
                req.key.clone()
            };
            let range_end = req.range_end.clone();
            let mut resp = response(INVALID_WATCH_ID, rev);
            resp.created = true;
            let from_key = range_end.as_slice() == [0];
            let id = if !range_end.is_empty() && !from_key && key >= range_end {
                None
            } else if req.watch_id == AUTO_WATCH_ID {
                Some(stream.assign_id())
            } else if stream.watchers.contains_key(&req.watch_id) {
                resp.canceled = true;
                resp.cancel_reason = ERR_DUPLICATE_WATCH_ID.to_string();
                None
            } else {
                Some(req.watch_id)
            };
            let Some(id) = id else {
                if !resp.canceled {
                    resp.canceled = true;
                    resp.cancel_reason = ERR_EMPTY_WATCHER_RANGE.to_string();
                }
                stream.push(resp, false);
                drop(guard);
                wakes.run(self);
                return true;
            };
            resp.watch_id = id;
            stream.push(resp, false);

            // etcd: start 0 means "from the next revision"; a start above the
            // current revision needs no catch-up either.
            let start = if req.start_revision == 0 {
                rev + 1
            } else {
                req.start_revision
            };
            let synced = start > rev;
            let mut w = Watcher {
                key,
                range_end,
                min_rev: if synced { start.max(rev + 1) } else { start },
                no_put: false,
                no_delete: false,
                prev_kv: req.prev_kv,
                fragment: req.fragment,
                progress_notify: req.progress_notify,
                progress_due: true,
                state: if synced {
                    WatcherState::Synced
                } else {
                    WatcherState::Unsynced
                },
                epoch: st.next_epoch,
            };
            st.next_epoch += 1;
            w.set_filters(&req.filters);
            let wk = WatcherKey { stream: sid, id };
            if synced {
                st.synced.insert(&w, wk);
            } else {
                st.unsynced.insert(wk);
                wakes.sync = true;
            }
            stream.watchers.insert(id, w);
        }
        wakes.run(self);
        true
    }

    pub(crate) fn cancel(&self, sid: u64, id: WatchId) -> bool {
        let mut wakes = Wakes::default();
        {
            let mut guard = self.state.lock();
            let st = &mut *guard;
            let Some(stream) = st.streams.get_mut(&sid) else {
                return true;
            };
            if stream.queue.len() >= self.cfg.control_limit() {
                return false;
            }
            let Some(w) = stream.watchers.remove(&id) else {
                return true;
            };
            let wk = WatcherKey { stream: sid, id };
            match w.state {
                WatcherState::Synced => st.synced.remove(&w, wk),
                WatcherState::Unsynced => assert!(st.unsynced.remove(&wk)),
                WatcherState::Compacted => {}
            }
            let mut resp = response(id, st.rev);
            resp.canceled = true;
            stream.push(resp, false);
            wakes.add(sid, stream);
        }
        wakes.run(self);
        true
    }

    pub(crate) fn progress(&self, sid: u64) -> bool {
        let mut wakes = Wakes::default();
        {
            let mut guard = self.state.lock();
            let st = &mut *guard;
            let Some(stream) = st.streams.get_mut(&sid) else {
                return true;
            };
            if stream.queue.len() >= self.cfg.control_limit() {
                return false;
            }
            stream.push(response(INVALID_WATCH_ID, st.rev), false);
            wakes.add(sid, stream);
        }
        wakes.run(self);
        true
    }

    pub(crate) fn pop(&self, sid: u64) -> Option<(WatchResponse, bool)> {
        let mut wakes = Wakes::default();
        let q = {
            let mut st = self.state.lock();
            let stream = st.streams.get_mut(&sid)?;
            let q = stream.queue.pop_front()?;
            if stream.starved && stream.queue.len() <= self.cfg.stream_queue_len / 2 {
                stream.starved = false;
                wakes.sync = true;
            }
            q
        };
        wakes.run(self);
        Some((q.resp, q.fragment))
    }

    pub(crate) fn queued(&self, sid: u64) -> usize {
        self.state
            .lock()
            .streams
            .get(&sid)
            .map_or(0, |s| s.queue.len())
    }

    /// Delivers the events of one applied write (one revision; all events
    /// carry it as `mod_revision`) to the synced watchers. A watcher whose
    /// stream queue is full becomes unsynced from this revision on. Never
    /// blocks on a client.
    pub fn notify(&self, events: &[Event]) {
        let Some(rev) = events
            .first()
            .and_then(|e| e.kv.as_ref())
            .map(|kv| kv.mod_revision)
        else {
            return;
        };
        let mut wakes = Wakes::default();
        {
            let mut guard = self.state.lock();
            let st = &mut *guard;
            assert!(
                rev > st.rev,
                "notified revision {rev} is not above the hub's {}",
                st.rev
            );
            st.rev = rev;
            if st.synced.is_empty() {
                return;
            }
            let mut batches: BTreeMap<WatcherKey, Vec<Event>> = BTreeMap::new();
            let mut matched = Vec::new();
            for ev in events {
                let kv = ev.kv.as_ref().expect("a watch event carries its key-value");
                assert_eq!(
                    kv.mod_revision, rev,
                    "one notification carries one revision"
                );
                matched.clear();
                st.synced.matching(&kv.key, &mut matched);
                for wk in &matched {
                    let w = &st.streams[&wk.stream].watchers[&wk.id];
                    if w.accepts(ev) {
                        batches.entry(*wk).or_default().push(w.shape(ev));
                    }
                }
            }
            for (wk, evs) in batches {
                let stream = st
                    .streams
                    .get_mut(&wk.stream)
                    .expect("stream of a synced watcher");
                let w = stream.watchers.get_mut(&wk.id).expect("synced watcher");
                if stream.queue.len() < self.cfg.stream_queue_len {
                    let mut resp = response(wk.id, rev);
                    resp.events = evs;
                    w.min_rev = rev + 1;
                    w.progress_due = false;
                    let fragment = w.fragment;
                    stream.push(resp, fragment);
                    wakes.add(wk.stream, stream);
                } else {
                    // etcd's victim: catch up from the backend later.
                    st.synced.remove(w, wk);
                    w.state = WatcherState::Unsynced;
                    w.min_rev = rev;
                    st.unsynced.insert(wk);
                    stream.starved = true;
                    wakes.sync = true;
                }
            }
        }
        wakes.run(self);
    }

    /// The store was replaced (a snapshot from the leader) and is now at
    /// `current_rev` without notifications: every synced watcher goes back to
    /// catching up from its `min_rev` (etcd's `watchableStore.Restore`).
    pub fn restore(&self, current_rev: i64) {
        {
            let mut guard = self.state.lock();
            let st = &mut *guard;
            st.rev = current_rev;
            st.synced = WatcherGroup::default();
            for (sid, stream) in st.streams.iter_mut() {
                for (id, w) in stream.watchers.iter_mut() {
                    if w.state == WatcherState::Synced {
                        w.state = WatcherState::Unsynced;
                        st.unsynced.insert(WatcherKey {
                            stream: *sid,
                            id: *id,
                        });
                    }
                }
            }
        }
        self.signal.request();
    }

    /// One progress period has passed: every synced watcher that asked for
    /// progress notifications and got no events during the period receives
    /// an empty response with the hub's revision (if its queue has room).
    pub fn progress_tick(&self) {
        let mut wakes = Wakes::default();
        {
            let mut guard = self.state.lock();
            let st = &mut *guard;
            let rev = st.rev;
            for (sid, stream) in st.streams.iter_mut() {
                let mut ids: Vec<WatchId> = stream
                    .watchers
                    .iter()
                    .filter(|(_, w)| w.progress_notify)
                    .map(|(id, _)| *id)
                    .collect();
                ids.sort_unstable();
                for id in ids {
                    let w = stream.watchers.get_mut(&id).expect("listed watcher");
                    let due = std::mem::replace(&mut w.progress_due, true);
                    if due
                        && w.state == WatcherState::Synced
                        && stream.queue.len() < self.cfg.stream_queue_len
                    {
                        stream.push(response(id, rev), false);
                        wakes.add(*sid, stream);
                    }
                }
            }
        }
        wakes.run(self);
    }
}

impl Drop for WatchHub {
    fn drop(&mut self) {
        self.signal.stop();
    }
}
