//! `snapshot status` and `snapshot restore` on files, shared by etcdctl
//! (3.4 has them) and etcdutl: both binaries include this file with
//! `#[path = "../common/offline_snapshot.rs"] mod offline_snapshot;`.
//!
//! Contract: the functions do the work and return text or an error message
//! worded as etcdctl 3.4 prints it after `Error: `; each binary picks its
//! own exit codes and prints. Output is byte for byte etcdctl 3.4's.

use std::path::{Path, PathBuf};

use etcd_bbolt::SnapshotStatus;
use etcd_server::{restore_snapshot, RestoreConfig};

/// Reads the status (hash, revision, keys, size) of the snapshot `file`.
pub fn read_status(file: &Path) -> Result<SnapshotStatus, String> {
    if let Err(e) = std::fs::metadata(file) {
        return Err(format!("stat {}: {}", file.display(), go_io_error(&e)));
    }
    etcd_bbolt::BoltReader::open(file)
        .and_then(|db| etcd_bbolt::snapshot_status(&db))
        .map_err(|e| e.to_string())
}

/// Flags of `snapshot restore`, as given on the command line.
#[derive(Debug, Clone)]
pub struct RestoreFlags {
    /// The snapshot file.
    pub file: PathBuf,
    /// `--data-dir` (empty: `<name>.etcd`).
    pub data_dir: String,
    /// `--wal-dir` (empty: `<data-dir>/member/wal`).
    pub wal_dir: String,
    /// `--initial-cluster`.
    pub initial_cluster: String,
    /// `--initial-cluster-token`.
    pub initial_cluster_token: String,
    /// `--initial-advertise-peer-urls` (comma-separated).
    pub initial_advertise_peer_urls: String,
    /// `--name`.
    pub name: String,
    /// `--skip-hash-check`.
    pub skip_hash_check: bool,
}

