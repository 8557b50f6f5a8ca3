//! `snapshot save` (online, over the Maintenance stream). `snapshot status`
//! and `snapshot restore` work on files and belong to etcdutl: they are
//! routed through [`OFFLINE_HOOK`] so the etcdutl code can be plugged in
//! without touching the command table.

use std::io::Write;

use crate::cli::Parsed;
use crate::exit::{fail, EXIT_BAD_ARGS, EXIT_ERROR, EXIT_INTERRUPTED};
use crate::global::{globals, must_connect};
use crate::gofmt::humanize_bytes;
use crate::printer::out;

/// Runs an offline snapshot subcommand (`status` / `restore`) with its
/// parsed flags; returns the process exit code. None until etcdutl's
/// snapshot code is wired in here.
pub type OfflineSnapshot = fn(&Parsed) -> i32;

/// The hook for `snapshot status` / `snapshot restore` (see module docs).
pub const OFFLINE_HOOK: Option<OfflineSnapshot> = None;

fn info(msg: &str) {
    eprintln!("{{\"level\":\"info\",\"msg\":\"{msg}\"}}");
}

/// `snapshot save <file>`: streams the backend into `<file>.part`, fsyncs
/// and renames it into place.
pub async fn save(p: &mut Parsed) {
    if p.args.len() != 1 {
        fail(EXIT_BAD_ARGS, "snapshot save expects one argument");
    }
    let path = p.args[0].clone();
    let g = globals(p);
    if g.endpoints.len() != 1 {
        fail(
            EXIT_ERROR,
            &format!(
                "snapshot must be requested to one selected node, not multiple {}",
                crate::gofmt::string_slice(&g.endpoints)
            ),
        );
    }
    let c = must_connect(&g, EXIT_ERROR).await;
    let part = format!("{path}.part");
    let mut f =
        std::fs::File::create(&part).unwrap_or_else(|e| fail(EXIT_INTERRUPTED, &e.to_string()));
    info(&format!("created temporary db file {part}"));
    let mut stream = c
        .snapshot()
        .await
        .unwrap_or_else(|e| fail(EXIT_INTERRUPTED, &e.to_string()));
    let mut size: u64 = 0;
    loop {
        match stream.next().await {
            Ok(Some(chunk)) => {
                size += chunk.blob.len() as u64;
                f.write_all(&chunk.blob)
                    .unwrap_or_else(|e| fail(EXIT_INTERRUPTED, &e.to_string()));
            }
            Ok(None) => break,
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                fail(EXIT_INTERRUPTED, &e.to_string());
            }
        }
    }
    f.sync_all()
        .unwrap_or_else(|e| fail(EXIT_INTERRUPTED, &e.to_string()));
    std::fs::rename(&part, &path).unwrap_or_else(|e| fail(EXIT_INTERRUPTED, &e.to_string()));
    info(&format!("fetched snapshot ({})", humanize_bytes(size)));
    out(&format!("Snapshot saved at {path}\n"));
}

/// `snapshot status` / `snapshot restore`.
pub fn offline(p: &Parsed) {
    let sub = p.cmd().name();
    if p.args.len() != 1 {
        let msg = if sub == "status" {
            "snapshot status requires exactly one argument"
        } else {
            "snapshot restore requires exactly one argument"
        };
        fail(EXIT_BAD_ARGS, msg);
    }
    match OFFLINE_HOOK {
        Some(run) => crate::exit::exit(run(p)),
        None => fail(
            EXIT_ERROR,
            &format!("snapshot {sub} is provided by etcdutl in etcd-rs"),
        ),
    }
}
