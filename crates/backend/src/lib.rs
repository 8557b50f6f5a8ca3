//! The storage backend: a redb file with a fixed set of tables, buffered
//! writes and batched, durable commits (etcd's `mvcc/backend` over bbolt).
//!
//! Contract:
//! - Writes ([`Backend::put`], [`Backend::delete`]) are buffered and visible to
//!   every later read at once; they become durable at the next
//!   [`Backend::commit`], which the single apply thread calls (directly or via
//!   [`Backend::commit_if_due`]) together with the consistent index it covers.
//! - A commit is one redb write transaction with `Durability::Immediate`:
//!   after it returns, everything buffered before it survives a crash.
//! - A failed commit is fatal: it is returned, and the backend refuses further
//!   commits. The caller stops the member.
//! - Failpoints `backend_before_commit` / `backend_after_commit` (feature
//!   `failpoints`) abort the process around the durable step.

#![deny(missing_docs)]

mod backend;
mod buffer;
mod crc32c;
mod defrag;
mod error;
mod hash;
pub mod metrics;
mod reader;
mod snapshot;
mod table;

pub use backend::{Backend, BackendConfig, Entries};
pub use self::crc32c::crc32c_update;
pub use defrag::{DefragStats, DEFRAG_FINAL_OPS_MAX, DEFRAG_TAP_OPS_MAX};
pub use error::BackendError;
pub use hash::HASH_IGNORED;
pub use reader::BackendReader;
pub use snapshot::Export;
pub use table::Table;
