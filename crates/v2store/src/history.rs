//! The last [`HISTORY_CAPACITY`] events, for watches that start in the past
//! (`waitIndex`).
//!
//! Invariant: events are appended in index order; `start_index` is the index
//! of the oldest kept event, `last_index` of the newest.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::error::{V2Error, EVENT_INDEX_CLEARED};
use crate::event::{Action, Event};
use crate::store::clean_path;

/// How many events are kept (etcd: 1000).
pub const HISTORY_CAPACITY: usize = 1000;

/// A bounded queue of recent events.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EventHistory {
    events: VecDeque<Event>,
    start_index: u64,
    last_index: u64,
}

impl EventHistory {
    /// Appends `e`, dropping the oldest event when full.
    pub fn add(&mut self, e: Event) {
        if self.events.len() == HISTORY_CAPACITY {
            self.events.pop_front();
        }
        self.last_index = e.index();
        self.events.push_back(e);
        self.start_index = self.events.front().map(|e| e.index()).unwrap_or(0);
    }

    /// The first event at or after `index` on `key` (or under it when
    /// `recursive`, or a deleted/expired directory above it); `None` when
    /// `index` is in the future; errorCode 401 when it was dropped.
    pub fn scan(&self, key: &str, recursive: bool, index: u64) -> Result<Option<Event>, V2Error> {
        if index < self.start_index {
            return Err(V2Error::new(
                EVENT_INDEX_CLEARED,
                format!(
                    "the requested history has been cleared [{}/{}]",
                    self.start_index, index
                ),
                0,
            ));
        }
        if index > self.last_index {
            return Ok(None);
        }
        let mut prefix = clean_path(key);
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        for e in self.events.iter() {
            if e.refresh || e.index() < index {
                continue;
            }
            let mut ok = e.node.key == key;
            if recursive {
                ok = ok || e.node.key.starts_with(&prefix);
            }
            if matches!(e.action, Action::Delete | Action::Expire) {
                if let Some(p) = &e.prev_node {
                    ok = ok || (p.dir && key.starts_with(&p.key));
                }
            }
            if ok {
                return Ok(Some(e.clone()));
            }
        }
        Ok(None)
    }
}
