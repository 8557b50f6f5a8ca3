//! `snapshot restore`: a new data dir from an etcd bbolt snapshot.
//!
//! What it builds is what a fresh bootstrap of `--initial-cluster` builds
//! (`bootstrap.rs`), plus the data, exactly as etcd 3.4's `v3Manager.Restore`:
//! - the backend (`member/snap/db`) holds the snapshot's buckets translated to
//!   our tables (`backup_codec.rs`), minus the old membership, plus the new
//!   members; its `consistent_index` is N, the number of members;
//! - the WAL holds the N member additions as conf changes at term 1, and the
//!   hard state `{term 1, vote first member, commit N}`;
//! - a Raft snapshot at index N, term 1 carries the new membership, so the
//!   member starts with applied index N = `consistent_index` and applies
//!   nothing twice.
//!
//! Leases are kept as they are; the lessor restarts their TTLs on start.
//!
//! Order that matters: every check (cluster flags, existing dirs, the sha256
//! trailer, the bbolt structure) runs before anything is written; everything
//! is written into hidden temporary directories next to the targets and
//! renamed into place last, so a failed restore leaves nothing behind.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use etcd_backend::{Backend, BackendConfig, Table};
use etcd_bbolt::BoltReader;
use etcd_proto::etcdserverpb::Metadata;
use etcd_raft_node::raft::eraftpb::{
    ConfState, HardState,
};
use etcd_raft_node::DurableLog;
use prost::Message as _;
use sha2::{Digest, Sha256};

use crate::backup_codec::{import_entry, Imported};
use crate::membership::{cluster_id, Member};
use crate::membership_store::MembershipStore;
use crate::ServerError;

/// Bytes of the sha256 trailer `snapshot save` appends.
pub const SNAPSHOT_HASH_BYTES: u64 = 32;
/// Backend writes buffered before a commit while importing.
const IMPORT_BATCH_OPS: usize = 10_000;

/// What to restore, and as which member (the `snapshot restore` flags).
#[derive(Debug, Clone)]
pub struct RestoreConfig {
    /// The snapshot file.
    pub snapshot_path: PathBuf,
    /// `--name`.
    pub name: String,
    /// `--data-dir` (etcd's default: `<name>.etcd`).
    pub data_dir: PathBuf,
    /// `--wal-dir`; default `<data-dir>/member/wal`.
    pub wal_dir: Option<PathBuf>,
    /// `--initial-cluster`.
    pub initial_cluster: String,
    /// `--initial-cluster-token`.
    pub initial_cluster_token: String,
    /// `--initial-advertise-peer-urls`.
    pub initial_advertise_peer_urls: Vec<String>,
    /// `--skip-hash-check`.
    pub skip_hash_check: bool,
}

/// What a restore produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSummary {
    /// The restored member's id.
    pub member_id: u64,
    /// The new cluster's id.
    pub cluster_id: u64,
    /// The Raft index the member starts at (= number of members).
    pub index: u64,
    /// Entries imported from the snapshot.
    pub entries: u64,
}

/// Restores `cfg.snapshot_path` into a new data dir. Error texts are etcd's
/// where etcd has one (`data-dir "x" exists`, the sha256 mismatch, ...).
pub fn restore_snapshot(cfg: &RestoreConfig) -> Result<RestoreSummary, ServerError> {
    let members = cluster_members(cfg)?;
    if cfg.data_dir.exists() {
        return Err(ServerError::Config(format!(
            "data-dir {:?} exists",
            cfg.data_dir.display().to_string()
        )));
    }
    if let Some(w) = &cfg.wal_dir {
        if w.exists() {
            return Err(ServerError::Config(format!(
                "wal-dir {:?} exists",
                w.display().to_string()
            )));
        }
    }
    verify_hash(&cfg.snapshot_path, cfg.skip_hash_check)?;
    let db = BoltReader::open(&cfg.snapshot_path).map_err(|e| {
        ServerError::Config(format!(
            "cannot read snapshot {}: {e}",
            cfg.snapshot_path.display()
        ))
    })?;

    let mut guard = TempDirs::default();
    let tmp_data = guard.add(temp_sibling(&cfg.data_dir))?;
    let tmp_wal = match &cfg.wal_dir {
        Some(w) => guard.add(temp_sibling(w))?,
        None => tmp_data.join("member").join("wal"),
    };
    let snap_dir = tmp_data.join("member").join("snap");
    std::fs::create_dir_all(&snap_dir)?;

    let me = members
        .iter()
        .find(|m| m.name == cfg.name)
        .expect("checked by cluster_members")
        .id;
    let cid = cluster_id(&members.iter().map(|m| m.id).collect::<Vec<_>>());
    let index = members.len() as u64;
    let (entries, membership) = write_backend(&db, &snap_dir.join("db"), &members, cid, index)?;
    write_log(&tmp_wal, &snap_dir, &members, me, cid, &membership)?;

    if let Some(w) = &cfg.wal_dir {
        std::fs::rename(&tmp_wal, w)?;
    }
    if let Err(e) = std::fs::rename(&tmp_data, &cfg.data_dir) {
        if let Some(w) = &cfg.wal_dir {
            let _ = std::fs::remove_dir_all(w);
        }
        return Err(e.into());
    }
    guard.disarm();
    Ok(RestoreSummary {
        member_id: me,
        cluster_id: cid,
        index,
        entries,
    })
}

