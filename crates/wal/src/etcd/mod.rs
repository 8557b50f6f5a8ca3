//! Readers for etcd 3.4's own on-disk Raft log, so a data dir written by the
//! real etcd (or by its `etcdctl snapshot restore`) can be imported once
//! into our formats. Read-only: nothing here writes, renames or truncates
//! etcd's files (a torn tail is reported, not cut).
//!
//! - [`read_etcd_wal`]: every record of `member/wal/*.wal`
//!   (format and reading rules in `record.rs`).
//! - [`load_newest_etcd_snap`]: the newest usable `member/snap/*.snap`
//!   (format in `snap.rs`).
//! - [`is_etcd_wal_dir`] tells etcd's segments from ours (both are named
//!   `<seq>-<index>.wal`).
//!
//! Entries, hard states and snapshots are returned encoded, as `raftpb`
//! messages, which are wire-compatible with raft-rs's `eraftpb`; this crate
//! only reads the index, term and commit numbers it needs for the log rules.

mod proto;
mod record;
mod snap;

pub use record::{is_etcd_wal_dir, lock_etcd_wal, read_etcd_wal, EtcdWal, ETCD_RECORD_BYTES_MAX};
pub use snap::{load_newest_etcd_snap, read_etcd_snap, EtcdSnap, SkippedSnaps};

#[cfg(test)]
mod tests;
