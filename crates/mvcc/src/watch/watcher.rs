//! One watcher: what it watches, from which revision, and how its events are
//! shaped (filters, `prev_kv`).

use etcd_proto::etcdserverpb::watch_create_request::FilterType;
use etcd_proto::mvccpb::{event::EventType, Event};

use crate::key_range::KeyRange;

use super::WatchId;

/// Identifies a watcher across the hub: its stream and its id there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct WatcherKey {
    pub(crate) stream: u64,
    pub(crate) id: WatchId,
}

/// Where a watcher is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WatcherState {
    /// Fed by `notify`; has seen everything below `min_rev`.
    Synced,
    /// Waiting for a catch-up round to read `min_rev..` from the backend.
    Unsynced,
    /// Canceled by compaction; its id stays taken until the client cancels it.
    Compacted,
}

/// A watcher's settings and progress.
#[derive(Debug, Clone)]
pub(crate) struct Watcher {
    /// First key (never empty: an empty request key means `\0`).
    pub(crate) key: Vec<u8>,
    /// etcd's range end convention (see [`KeyRange::new`]).
    pub(crate) range_end: Vec<u8>,
    /// The lowest revision the watcher still has to receive.
    pub(crate) min_rev: i64,
    pub(crate) no_put: bool,
    pub(crate) no_delete: bool,
    pub(crate) prev_kv: bool,
    pub(crate) fragment: bool,
    pub(crate) progress_notify: bool,
    /// No event was queued for it since the last progress tick.
    pub(crate) progress_due: bool,
    pub(crate) state: WatcherState,
    /// Unique per created watcher: tells a catch-up round that the watcher it
    /// chose is still the same one (not canceled and re-created).
    pub(crate) epoch: u64,
}

impl Watcher {
    /// Sets the filters of a create request (unknown values are ignored, as in etcd).
    pub(crate) fn set_filters(&mut self, filters: &[i32]) {
        for f in filters {
            match FilterType::try_from(*f) {
                Ok(FilterType::Noput) => self.no_put = true,
                Ok(FilterType::Nodelete) => self.no_delete = true,
                Err(_) => {}
            }
        }
    }

    /// The watched keys.
    pub(crate) fn range(&self) -> KeyRange<'_> {
        KeyRange::new(&self.key, &self.range_end)
    }

    /// Whether the event's key is watched and its revision still wanted
    /// (filters aside).
    pub(crate) fn wants(&self, ev: &Event) -> bool {
        ev.kv
            .as_ref()
            .is_some_and(|kv| kv.mod_revision >= self.min_rev && self.range().contains(&kv.key))
    }

    /// Whether the event is delivered to this watcher.
    pub(crate) fn accepts(&self, ev: &Event) -> bool {
        if !self.wants(ev) {
            return false;
        }
        let is_put = ev.r#type == EventType::Put as i32;
        !(is_put && self.no_put || !is_put && self.no_delete)
    }

    /// The event as this watcher receives it: `prev_kv` only if asked for.
    pub(crate) fn shape(&self, ev: &Event) -> Event {
        let mut ev = ev.clone();
        if !self.prev_kv {
            ev.prev_kv = None;
        }
        ev
    }
}

/// A put that created its key: it has no previous value.
pub(crate) fn is_create(ev: &Event) -> bool {
    ev.r#type == EventType::Put as i32
        && ev
            .kv
            .as_ref()
            .is_some_and(|kv| kv.create_revision == kv.mod_revision)
}