/// The members of `--initial-cluster`, checked like etcd's `VerifyBootstrap`.
fn cluster_members(cfg: &RestoreConfig) -> Result<Vec<Member>, ServerError> {
    let (members, me) = crate::bootstrap::initial_members(&cfg.initial_cluster, &cfg.initial_cluster_token, &cfg.name)?;
    let me = &me;
    let mut own = cfg.initial_advertise_peer_urls.clone();
    own.sort();
    if own != me.peer_urls {
        return Err(ServerError::Config(format!(
            "--initial-cluster has {}={} but missing from --initial-advertise-peer-urls={}",
            me.name,
            me.peer_urls.join(","),
            cfg.initial_advertise_peer_urls.join(",")
        )));
    }
    Ok(members)
}

/// Checks the sha256 trailer as etcd does: a file whose length is 32 past a
/// multiple of 512 carries one (bbolt files are whole pages).
fn verify_hash(path: &Path, skip: bool) -> Result<(), ServerError> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let has_hash = len % 512 == SNAPSHOT_HASH_BYTES;
    if !has_hash {
        if skip {
            return Ok(());
        }
        return Err(ServerError::Config(
            "snapshot missing hash but --skip-hash-check=false".into(),
        ));
    }
    if skip {
        return Ok(());
    }
    let mut h = Sha256::new();
    let mut left = len - SNAPSHOT_HASH_BYTES;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        f.read_exact(&mut buf[..n])?;
        h.update(&buf[..n]);
        left -= n as u64;
    }
    let mut want = [0u8; SNAPSHOT_HASH_BYTES as usize];
    f.read_exact(&mut want)?;
    let got = h.finalize();
    if got.as_slice() != want {
        return Err(ServerError::Config(format!(
            "expected sha256 {}, got {}",
            go_bytes(&want),
            go_bytes(&got)
        )));
    }
    Ok(())
}

/// A byte slice as Go's `%v` prints it: `[1 2 3]`.
fn go_bytes(b: &[u8]) -> String {
    let parts: Vec<String> = b.iter().map(u8::to_string).collect();
    format!("[{}]", parts.join(" "))
}

/// Imports the snapshot's buckets and writes the new membership; returns the
/// number of imported entries and the membership JSON for the Raft snapshot.
fn write_backend(
    db: &BoltReader,
    path: &Path,
    members: &[Member],
    cid: u64,
    index: u64,
) -> Result<(u64, Vec<u8>), ServerError> {
    let backend = Arc::new(Backend::open(
        path,
        BackendConfig {
            batch_interval_ms: u64::MAX / 2,
            batch_limit: IMPORT_BATCH_OPS,
        },
    )?);
    let mut imported = 0u64;
    let bad =
        |e: etcd_bbolt::BoltError| ServerError::Config(format!("snapshot file is corrupt: {e}"));
    for bucket in db.buckets().map_err(bad)? {
        let mut failed: Option<ServerError> = None;
        db.for_each(&bucket, |k, v| {
            match import_entry(&bucket, k, v) {
                Ok(Imported::Put(t, k, v)) => {
                    backend.put(t, &k, &v);
                    imported += 1;
                }
                Ok(Imported::Skip) => {}
                Err(e) => {
                    failed = Some(ServerError::Config(format!(
                        "snapshot file is corrupt: {e}"
                    )));
                    return false;
                }
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
    backend.put(
        Table::Meta,
        etcd_mvcc::CONSISTENT_INDEX_KEY,
        &index.to_le_bytes(),
    );
    let store = MembershipStore::new(backend.clone(), cid, None);
    for m in members {
        store.upsert(m.clone());
    }
    let membership = store.snapshot_bytes();
    backend.commit()?;
    Ok((imported, membership))
}

/// Writes the WAL (member additions, hard state) and the Raft snapshot at
/// the last of them, as `bootstrap.rs` plus etcd's restore do.
fn write_log(
    wal_dir: &Path,
    snap_dir: &Path,
    members: &[Member],
    me: u64,
    cid: u64,
    membership: &[u8],
) -> Result<(), ServerError> {
    let meta = Metadata {
        node_id: Some(me),
        cluster_id: Some(cid),
    }
    .encode_to_vec();
    let entries = crate::bootstrap::add_member_entries(members);
    let index = entries.len() as u64;
    let hs = HardState { term: 1, vote: members[0].id, commit: index, ..Default::default() };
    let mut log = DurableLog::create(wal_dir, snap_dir, &meta, &entries, &hs)?;
    let cs = ConfState { voters: members.iter().map(|m| m.id).collect(), ..Default::default() };
    let data = crate::snapshot_payload::encode(membership, etcd_v2store::Store::new().save());
    log.create_snapshot(index, cs, data)?;
    Ok(())
}

/// `<parent>/.<name>.restore-<pid>`, next to `target` so the final rename
/// stays on one file system.
fn temp_sibling(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".into());
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    parent.join(format!(".{name}.restore-{}", std::process::id()))
}

/// Temporary directories removed on drop unless disarmed.
#[derive(Default)]
struct TempDirs {
    dirs: Vec<PathBuf>,
}

impl TempDirs {
    fn add(&mut self, dir: PathBuf) -> Result<PathBuf, ServerError> {
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
        self.dirs.push(dir.clone());
        Ok(dir)
    }

    fn disarm(&mut self) {
        self.dirs.clear();
    }
}

impl Drop for TempDirs {
    fn drop(&mut self) {
        for d in &self.dirs {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}
