//! The bbolt file format, as etcd's backend and `snapshot save` files use it.
//!
//! - [`BoltWriter`]: sorted top-level buckets and keys in, a compact, valid
//!   bbolt file out (one pass, bounded memory).
//! - [`BoltReader`]: open a file (validating metas, checksums, bounds and
//!   key order as it reads), list buckets, iterate a bucket in key order.
//! - [`snapshot_status`]: what `etcdctl snapshot status` prints.
//!
//! The layout is specified in `FORMAT.md` beside this crate; the golden file
//! `tests/golden/etcd-3.4.23-snapshot.db` (saved from a real etcd 3.4.23)
//! pins the reader to the real format.
//!
//! ```
//! use etcd_bbolt::{BoltReader, BoltWriter};
//! let mut file = tempfile::tempfile().unwrap();
//! let mut w = BoltWriter::new(&mut file).unwrap();
//! w.begin_bucket(b"key").unwrap();
//! w.put(b"a", b"1").unwrap();
//! w.finish().unwrap();
//! let r = BoltReader::from_file(file).unwrap();
//! assert_eq!(r.buckets().unwrap(), vec![b"key".to_vec()]);
//! ```

#![deny(missing_docs)]

mod error;
mod node;
pub mod page;
mod reader;
mod status;
mod writer;

pub use error::BoltError;
pub use reader::{BoltReader, TREE_DEPTH_MAX};
pub use status::{snapshot_status, SnapshotStatus};
pub use writer::{BoltWriter, KEY_BYTES_MAX, PAGE_SIZE_DEFAULT, VALUE_BYTES_MAX};
