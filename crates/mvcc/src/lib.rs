//! The v3 multi-version key-value store (etcd's `mvcc` package).
//!
//! Every write transaction takes one main revision; each change inside it a
//! sub revision. The backend's `key` table maps revision → `mvccpb.KeyValue`
//! (with tombstones for deletes); an in-memory [`TreeIndex`] maps each key to
//! its generations of revisions and is rebuilt from the backend on open.
//!
//! The store is logic over the backend buffer: apply functions take a
//! request and the Raft index being applied and return the response plus the
//! watch events it produced. They never commit; the caller commits the
//! backend in batches, the consistent index always in the same batch as the
//! data it covers.
//!
//! Module map: `revision` (on-disk key encoding), `key_index` / `index` (the
//! in-memory history), `key_range` (request key conventions), `view` and
//! `range` (reads), `write` (the write transaction), `put`, `delete_range`,
//! `compare`, `txn` (applied requests), `check_txn` (static txn validation),
//! `compact`, `hash`, `restore`, `meta`, `store` (the public [`KvStore`]),
//! `watch` (the watch hub that feeds watchers from the applied writes).

#![deny(missing_docs)]

mod check_txn;
mod compact;
mod compare;
mod delete_range;
mod error;
mod hash;
mod index;
mod key_index;
mod kv_head;
mod key_range;
mod meta;
pub mod metrics;
mod put;
mod range;
mod restore;
mod revision;
mod store;
mod txn;
mod view;
pub mod watch;
mod write;

pub use check_txn::check_txn_request;
pub use error::MvccError;
pub use index::TreeIndex;
pub use key_index::{Generation, KeyAt, KeyIndex};
pub use key_range::KeyRange;
pub use meta::{CONSISTENT_INDEX_KEY, FINISHED_COMPACT_KEY, SCHEDULED_COMPACT_KEY};
pub use revision::{Revision, MARKED_REV_BYTES_LEN, REV_BYTES_LEN};
pub use store::KvStore;
