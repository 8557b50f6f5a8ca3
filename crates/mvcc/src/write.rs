//! A write transaction: the changes of one applied request.
//!
//! Every change gets revision `(begin_rev + 1, n)` where `n` counts the
//! changes so far, so one request takes exactly one main revision if it
//! changes anything and none otherwise. Reads inside the transaction see its
//! own earlier changes (they read at `begin_rev + 1` once something changed).
//!
//! Each change is written to the backend buffer (`key` table) and the index at
//! once; `finish` advances the store's current revision. Because all checks
//! that can fail run before the first change, a transaction never stops
//! halfway except on a backend error, which is fatal anyway.

use etcd_backend::{Backend, Table};
use etcd_proto::mvccpb::{event::EventType, Event, KeyValue};
use prost::Message;

use crate::error::MvccError;
use crate::key_range::KeyRange;
use crate::revision::Revision;
use crate::store::State;
use crate::view::View;

/// One in-progress write transaction; holds the store's write lock.
pub(crate) struct WriteTxn<'a> {
    backend: &'a Backend,
    state: &'a mut State,
    begin_rev: i64,
    events: Vec<Event>,
}

impl<'a> WriteTxn<'a> {
    pub(crate) fn new(backend: &'a Backend, state: &'a mut State) -> WriteTxn<'a> {
        let begin_rev = state.current_rev;
        WriteTxn {
            backend,
            state,
            begin_rev,
            events: Vec::new(),
        }
    }

    /// The revision reads see: `begin_rev`, or `begin_rev + 1` once changed.
    pub(crate) fn read_rev(&self) -> i64 {
        if self.events.is_empty() {
            self.begin_rev
        } else {
            self.begin_rev + 1
        }
    }

    /// A read view at [`WriteTxn::read_rev`].
    pub(crate) fn view(&self) -> View<'_> {
        View {
            index: &self.state.index,
            backend: self.backend,
            compact_rev: self.state.compact_rev,
            rev: self.read_rev(),
        }
    }

    fn next_rev(&self) -> Revision {
        Revision::new(self.begin_rev + 1, self.events.len() as i64)
    }

    /// Puts `key = value` with `lease`; `prev` is the key's current value (as
    /// read through [`WriteTxn::view`]). Returns the revision written.
    pub(crate) fn put(
        &mut self,
        key: &[u8],
        value: Vec<u8>,
        lease: i64,
        prev: Option<KeyValue>,
    ) -> i64 {
        let rev = self.next_rev();
        let (create_revision, version) = match &prev {
            Some(p) => (p.create_revision, p.version + 1),
            None => (rev.main, 1),
        };
        let kv = KeyValue {
            key: key.to_vec(),
            create_revision,
            mod_revision: rev.main,
            version,
            value,
            lease,
        };
        self.backend
            .put(Table::Key, &rev.to_key(false), &kv.encode_to_vec());
        self.state.index.put(key, rev);
        self.events.push(Event {
            r#type: EventType::Put as i32,
            kv: Some(kv),
            prev_kv: prev,
        });
        rev.main
    }

    /// Deletes every live key of `range`; returns their previous values in
    /// key order.
    pub(crate) fn delete_range(&mut self, range: KeyRange<'_>) -> Result<Vec<KeyValue>, MvccError> {
        let view = self.view();
        let keys = view.index.keys(range, view.rev);
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let revs: Vec<Revision> = keys.iter().map(|(_, r)| *r).collect();
        let prevs = view.read_kvs(&revs)?;
        for ((key, _), prev) in keys.into_iter().zip(&prevs) {
            let rev = self.next_rev();
            let tomb = KeyValue {
                key: key.clone(),
                ..Default::default()
            };
            self.backend
                .put(Table::Key, &rev.to_key(true), &tomb.encode_to_vec());
            let deleted = self.state.index.tombstone(&key, rev);
            assert!(deleted, "tombstone of a key the index reported live");
            let kv = KeyValue {
                key,
                mod_revision: rev.main,
                ..Default::default()
            };
            self.events.push(Event {
                r#type: EventType::Delete as i32,
                kv: Some(kv),
                prev_kv: Some(prev.clone()),
            });
        }
        Ok(prevs)
    }

    /// Ends the transaction: records the consistent index and, if anything
    /// changed, advances the current revision. Returns the events in order.
    pub(crate) fn finish(self, index: u64) -> Vec<Event> {
        crate::meta::put_consistent_index(self.backend, index);
        if !self.events.is_empty() {
            self.state.current_rev = self.begin_rev + 1;
        }
        self.events
    }
}
