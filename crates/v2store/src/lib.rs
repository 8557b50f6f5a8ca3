//! etcd's v2 key store, without I/O and without a clock.
//!
//! Contract:
//! - The store is a tree of directories and keys under `/`, with the
//!   read-only namespaces `/0` (cluster data) and `/1` (the user's keys, what
//!   `/v2/keys` shows). Every successful write takes the next store index
//!   (`X-Etcd-Index`), which becomes the `modifiedIndex` of what it touched.
//! - Writes are applied in Raft log order by one thread, so every member
//!   computes the same tree and the same indexes. Time enters only as data:
//!   an expiration in Unix nanoseconds in the request, and the leader's time
//!   in a `SYNC` request, when every key with `expiration <= time` expires
//!   (etcd 3.4 `DeleteExpiredKeys`). Remaining `ttl` values in responses are
//!   computed at render time from the caller's clock.
//! - The last [`history::HISTORY_CAPACITY`] events are kept for `waitIndex`;
//!   an older index answers errorCode 401.
//! - Hidden nodes (a name starting with `_`) are never listed and only wake
//!   watchers of their own path.

#![deny(missing_docs)]

pub mod error;
pub mod event;
pub mod history;
mod node;
pub mod render;
pub mod stats;
pub mod store;
pub mod watcher;

pub use error::V2Error;
pub use event::{Action, Event, NodeExtern};
pub use store::{Store, TtlOptions};
pub use watcher::Watcher;

/// Where etcd keeps cluster data in the v2 store.
pub const CLUSTER_PREFIX: &str = "/0";
/// Where the `/v2/keys` tree lives in the v2 store.
pub const KEYS_PREFIX: &str = "/1";
