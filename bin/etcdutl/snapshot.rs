//! `etcdutl snapshot status|restore` (etcdctl 3.4's `snapshot_command.go`).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use etcd_server::{restore_snapshot, RestoreConfig};

use crate::{EXIT_BAD_ARGS, EXIT_ERROR};

type CmdResult = Result<(), (i32, String)>;

#[derive(Subcommand)]
pub enum SnapshotCommand {
    /// Gets backend snapshot status of a given file.
    Status {
        /// The snapshot file.
        files: Vec<PathBuf>,
    },
    /// Restores an etcd member snapshot to an etcd directory.
    Restore(RestoreArgs),
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The snapshot file.
    files: Vec<PathBuf>,
    /// Path to the data directory.
    #[arg(long = "data-dir", default_value = "")]
    data_dir: String,
    /// Path to the WAL directory (use --data-dir if none given).
    #[arg(long = "wal-dir", default_value = "")]
    wal_dir: String,
    /// Initial cluster configuration for restore bootstrap.
    #[arg(
        long = "initial-cluster",
        default_value = "default=http://localhost:2380"
    )]
    initial_cluster: String,
    /// Initial cluster token for the etcd cluster during restore bootstrap.
    #[arg(long = "initial-cluster-token", default_value = "etcd-cluster")]
    initial_cluster_token: String,
    /// List of this member's peer URLs to advertise to the rest of the cluster.
    #[arg(
        long = "initial-advertise-peer-urls",
        default_value = "http://localhost:2380"
    )]
    initial_advertise_peer_urls: String,
    /// Human-readable name for this member.
    #[arg(long = "name", default_value = "default")]
    name: String,
    /// Ignore snapshot integrity hash value (required if copied from data directory).
    #[arg(long = "skip-hash-check", default_value_t = false)]
    skip_hash_check: bool,
}

pub fn run(cmd: SnapshotCommand, write_out: &str) -> CmdResult {
    match cmd {
        SnapshotCommand::Status { files } => status(&files, write_out),
        SnapshotCommand::Restore(args) => restore(&args),
    }
}

fn status(files: &[PathBuf], write_out: &str) -> CmdResult {
    let [file] = files else {
        return Err((
            EXIT_BAD_ARGS,
            "snapshot status requires exactly one argument".into(),
        ));
    };
    if let Err(e) = std::fs::metadata(file) {
        return Err((
            EXIT_ERROR,
            format!("stat {}: {}", file.display(), go_io_error(&e)),
        ));
    }
    let status = etcd_bbolt::BoltReader::open(file)
        .and_then(|db| etcd_bbolt::snapshot_status(&db))
        .map_err(|e| (EXIT_ERROR, e.to_string()))?;
    match crate::printer::db_status(&status, write_out) {
        Some(text) => {
            print!("{text}");
            Ok(())
        }
        None => Err((
            EXIT_BAD_ARGS,
            format!("unknown output format {write_out:?}"),
        )),
    }
}

fn restore(a: &RestoreArgs) -> CmdResult {
    let [file] = a.files.as_slice() else {
        return Err((
            EXIT_BAD_ARGS,
            "snapshot restore requires exactly one argument".into(),
        ));
    };
    let data_dir = if a.data_dir.is_empty() {
        PathBuf::from(format!("{}.etcd", a.name))
    } else {
        PathBuf::from(&a.data_dir)
    };
    let wal_dir = (!a.wal_dir.is_empty()).then(|| PathBuf::from(&a.wal_dir));
    let shown_wal = wal_dir
        .clone()
        .unwrap_or_else(|| data_dir.join("member").join("wal"));
    let cfg = RestoreConfig {
        snapshot_path: file.clone(),
        name: a.name.clone(),
        data_dir: data_dir.clone(),
        wal_dir,
        initial_cluster: a.initial_cluster.clone(),
        initial_cluster_token: a.initial_cluster_token.clone(),
        initial_advertise_peer_urls: a
            .initial_advertise_peer_urls
            .split(',')
            .map(str::to_string)
            .collect(),
        skip_hash_check: a.skip_hash_check,
    };
    let log = |msg: &str| {
        eprintln!(
            "{{\"level\":\"info\",\"msg\":\"{msg}\",\"path\":{},\"wal-dir\":{},\"data-dir\":{},\"snap-dir\":{}}}",
            json_str(file),
            json_str(&shown_wal),
            json_str(&data_dir),
            json_str(&data_dir.join("member").join("snap"))
        )
    };
    log("restoring snapshot");
    restore_snapshot(&cfg).map_err(|e| (EXIT_ERROR, e.to_string()))?;
    log("restored snapshot");
    Ok(())
}

fn json_str(p: &Path) -> String {
    format!("{:?}", p.display().to_string())
}

/// An I/O error as Go words it (`no such file or directory`).
fn go_io_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
