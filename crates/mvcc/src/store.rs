//! [`KvStore`]: the v3 key-value store.
//!
//! Concurrency: one `RwLock` guards the index and the revision counters.
//! Applies (put, delete, txn, compact) take it exclusively for the whole
//! request, so a reader never sees half a transaction; reads share it and run
//! concurrently with each other. Applies come from the single apply thread.
//!
//! Durability: every apply buffers its changes and the Raft index it applies
//! (`consistent_index`) in the backend; the caller commits the backend
//! (`Backend::commit_if_due`), so data and index always become durable
//! together. An apply that fails a check (e.g. `KeyNotFound`) changes nothing
//! but still records its index: the entry has been applied.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use etcd_backend::{Backend, Table};
use etcd_proto::etcdserverpb::{
    DeleteRangeRequest, DeleteRangeResponse, PutRequest, PutResponse, RangeRequest, RangeResponse,
    TxnRequest, TxnResponse,
};
use etcd_proto::mvccpb::{event::EventType, Event, KeyValue};
use parking_lot::RwLock;

use crate::error::MvccError;
use crate::index::TreeIndex;
use crate::key_range::KeyRange;
use crate::revision::Revision;
use crate::view::{decode_kv, View};
use crate::write::WriteTxn;
use crate::{compact, delete_range, hash, meta, put, range, restore, txn};

/// The state guarded by the store's lock.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) index: TreeIndex,
    /// Revision of the last write transaction (1 on an empty store).
    pub(crate) current_rev: i64,
    /// Compaction point (-1 if never compacted).
    pub(crate) compact_rev: i64,
}

/// The multi-version key-value store.
///
/// ```
/// # use std::sync::Arc;
/// # use etcd_backend::{Backend, BackendConfig};
/// # use etcd_mvcc::KvStore;
/// # use etcd_proto::etcdserverpb::{PutRequest, RangeRequest};
/// # let dir = tempfile::tempdir().unwrap();
/// let backend = Arc::new(Backend::open(&dir.path().join("db"), BackendConfig::default()).unwrap());
/// let store = KvStore::open(backend).unwrap();
/// let put = PutRequest { key: b"k".to_vec(), value: b"v".to_vec(), ..Default::default() };
/// let (_, events) = store.put(&put, 1, &|_| false).unwrap();
/// assert_eq!(events.len(), 1);
/// assert_eq!(store.current_revision(), 2);
/// let got = store.range(&RangeRequest { key: b"k".to_vec(), ..Default::default() }).unwrap();
/// assert_eq!(got.kvs[0].value, b"v");
/// ```
pub struct KvStore {
    backend: Arc<Backend>,
    state: RwLock<State>,
    consistent_index: AtomicU64,
}

impl std::fmt::Debug for KvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvStore")
            .field("current_revision", &self.current_revision())
            .field("compact_revision", &self.compact_revision())
            .field("consistent_index", &self.consistent_index())
            .finish()
    }
}

impl KvStore {
    /// Opens the store kept in `backend`, rebuilding the index.
    pub fn open(backend: Arc<Backend>) -> Result<KvStore, MvccError> {
        let state = restore::restore(&backend)?;
        let ci = meta::consistent_index(&backend)?;
        Ok(KvStore {
            backend,
            state: RwLock::new(state),
            consistent_index: AtomicU64::new(ci),
        })
    }

    /// Rebuilds the index and counters after the backend's data was
    /// replaced wholesale (a snapshot from the leader).
    pub fn reload(&self) -> Result<(), MvccError> {
        let mut state = self.state.write();
        *state = restore::restore(&self.backend)?;
        self.consistent_index.store(meta::consistent_index(&self.backend)?, Ordering::SeqCst);
        Ok(())
    }

    /// The backend the store writes to.
    pub fn backend(&self) -> &Arc<Backend> {
        &self.backend
    }

    /// Revision of the last write transaction.
    pub fn current_revision(&self) -> i64 {
        self.state.read().current_rev
    }

    /// The compaction point (-1 if never compacted).
    pub fn compact_revision(&self) -> i64 {
        self.state.read().compact_rev
    }

    /// Live keys at the current revision (etcd's
    /// `etcd_debugging_mvcc_keys_total`); walks the index, for scrapes only.
    pub fn keys_total(&self) -> usize {
        let state = self.state.read();
        let mut n = 0;
        let all = crate::KeyRange::Span { start: &[], end: None };
        state.index.visit(all, state.current_rev, |_, _| n += 1);
        n
    }

    /// The last applied Raft index.
    pub fn consistent_index(&self) -> u64 {
        self.consistent_index.load(Ordering::SeqCst)
    }

    /// Records `index` as applied, for entries that do not touch the store.
    pub fn set_consistent_index(&self, index: u64) {
        meta::put_consistent_index(&self.backend, index);
        self.consistent_index.store(index, Ordering::SeqCst);
    }

