//! Starting on a data dir written by etcd 3.4: a one-time conversion into
//! our formats (issue 7: swap the binaries, keep the data dir; and start on
//! the dirs the real `etcdctl snapshot restore` writes).
//!
//! Detection: `<wal-dir>` holds etcd-framed `.wal` segments
//! (`etcd_wal::etcd::is_etcd_wal_dir`). Then, before anything else boots:
//! 1. take etcd's `flock` on its segments (refuse while an etcd runs);
//! 2. read the WAL (metadata, snapshot records, last hard state, entries)
//!    and the newest `.snap` that the WAL lists at or below its commit;
//! 3. build, in temporary dirs beside the originals, our backend from
//!    etcd's bbolt `db` (bucket by bucket through `backup_codec`, the same
//!    translation `snapshot restore` uses), and our WAL + snapshot holding
//!    the same Raft state: metadata (member and cluster ids), the snapshot
//!    (conf state; its v2 store and membership converted, `v2tree.rs`), the
//!    hard state and every entry after the snapshot (rewritten where etcd's
//!    encoding differs, `entries.rs`), so the applier replays what the db
//!    does not hold yet (it skips entries at or below `consistent_index`);
//! 4. swap the dirs crash-safely (`swap.rs`): etcd's files end up in
//!    `<dir>.etcd-3.4-backup`, never deleted.
//!
//! Any error before the swap leaves etcd's files as they were.

mod entries;
mod swap;
mod v2history;
mod v2tree;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use etcd_backend::{Backend, BackendConfig, Table};
use etcd_bbolt::BoltReader;
use etcd_proto::etcdserverpb::Metadata;
use etcd_raft_node::raft::eraftpb::{Entry, HardState, Snapshot};
use etcd_raft_node::DurableLog;
use etcd_wal::etcd::{
    is_etcd_wal_dir, load_newest_etcd_snap, lock_etcd_wal, read_etcd_wal, EtcdSnap, EtcdWal,
};
use etcd_wal::WalError;
use prost::Message as _;
use protobuf::Message as _;

use crate::backup_codec::{import_entry, Imported};
use crate::config::ServerConfig;
use crate::membership::Member;
use crate::ServerError;

/// Backend writes buffered before a commit while importing.
const IMPORT_BATCH_OPS: usize = 10_000;

/// A member's published attributes, as etcd 3.4 stores them in JSON.
#[derive(serde::Deserialize)]
pub(crate) struct Attributes {
    #[serde(default)]
    name: String,
    #[serde(rename = "clientURLs", default)]
    client_urls: Vec<String>,
}

/// What an import converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// This member's id (from etcd's WAL metadata).
    pub member_id: u64,
    /// The cluster id.
    pub cluster_id: u64,
    /// Index of etcd's Raft snapshot (0 without one).
    pub snapshot_index: u64,
    /// Index of the last WAL entry.
    pub last_index: u64,
    /// The hard state's commit index.
    pub commit: u64,
    /// The db's `consistent_index`.
    pub consistent_index: u64,
    /// The newest revision in the db's `key` bucket.
    pub revision: i64,
    /// Members listed in the db.
    pub members: Vec<u64>,
}

/// True when an interrupted import is decided and waits to be finished
/// (the WAL may be missing meanwhile: this is no new member to join).
pub(crate) fn pending(cfg: &ServerConfig) -> bool {
    let pairs = swap::pairs(&cfg.member_dir(), cfg.wal_dir.as_deref());
    pairs
        .last()
        .is_some_and(|p| p.tmp.join(swap::MARKER).exists())
}

/// Finishes an interrupted import, then imports etcd 3.4 data if the WAL
/// dir holds it. `Ok(None)` when there was nothing to import.
pub fn import_if_etcd(cfg: &ServerConfig) -> Result<Option<ImportSummary>, ServerError> {
    let pairs = swap::pairs(&cfg.member_dir(), cfg.wal_dir.as_deref());
    if swap::finish(&pairs)? {
        tracing::info!(target: "etcdserver", "finished an interrupted import of etcd 3.4 data; etcd's files are in *{}", swap::BACKUP_SUFFIX);
        return Ok(None);
    }
    let wal_dir = cfg.wal_dir();
    if !is_etcd_wal_dir(&wal_dir) {
        return Ok(None);
    }
    tracing::info!(target: "etcdserver", "found etcd 3.4 data in {}; importing it", wal_dir.display());
    swap::check_free(&pairs)?;
    let _locks = lock_etcd_wal(&wal_dir).map_err(|e| match e {
        WalError::Locked { path } => ServerError::Config(format!(
            "cannot import etcd 3.4 data: {} is locked (is etcd still running?)",
            path.display()
        )),
        e => refused(e),
    })?;
    let mut guard = TmpGuard(pairs.iter().map(|p| p.tmp.clone()).collect());
    let member_tmp = &pairs.last().expect("member pair").tmp;
    let wal_tmp = if cfg.wal_dir.is_some() {
        pairs[0].tmp.clone()
    } else {
        member_tmp.join("wal")
    };
    for p in &pairs {
        std::fs::create_dir_all(&p.tmp)?;
    }
    let summary = convert(
        &wal_dir,
        &cfg.snap_dir(),
        &wal_tmp,
        &member_tmp.join("snap"),
    )?;
    swap::decide(&pairs)?;
    guard.0.clear();
    swap::finish(&pairs)?;
    tracing::info!(target: "etcdserver",
        "imported etcd 3.4 data: member {:x} cluster {:x}, snapshot index {}, last index {}, commit {}, consistent index {}, revision {}, members {:x?}; etcd's files are in *{}",
        summary.member_id, summary.cluster_id, summary.snapshot_index, summary.last_index, summary.commit,
        summary.consistent_index, summary.revision, summary.members, swap::BACKUP_SUFFIX);
    Ok(Some(summary))
}

