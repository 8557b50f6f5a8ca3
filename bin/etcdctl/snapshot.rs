//! `snapshot save` (online, over the Maintenance stream), `snapshot status`
//! and `snapshot restore` (offline, on files: the work is shared with
//! etcdutl in bin/common/offline_snapshot.rs; this file keeps etcdctl's
//! argument order and exit codes).

use std::io::Write;

use crate::cli::Parsed;
use crate::exit::{fail, EXIT_BAD_ARGS, EXIT_BAD_FEATURE, EXIT_ERROR, EXIT_INTERRUPTED};
use crate::global::{globals, must_connect};
use crate::gofmt::humanize_bytes;
use crate::offline_snapshot;
use crate::printer::out;

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

/// `snapshot status` / `snapshot restore`, checked in etcdctl 3.4's
/// order: argument count, then (status) the output format, then the file.
pub fn offline(p: &Parsed) {
    let sub = p.cmd().name();
    if p.args.len() != 1 {
        fail(
            EXIT_BAD_ARGS,
            &format!("snapshot {sub} requires exactly one argument"),
        );
    }
    let file = std::path::PathBuf::from(&p.args[0]);
    if sub == "status" {
        let format = p.string("write-out");
        crate::printer::Format::parse(&format)
            .unwrap_or_else(|| fail(EXIT_BAD_FEATURE, "unsupported output format"));
        let status = offline_snapshot::read_status(&file).unwrap_or_else(|e| fail(EXIT_ERROR, &e));
        match offline_snapshot::render_status(&status, &format) {
            Some(text) => out(&text),
            None => fail(
                EXIT_BAD_FEATURE,
                &format!("{format} not supported as output format"),
            ),
        }
        return;
    }
    let flags = offline_snapshot::RestoreFlags {
        file,
        data_dir: p.string("data-dir"),
        wal_dir: p.string("wal-dir"),
        initial_cluster: p.string("initial-cluster"),
        initial_cluster_token: p.string("initial-cluster-token"),
        initial_advertise_peer_urls: p.string("initial-advertise-peer-urls"),
        name: p.string("name"),
        skip_hash_check: p.bool("skip-hash-check"),
    };
    offline_snapshot::restore(&flags).unwrap_or_else(|e| fail(EXIT_ERROR, &e));
}
