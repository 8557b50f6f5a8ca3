//! `etcdutl snapshot status|restore` (etcdctl 3.4's `snapshot_command.go`):
//! clap flags here, the work in bin/common/offline_snapshot.rs (shared with etcdctl).

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::offline_snapshot;
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
    let status = offline_snapshot::read_status(file).map_err(|e| (EXIT_ERROR, e))?;
    match offline_snapshot::render_status(&status, write_out) {
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
    offline_snapshot::restore(&offline_snapshot::RestoreFlags {
        file: file.clone(),
        data_dir: a.data_dir.clone(),
        wal_dir: a.wal_dir.clone(),
        initial_cluster: a.initial_cluster.clone(),
        initial_cluster_token: a.initial_cluster_token.clone(),
        initial_advertise_peer_urls: a.initial_advertise_peer_urls.clone(),
        name: a.name.clone(),
        skip_hash_check: a.skip_hash_check,
    })
    .map_err(|e| (EXIT_ERROR, e))
}