fn refused(e: impl std::fmt::Display) -> ServerError {
    ServerError::Config(format!("cannot import etcd 3.4 data: {e}"))
}

/// Reads etcd's WAL, snapshot and db; writes ours into `wal_out`/`snap_out`.
fn convert(
    wal_dir: &Path,
    snap_dir: &Path,
    wal_out: &Path,
    snap_out: &Path,
) -> Result<ImportSummary, ServerError> {
    let wal = read_etcd_wal(wal_dir).map_err(refused)?;
    if let Some((path, off)) = &wal.torn_tail {
        tracing::warn!(target: "etcdserver", "etcd WAL {} has a torn tail at offset {off}; importing the records before it", path.display());
    }
    let meta = Metadata::decode(wal.metadata.as_slice())
        .map_err(|e| refused(format!("bad WAL metadata: {e}")))?;
    let (snap, skipped) =
        load_newest_etcd_snap(snap_dir, &wal.valid_snapshots()).map_err(refused)?;
    for (path, why) in skipped {
        tracing::warn!(target: "etcdserver", "skipping etcd snapshot {}: {why}", path.display());
    }
    let (snapshot_index, entries, hs) = log_after(&wal, snap.as_ref())?;
    let db_path = pick_db(snap_dir, snapshot_index)?;
    let db = BoltReader::open(&db_path)
        .map_err(|e| refused(format!("cannot read {}: {e}", db_path.display())))?;
    std::fs::create_dir_all(snap_out)?;
    let backend = write_backend(&db, &snap_out.join("db"))?;
    let mut log = DurableLog::create(wal_out, snap_out, &wal.metadata, &[], &HardState::default())?;
    if let Some(s) = &snap {
        log.install_snapshot(&our_snapshot(s)?)?;
    }
    log.persist(Some(&hs), &entries)?;
    Ok(ImportSummary {
        member_id: meta.node_id.unwrap_or(0),
        cluster_id: meta.cluster_id.unwrap_or(0),
        snapshot_index,
        last_index: entries.last().map(|e| e.index).unwrap_or(snapshot_index),
        commit: hs.commit,
        consistent_index: backend.consistent_index,
        revision: backend.revision,
        members: backend.members,
    })
}

/// The snapshot index, the converted entries after it, and the hard state.
fn log_after(
    wal: &EtcdWal,
    snap: Option<&EtcdSnap>,
) -> Result<(u64, Vec<Entry>, HardState), ServerError> {
    let start = snap.map(|s| s.index).unwrap_or(0);
    if snap.is_none() && !wal.snapshots.iter().any(|s| s.index == 0) {
        return Err(refused(
            "no usable snapshot file matches the WAL, and the WAL no longer starts at index 1",
        ));
    }
    let mut counts = entries::Rewrites::default();
    let mut out = Vec::new();
    for e in wal.entries.iter().filter(|e| e.index > start) {
        out.push(entries::convert(&e.data, &mut counts).map_err(refused)?);
    }
    if let Some(first) = out.first() {
        if first.index != start + 1 {
            return Err(refused(format!(
                "the WAL's entries start at {} but the snapshot is at {start}",
                first.index
            )));
        }
    }
    let hs = match &wal.hard_state {
        Some(b) => {
            HardState::parse_from_bytes(b).map_err(|e| refused(format!("bad hard state: {e}")))?
        }
        None => HardState::default(),
    };
    let last = out.last().map(|e| e.index).unwrap_or(start);
    if hs.commit > last {
        return Err(refused(format!(
            "the hard state commits index {} but the WAL ends at {last}",
            hs.commit
        )));
    }
    tracing::info!(target: "etcdserver", "etcd WAL: {} entries after snapshot index {start}; rewritten: {:?}", out.len(), counts);
    Ok((start, out, hs))
}

/// etcd's raft snapshot with its data in our payload format.
fn our_snapshot(s: &EtcdSnap) -> Result<Snapshot, ServerError> {
    let mut snap = Snapshot::parse_from_bytes(&s.raft_snapshot)
        .map_err(|e| refused(format!("bad snapshot {}: {e}", s.path.display())))?;
    let (membership, v2) = v2tree::convert(&snap.data).map_err(refused)?;
    snap.data = crate::snapshot_payload::encode(&membership, v2).into();
    Ok(snap)
}

