//! Segmented write-ahead log and snapshot files for etcd-rs.
//!
//! The WAL is the source of truth for a member: every Raft entry and hard state is written and
//! fsynced here before anything in it is acknowledged or sent (Raft thesis §3.8 "persisted
//! before responding"; etcd's `wal` package). Records carry opaque bytes: the caller encodes
//! Raft entries and hard state; this crate knows only `index` and `term` of each entry.
//!
//! - [`Wal`]: segments `<dir>/{seq:016x}-{first_index:016x}.wal`, records framed with a
//!   length and a crc chained across records and segments. A torn tail is cut off on
//!   [`Wal::open`]; bad bytes anywhere else are [`WalError::Corrupt`].
//! - [`Snapshotter`]: whole-file snapshots `<dir>/{term:016x}-{index:016x}.snap`, written
//!   atomically and checked by crc.
//!
//! The on-disk formats are specified in `FORMAT.md` beside this crate, and pinned by the golden
//! files in `tests/golden/`.
//!
//! ```
//! use etcd_wal::{Wal, WalEntry, WalSnapshot};
//! let dir = tempfile::tempdir().unwrap();
//! let mut wal = Wal::create(dir.path(), b"member-meta").unwrap();
//! let entry = WalEntry { index: 1, term: 1, data: b"put a".to_vec() };
//! wal.save(Some(b"hard-state"), &[entry.clone()]).unwrap();
//! drop(wal);
//! let (_wal, contents) = Wal::open(dir.path(), WalSnapshot::default()).unwrap();
//! assert_eq!(contents.metadata, b"member-meta");
//! assert_eq!(contents.hard_state.as_deref(), Some(&b"hard-state"[..]));
//! assert_eq!(contents.entries, vec![entry]);
//! ```
#![deny(missing_docs)]

mod error;
pub mod etcd;
mod lock;
pub mod metrics;
mod payload;
mod record;
mod replay;
mod segment;
mod segment_name;
mod snapshotter;
pub mod test_knobs;
mod wal;

pub use error::WalError;
pub use payload::{WalEntry, WalSnapshot};
pub use record::RECORD_PAYLOAD_BYTES_MAX;
pub use replay::WalContents;
pub use snapshotter::Snapshotter;
pub use wal::{Wal, WalOptions, SEGMENT_BYTES_DEFAULT};
