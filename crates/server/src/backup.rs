//! Maintenance.Snapshot: the backend as an etcd 3.4 bbolt file, streamed.
//!
//! Contract (etcd's `maintenanceServer.Snapshot`):
//! - The file is a bbolt database holding etcd's buckets in etcd's encodings
//!   (`backup_codec.rs`), so real `etcdctl snapshot status`/`restore` and our
//!   `etcdutl` accept it.
//! - It is sent in [`SNAPSHOT_CHUNK_BYTES`] chunks, each with the bytes still
//!   to come after it (`remaining_bytes`), then one last message whose blob is
//!   the sha256 of the whole file (`remaining_bytes` 0), which `etcdctl`
//!   appends to the saved file for `restore` to verify.
//! - Consistency: the applier commits and pins the backend between two
//!   entries ([`etcd_backend::Export`], a redb read transaction), so the file
//!   holds whole entries and the `consistent_index` that covers them. Nobody
//!   waits for the copy: writers go on against newer transactions, and the
//!   transfer to the client reads the finished local file at its own speed.
//! - Bounded: at most [`SNAPSHOT_QUEUE_CHUNKS`] chunks wait for the client;
//!   the temporary file is unlinked as soon as it is created, so nothing is
//!   left behind whatever happens.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom};
use std::path::Path;

use etcd_backend::{Export, Table};
use etcd_bbolt::BoltWriter;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use crate::backup_codec::export_entry;
use crate::EtcdServer;

/// Bytes of data per snapshot message (etcd's `snapshotSendBufferSize`).
pub const SNAPSHOT_CHUNK_BYTES: usize = 32 * 1024;
/// Chunks queued for a slow client before the reader waits.
pub const SNAPSHOT_QUEUE_CHUNKS: usize = 4;

/// One message of the snapshot stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotChunk {
    /// Bytes still to come after this chunk (0 on the last data chunk and on
    /// the checksum).
    pub remaining_bytes: u64,
    /// File bytes, or the 32-byte sha256 in the final message.
    pub blob: Vec<u8>,
}

impl EtcdServer {
    /// Starts a snapshot of the backend; the receiver yields the chunks, then
    /// the sha256 message, or an error text (etcd answers it as `Unknown`).
    /// Dropping the receiver stops the transfer.
    pub fn snapshot_stream(&self) -> mpsc::Receiver<Result<SnapshotChunk, String>> {
        let (tx, rx) = mpsc::channel(SNAPSHOT_QUEUE_CHUNKS);
        let requests = self.backup_tx.clone();
        let dir = self.config().snap_dir();
        let spawned = std::thread::Builder::new().name("snapshot-send".into()).spawn({
            let tx = tx.clone();
            move || {
                if let Err(e) = pinned_view(&requests).and_then(|view| send_snapshot(&view, &dir, &tx)) {
                    tracing::warn!(target: "etcdserver/api/v3rpc", "failed to send database snapshot: {e}");
                    let _ = tx.blocking_send(Err(e));
                }
            }
        });
        if let Err(e) = spawned {
            let _ = tx.try_send(Err(format!("cannot start the snapshot: {e}")));
        }
        rx
    }
}

/// The applier's answer to a backup: a pinned view or why not.
pub(crate) type ExportReply = std::sync::mpsc::SyncSender<Result<Export, String>>;

/// How long a backup waits for the applier to pin a view.
const PIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Asks the applier for a view of the backend between two entries.
fn pinned_view(requests: &std::sync::mpsc::Sender<ExportReply>) -> Result<Export, String> {
    let (reply, view) = std::sync::mpsc::sync_channel(1);
    requests
        .send(reply)
        .map_err(|_| "the server is stopping".to_string())?;
    view.recv_timeout(PIN_TIMEOUT)
        .map_err(|_| format!("the applier did not pin the database within {PIN_TIMEOUT:?}"))?
}

fn send_snapshot(
    view: &Export,
    dir: &Path,
    tx: &mpsc::Sender<Result<SnapshotChunk, String>>,
) -> Result<(), String> {
    let mut file = unlinked_temp_file(dir)
        .map_err(|e| format!("cannot create a temporary file in {}: {e}", dir.display()))?;
    let total = write_bolt_snapshot(view, &mut file)?;
    tracing::info!(target: "etcdserver/api/v3rpc", "sending database snapshot to client [{total} bytes]");
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut hash = Sha256::new();
    let mut sent = 0u64;
    while sent < total {
        let want = (total - sent).min(SNAPSHOT_CHUNK_BYTES as u64) as usize;
        let mut blob = vec![0u8; want];
        file.read_exact(&mut blob)
            .map_err(|e| format!("reading the snapshot file: {e}"))?;
        sent += want as u64;
        hash.update(&blob);
        if tx
            .blocking_send(Ok(SnapshotChunk {
                remaining_bytes: total - sent,
                blob,
            }))
            .is_err()
        {
            return Ok(()); // the client went away
        }
    }
    let sha = hash.finalize().to_vec();
    tracing::info!(target: "etcdserver/api/v3rpc", "sending database sha256 checksum to client [{} bytes]", sha.len());
    let _ = tx.blocking_send(Ok(SnapshotChunk {
        remaining_bytes: 0,
        blob: sha,
    }));
    tracing::info!(target: "etcdserver/api/v3rpc", "successfully sent database snapshot to client [{total} bytes]");
    Ok(())
}

/// A new file in `dir`, already unlinked: it vanishes when closed.
fn unlinked_temp_file(dir: &Path) -> std::io::Result<File> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let path = dir.join(format!(".snapshot-send-{}-{nanos}.tmp", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

/// Writes the backend's contents as an etcd bbolt database into `out`
/// (from offset 0); returns its size in bytes.
pub(crate) fn write_bolt_snapshot(view: &Export, out: &mut File) -> Result<u64, String> {
    let mut tables = Table::ALL;
    tables.sort_by_key(|t| t.name());
    let mut w =
        BoltWriter::new(BufWriter::with_capacity(1 << 20, &mut *out)).map_err(|e| e.to_string())?;
    {
        let reader = view;
        for t in tables {
            w.begin_bucket(t.name().as_bytes())
                .map_err(|e| e.to_string())?;
            if t == Table::Key {
                // Revision keys keep their encoding and order: stream them.
                let mut failed = None;
                reader
                    .for_each(t, |k, v| match w.put(k, v) {
                        Ok(()) => true,
                        Err(e) => {
                            failed = Some(e.to_string());
                            false
                        }
                    })
                    .map_err(|e| e.to_string())?;
                if let Some(e) = failed {
                    return Err(e);
                }
                continue;
            }
            let mut entries = BTreeMap::new();
            reader
                .for_each(t, |k, v| {
                    if let Some((k, v)) = export_entry(t, k, v) {
                        entries.insert(k, v);
                    }
                    true
                })
                .map_err(|e| e.to_string())?;
            if t == Table::Cluster {
                entries
                    .entry(b"clusterVersion".to_vec())
                    .or_insert_with(|| crate::CLUSTER_VERSION.as_bytes().to_vec());
            }
            for (k, v) in &entries {
                w.put(k, v).map_err(|e| e.to_string())?;
            }
        }
    }
    let (buf, size) = w.finish().map_err(|e| e.to_string())?;
    buf.into_inner().map_err(|e| e.to_string())?;
    out.sync_data().map_err(|e| e.to_string())?;
    Ok(size)
}
