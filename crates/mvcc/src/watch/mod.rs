//! The watch hub: etcd's watchable store, as logic over the KV store.
//!
//! Contract (etcd 3.4's `mvcc/watchable_store.go` is the reference):
//! - A client stream ([`WatchStream`]) carries many watchers. Everything a
//!   stream will send sits in one bounded queue that the API layer drains
//!   with [`WatchStream::pop`]; the hub never blocks on a client.
//! - Every watcher is *synced* (it has seen every revision up to the hub's
//!   revision and is fed by [`WatchHub::notify`] from the applier) or
//!   *unsynced* (it still needs revisions from its `min_rev` on, which a
//!   catch-up round, [`WatchHub::sync_once`], reads from the backend).
//! - Exactly once, in order: a watcher receives each revision at most once
//!   and never skips one. `notify` only feeds synced watchers; a catch-up
//!   round reads revisions `min_rev..=end` with `end <= hub revision`, and
//!   promotes a watcher to synced only when `end` equals the hub revision,
//!   checked under the hub lock that `notify` also takes. All events of one
//!   revision travel in one response.
//! - Bounded: a stream queue holds at most `stream_queue_len` event responses
//!   (etcd's `chanBufLen`, 128) plus `control_queue_len` control responses
//!   (created/canceled/progress; etcd's `ctrlStreamBufLen`, 16). When the
//!   queue is full, a synced watcher becomes unsynced (etcd's "victim") and
//!   later catches up from the backend; control requests are refused until
//!   the client drains its queue (the caller waits, applying back-pressure).
//!   A catch-up round handles at most `watchers_per_sync` watchers and reads
//!   at most `revs_per_sync` revisions.
//! - Responses carry only the header's revision; the API layer fills in the
//!   cluster id, member id and Raft term.
//!
//! Lock order: the hub lock may be held while reading the KV store (the final
//! catch-up step); the applier releases the store before calling `notify`, so
//! the store never waits on the hub.

mod config;
mod group;
mod hub;
mod source;
mod stream;
mod sync;
mod watcher;
mod worker;

#[cfg(test)]
mod tests;

pub use config::WatchConfig;
pub use hub::WatchHub;
pub use source::WatchSource;
pub use stream::WatchStream;
pub use sync::SyncRound;

/// A watcher's id within its stream (chosen by the client or assigned).
pub type WatchId = i64;

/// The id a client sends to have one assigned (clientv3's `AutoWatchID`).
pub const AUTO_WATCH_ID: WatchId = 0;

/// The id of responses that belong to no watcher (clientv3's `InvalidWatchID`).
pub const INVALID_WATCH_ID: WatchId = -1;

/// Cancel reason for a create whose `range_end` is not above its key.
pub const ERR_EMPTY_WATCHER_RANGE: &str = "mvcc: watcher range is empty";

/// Cancel reason for a create that reuses a watch id on its stream.
pub const ERR_DUPLICATE_WATCH_ID: &str = "mvcc: duplicate watch ID provided on the WatchStream";