/// `snap/db`, or the `<index>.snap.db` a follower received but had not yet
/// moved into place when it stopped (etcd's `recoverSnapshotBackend`).
fn pick_db(snap_dir: &Path, snapshot_index: u64) -> Result<PathBuf, ServerError> {
    let db = snap_dir.join("db");
    let ci = consistent_index(&db)?;
    if ci >= snapshot_index {
        return Ok(db);
    }
    let received = snap_dir.join(format!("{snapshot_index:016x}.snap.db"));
    if received.exists() && consistent_index(&received)? >= snapshot_index {
        return Ok(received);
    }
    Err(refused(format!(
        "the db's consistent index {ci} is older than the snapshot at {snapshot_index}, and no {} holds it",
        received.display()
    )))
}

fn consistent_index(db: &Path) -> Result<u64, ServerError> {
    let r =
        BoltReader::open(db).map_err(|e| refused(format!("cannot read {}: {e}", db.display())))?;
    let mut ci = 0;
    r.for_each(b"meta", |k, v| {
        if k == etcd_mvcc::CONSISTENT_INDEX_KEY {
            ci = v.try_into().map(u64::from_be_bytes).unwrap_or(0);
            return false;
        }
        true
    })
    .map_err(|e| refused(format!("cannot read {}: {e}", db.display())))?;
    Ok(ci)
}

/// What the imported backend holds.
struct BackendFacts {
    consistent_index: u64,
    revision: i64,
    members: Vec<u64>,
}

/// Copies every bucket of etcd's db into a new backend at `path`.
fn write_backend(db: &BoltReader, path: &Path) -> Result<BackendFacts, ServerError> {
    let backend = Arc::new(Backend::open(
        path,
        BackendConfig {
            batch_interval_ms: u64::MAX / 2,
            batch_limit: IMPORT_BATCH_OPS,
        },
    )?);
    let mut facts = BackendFacts {
        consistent_index: 0,
        revision: 0,
        members: vec![],
    };
    let bad = |e: etcd_bbolt::BoltError| refused(format!("the db is corrupt: {e}"));
    for bucket in db.buckets().map_err(bad)? {
        let mut failed: Option<ServerError> = None;
        db.for_each(&bucket, |k, v| {
            let put = match import_bucket_entry(&bucket, k, v, &mut facts) {
                Ok(p) => p,
                Err(e) => {
                    failed = Some(refused(format!("the db is corrupt: {e}")));
                    return false;
                }
            };
            if let Some((t, k, v)) = put {
                backend.put(t, &k, &v);
            }
            if backend.pending_ops() >= IMPORT_BATCH_OPS {
                if let Err(e) = backend.commit() {
                    failed = Some(e.into());
                    return false;
                }
            }
            true
        })
        .map_err(bad)?;
        if let Some(e) = failed {
            return Err(e);
        }
    }
    backend.commit()?;
    Ok(facts)
}

/// A table, key and value to put in our backend.
type TableEntry = (Table, Vec<u8>, Vec<u8>);

/// One db entry in our encoding. Members are keyed by hex id in etcd and by
/// 8-byte big-endian id in ours; everything else goes through `backup_codec`.
fn import_bucket_entry(
    bucket: &[u8],
    k: &[u8],
    v: &[u8],
    facts: &mut BackendFacts,
) -> Result<Option<TableEntry>, String> {
    let member_id = || {
        std::str::from_utf8(k)
            .ok()
            .and_then(|s| u64::from_str_radix(s, 16).ok())
            .ok_or_else(|| format!("bad member key {:?}", String::from_utf8_lossy(k)))
    };
    match bucket {
        b"members" => {
            let id = member_id()?;
            let mut m: Member =
                serde_json::from_slice(v).map_err(|e| format!("bad member {id:x}: {e}"))?;
            m.id = id;
            facts.members.push(id);
            let json = serde_json::to_vec(&m).expect("member serialises");
            Ok(Some((Table::Members, id.to_be_bytes().to_vec(), json)))
        }
        b"members_removed" => Ok(Some((
            Table::MembersRemoved,
            member_id()?.to_be_bytes().to_vec(),
            b"removed".to_vec(),
        ))),
        _ => match import_entry(bucket, k, v)? {
            Imported::Put(t, k, v) => {
                if t == Table::Meta && k == etcd_mvcc::CONSISTENT_INDEX_KEY {
                    facts.consistent_index =
                        v.as_slice().try_into().map(u64::from_le_bytes).unwrap_or(0);
                }
                if t == Table::Key && k.len() >= 8 {
                    facts.revision = facts
                        .revision
                        .max(i64::from_be_bytes(k[..8].try_into().expect("8 bytes")));
                }
                Ok(Some((t, k, v)))
            }
            Imported::Skip => Ok(None),
        },
    }
}

/// Removes the temporary dirs unless the import was decided.
struct TmpGuard(Vec<PathBuf>);

impl Drop for TmpGuard {
    fn drop(&mut self) {
        for d in &self.0 {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}
