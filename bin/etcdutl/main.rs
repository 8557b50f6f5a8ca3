//! `etcdutl`: offline tools on data dirs and snapshot files (etcd 3.5's
//! `etcdutl`, with etcdctl 3.4's `snapshot status|restore` flags and output).

#[path = "../common/offline_snapshot.rs"]
mod offline_snapshot;
mod snapshot;

use clap::{Parser, Subcommand};

/// etcdctl's exit code for a general error.
pub const EXIT_ERROR: i32 = 1;
/// etcdctl's exit code for bad arguments.
pub const EXIT_BAD_ARGS: i32 = 128;

#[derive(Parser)]
#[command(name = "etcdutl", version = etcd_server::ETCD_VERSION, about = "An administrative command line tool for etcd-rs")]
struct Cli {
    /// Output format: simple, json, table or fields.
    #[arg(
        short = 'w',
        long = "write-out",
        global = true,
        default_value = "simple"
    )]
    write_out: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manages etcd node snapshots.
    Snapshot {
        #[command(subcommand)]
        command: snapshot::SnapshotCommand,
    },
    /// Prints the version of etcdutl.
    Version,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Snapshot { command } => snapshot::run(command, &cli.write_out),
        Command::Version => {
            println!("etcdutl version: {}", etcd_server::ETCD_VERSION);
            println!("API version: 3.4");
            Ok(())
        }
    };
    if let Err((code, msg)) = result {
        eprintln!("Error: {msg}");
        std::process::exit(code);
    }
}