    /// Serves a Range request. The header carries only the revision.
    pub fn range(&self, req: &RangeRequest) -> Result<RangeResponse, MvccError> {
        let state = self.state.read();
        range::range(&self.view(&state), req)
    }

    fn view<'a>(&'a self, state: &'a State) -> View<'a> {
        View {
            index: &state.index,
            backend: &self.backend,
            compact_rev: state.compact_rev,
            rev: state.current_rev,
        }
    }

    /// Runs one apply under the write lock; records `index` whatever happens.
    fn write<R>(
        &self,
        index: u64,
        f: impl FnOnce(&mut WriteTxn<'_>) -> Result<R, MvccError>,
    ) -> Result<(R, Vec<Event>), MvccError> {
        let mut state = self.state.write();
        let mut w = WriteTxn::new(&self.backend, &mut state);
        let result = f(&mut w);
        let events = w.finish(index);
        self.consistent_index.store(index, Ordering::SeqCst);
        result.map(|r| (r, events))
    }

    /// Applies a Put. `lease_exists` answers whether a lease id is granted.
    pub fn put(
        &self,
        req: &PutRequest,
        index: u64,
        lease_exists: &dyn Fn(i64) -> bool,
    ) -> Result<(PutResponse, Vec<Event>), MvccError> {
        self.write(index, |w| {
            put::check(w, req, lease_exists, true)?;
            put::apply(w, req)
        })
    }

    /// Applies a DeleteRange.
    pub fn delete_range(
        &self,
        req: &DeleteRangeRequest,
        index: u64,
    ) -> Result<(DeleteRangeResponse, Vec<Event>), MvccError> {
        self.write(index, |w| delete_range::apply(w, req))
    }

    /// Applies a Txn (already validated by [`crate::check_txn_request`]).
    pub fn txn(
        &self,
        req: &TxnRequest,
        index: u64,
        lease_exists: &dyn Fn(i64) -> bool,
    ) -> Result<(TxnResponse, Vec<Event>), MvccError> {
        self.write(index, |w| txn::apply(w, req, lease_exists))
    }

    /// Serves a Txn of ranges only ([`etcd_proto::txn_is_read_only`]) from the
    /// current state, outside Raft; takes no revision.
    pub fn txn_read_only(&self, req: &TxnRequest) -> Result<TxnResponse, MvccError> {
        let state = self.state.read();
        txn::read_only(&self.view(&state), req)
    }

    /// Compacts history up to `rev` (see `compact.rs` for the rule).
    pub fn compact(&self, rev: i64, index: u64) -> Result<(), MvccError> {
        let mut state = self.state.write();
        let result = compact::compact(&self.backend, &mut state, rev);
        meta::put_consistent_index(&self.backend, index);
        self.consistent_index.store(index, Ordering::SeqCst);
        result
    }

    /// CRC-32C of the history as of `rev` (0: current) and the compaction
    /// revision, like etcd's HashKV.
    pub fn hash_kv(&self, rev: i64) -> Result<(u32, i64), MvccError> {
        let state = self.state.read();
        hash::hash_kv(&self.backend, &state, rev)
    }

    /// Every change with `start_rev <= main revision <= end_rev`, in revision
    /// order, as watch events (deletes carry the key and the delete's
    /// revision). `Compacted` if `start_rev` is below the compaction point.
    pub fn events(&self, start_rev: i64, end_rev: i64) -> Result<Vec<Event>, MvccError> {
        let state = self.state.read();
        if start_rev < state.compact_rev {
            return Err(MvccError::Compacted);
        }
        let mut out = Vec::new();
        if end_rev < start_rev.max(1) {
            return Ok(out);
        }
        let start = Revision::new(start_rev.max(1), 0).to_bytes();
        let end = Revision::new(end_rev.saturating_add(1), 0).to_bytes();
        self.backend
            .read()?
            .for_each(Table::Key, &start, Some(&end), |k, v| {
                let (rev, tombstone) = Revision::from_key(k);
                let mut kv = decode_kv(v);
                let r#type = if tombstone {
                    kv.mod_revision = rev.main;
                    EventType::Delete
                } else {
                    EventType::Put
                };
                out.push(Event {
                    r#type: r#type as i32,
                    kv: Some(kv),
                    prev_kv: None,
                });
                true
            })?;
        Ok(out)
    }

    /// Live keys attached to a lease, as `(lease id, key)`: what the lessor
    /// must re-attach after a restart.
    pub fn leased_keys(&self) -> Result<Vec<(i64, Vec<u8>)>, MvccError> {
        let state = self.state.read();
        let view = self.view(&state);
        let kvs: Vec<KeyValue> = view.kvs(KeyRange::Span {
            start: &[],
            end: None,
        })?;
        Ok(kvs
            .into_iter()
            .filter(|kv| kv.lease != 0)
            .map(|kv| (kv.lease, kv.key))
            .collect())
    }
}