/// Restores `f.file` into a new data dir, logging `restoring snapshot` /
/// `restored snapshot` to stderr as etcdctl's zap logger does.
pub fn restore(f: &RestoreFlags) -> Result<(), String> {
    let data_dir = if f.data_dir.is_empty() {
        PathBuf::from(format!("{}.etcd", f.name))
    } else {
        PathBuf::from(&f.data_dir)
    };
    let wal_dir = (!f.wal_dir.is_empty()).then(|| PathBuf::from(&f.wal_dir));
    let shown_wal = wal_dir
        .clone()
        .unwrap_or_else(|| data_dir.join("member").join("wal"));
    let cfg = RestoreConfig {
        snapshot_path: f.file.clone(),
        name: f.name.clone(),
        data_dir: data_dir.clone(),
        wal_dir,
        initial_cluster: f.initial_cluster.clone(),
        initial_cluster_token: f.initial_cluster_token.clone(),
        initial_advertise_peer_urls: f
            .initial_advertise_peer_urls
            .split(',')
            .map(str::to_string)
            .collect(),
        skip_hash_check: f.skip_hash_check,
    };
    let log = |msg: &str| {
        eprintln!(
            "{{\"level\":\"info\",\"msg\":\"{msg}\",\"path\":{},\"wal-dir\":{},\"data-dir\":{},\"snap-dir\":{}}}",
            json_str(&f.file),
            json_str(&shown_wal),
            json_str(&data_dir),
            json_str(&data_dir.join("member").join("snap"))
        )
    };
    // etcdctl checks the cluster's URLs first of all (types.NewURLsMap).
    etcd_server::etcd_url::parse_urls_map(&f.initial_cluster)?;
    // etcdctl refuses an existing data dir before logging anything, and
    // words a missing snapshot as Go's `open` does.
    if data_dir.exists() {
        return Err(format!(
            "data-dir {:?} exists",
            data_dir.display().to_string()
        ));
    }
    log("restoring snapshot");
    if let Err(e) = std::fs::metadata(&f.file) {
        return Err(format!("open {}: {}", f.file.display(), go_io_error(&e)));
    }
    restore_snapshot(&cfg).map_err(|e| e.to_string())?;
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

/// Renders `s` in `format` (`simple`, `json`, `table`, `fields`) as
/// etcdctl 3.4 prints it; `None` for any other format (etcdctl refuses
/// `protobuf` for this command).
pub fn render_status(s: &SnapshotStatus, format: &str) -> Option<String> {
    let hash = format!("{:x}", s.hash);
    let size = humanize_bytes(s.total_size_bytes);
    Some(match format {
        "simple" => format!("{hash}, {}, {}, {size}\n", s.revision, s.total_key),
        "json" => format!(
            "{{\"hash\":{},\"revision\":{},\"totalKey\":{},\"totalSize\":{}}}\n",
            s.hash, s.revision, s.total_key, s.total_size_bytes
        ),
        "fields" => format!(
            "\"Hash\" : {}\n\"Revision\" : {}\n\"Keys\" : {}\n\"Size\" : {}\n",
            s.hash, s.revision, s.total_key, s.total_size_bytes
        ),
        "table" => table(
            &["HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE"],
            &[hash, s.revision.to_string(), s.total_key.to_string(), size],
        ),
        _ => return None,
    })
}

/// One-row table as etcdctl's tablewriter draws it: headers centred, cells
/// right-aligned, one space of padding.
fn table(headers: &[&str], row: &[String]) -> String {
    let widths: Vec<usize> = headers
        .iter()
        .zip(row)
        .map(|(h, c)| h.len().max(c.len()))
        .collect();
    let line = {
        let mut l = String::from("+");
        for w in &widths {
            l.push_str(&"-".repeat(w + 2));
            l.push('+');
        }
        l.push('\n');
        l
    };
    let mut out = line.clone();
    out.push('|');
    for (h, w) in headers.iter().zip(&widths) {
        let gap = w - h.len();
        let left = gap / 2;
        out.push_str(&format!(
            " {}{}{} |",
            " ".repeat(left),
            h,
            " ".repeat(gap - left)
        ));
    }
    out.push('\n');
    out.push_str(&line);
    out.push('|');
    for (c, w) in row.iter().zip(&widths) {
        out.push_str(&format!(" {c:>w$} |"));
    }
    out.push('\n');
    out.push_str(&line);
    out
}

/// go-humanize's `Bytes`: SI units, one decimal below 10.
fn humanize_bytes(n: u64) -> String {
    if n < 10 {
        return format!("{n} B");
    }
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let e = ((n as f64).ln() / 1000f64.ln()).floor() as usize;
    let e = e.min(UNITS.len() - 1);
    let val = ((n as f64) / 1000f64.powi(e as i32) * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1} {}", UNITS[e])
    } else {
        format!("{val:.0} {}", UNITS[e])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanize_matches_go() {
        assert_eq!(humanize_bytes(5), "5 B");
        assert_eq!(humanize_bytes(20480), "20 kB");
        assert_eq!(humanize_bytes(24576), "25 kB");
        assert_eq!(humanize_bytes(1_500_000), "1.5 MB");
    }

    #[test]
    fn table_matches_etcdctl() {
        let s = SnapshotStatus {
            hash: 0x281cfaaf,
            revision: 2,
            total_key: 5,
            total_size_bytes: 20480,
        };
        assert_eq!(
            render_status(&s, "table").unwrap(),
            "+----------+----------+------------+------------+\n\
             |   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |\n\
             +----------+----------+------------+------------+\n\
             | 281cfaaf |        2 |          5 |      20 kB |\n\
             +----------+----------+------------+------------+\n"
        );
        assert_eq!(
            render_status(&s, "simple").unwrap(),
            "281cfaaf, 2, 5, 20 kB\n"
        );
        assert!(render_status(&s, "protobuf").is_none());
    }
}
