//! The index of synced watchers by key, so `notify` finds the watchers of an
//! event's key without visiting every watcher.
//!
//! Single-key watchers are found by hash lookup. Range watchers are grouped
//! by their exact range and ordered by first key; a lookup visits the ranges
//! starting at or before the key. Many watchers on the same range (the usual
//! case: one prefix, many clients) cost one range check.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use crate::key_range::KeyRange;

use super::watcher::{Watcher, WatcherKey};

/// Synced watchers indexed by what they watch.
#[derive(Debug, Default)]
pub(crate) struct WatcherGroup {
    keys: HashMap<Vec<u8>, BTreeSet<WatcherKey>>,
    /// first key → range end → watchers.
    ranges: BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, BTreeSet<WatcherKey>>>,
    len: usize,
}

impl WatcherGroup {
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn insert(&mut self, w: &Watcher, wk: WatcherKey) {
        let fresh = match w.range() {
            KeyRange::Single(k) => self.keys.entry(k.to_vec()).or_default().insert(wk),
            KeyRange::Span { .. } => self
                .ranges
                .entry(w.key.clone())
                .or_default()
                .entry(w.range_end.clone())
                .or_default()
                .insert(wk),
        };
        assert!(fresh, "watcher {wk:?} added to the synced group twice");
        self.len += 1;
    }

    pub(crate) fn remove(&mut self, w: &Watcher, wk: WatcherKey) {
        let removed = match w.range() {
            KeyRange::Single(k) => {
                let mut removed = false;
                if let Some(set) = self.keys.get_mut(k) {
                    removed = set.remove(&wk);
                    if set.is_empty() {
                        self.keys.remove(k);
                    }
                }
                removed
            }
            KeyRange::Span { .. } => {
                let mut removed = false;
                if let Some(ends) = self.ranges.get_mut(&w.key) {
                    if let Some(set) = ends.get_mut(&w.range_end) {
                        removed = set.remove(&wk);
                        if set.is_empty() {
                            ends.remove(&w.range_end);
                        }
                    }
                    if ends.is_empty() {
                        self.ranges.remove(&w.key);
                    }
                }
                removed
            }
        };
        assert!(removed, "watcher {wk:?} is not in the synced group");
        self.len -= 1;
    }

    /// Appends the watchers whose range contains `key`.
    pub(crate) fn matching(&self, key: &[u8], out: &mut Vec<WatcherKey>) {
        if let Some(set) = self.keys.get(key) {
            out.extend(set.iter().copied());
        }
        for (start, ends) in self
            .ranges
            .range::<[u8], _>((Bound::Unbounded, Bound::Included(key)))
        {
            for (end, set) in ends {
                if KeyRange::new(start, end).contains(key) {
                    out.extend(set.iter().copied());
                }
            }
        }
    }
}
