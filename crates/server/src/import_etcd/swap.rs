//! Putting the converted dirs in place of etcd's, crash-safely.
//!
//! Each converted directory is built beside the one it replaces, named
//! `<name>.etcd-rs-import`; etcd's directory moves to
//! `<name>.etcd-3.4-backup` (never deleted). The protocol:
//! 1. build every temporary dir; fsync its files and itself;
//! 2. write the marker `IMPORT_COMPLETE` into the temporary member dir and
//!    fsync it: from here on the import is *decided*;
//! 3. for each pair, WAL dir first and member dir last: rename the original
//!    to its backup name, rename the temporary dir to the original name,
//!    fsync the parent;
//! 4. remove the marker (now in `member/`).
//!
//! A crash before 2 leaves etcd's dirs untouched and a partial temporary dir,
//! which the next start removes before importing again. A crash after 2 is
//! rolled forward by the next start ([`finish`]), which repeats step 3 for
//! the pairs not yet swapped (each rename is atomic, and a pair is swapped
//! exactly when its temporary dir is gone). So etcd's data dir is, at every
//! point, either intact or fully replaced by a complete conversion.

use std::path::{Path, PathBuf};

use crate::ServerError;

/// The marker that makes an import decided.
pub(crate) const MARKER: &str = "IMPORT_COMPLETE";
/// Suffix of the directories being built.
const TMP_SUFFIX: &str = ".etcd-rs-import";
/// Suffix etcd's directories are moved to.
pub(crate) const BACKUP_SUFFIX: &str = ".etcd-3.4-backup";

/// One directory to replace: the original, its backup, the temporary dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pair {
    pub original: PathBuf,
    pub backup: PathBuf,
    pub tmp: PathBuf,
}

impl Pair {
    pub(crate) fn new(original: &Path) -> Pair {
        let name = original
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sibling = |suffix: &str| original.with_file_name(format!("{name}{suffix}"));
        Pair {
            original: original.to_path_buf(),
            backup: sibling(BACKUP_SUFFIX),
            tmp: sibling(TMP_SUFFIX),
        }
    }
}

/// The pairs of an import: the separate WAL dir (if any), then the member dir.
pub(crate) fn pairs(member_dir: &Path, separate_wal_dir: Option<&Path>) -> Vec<Pair> {
    separate_wal_dir
        .map(Pair::new)
        .into_iter()
        .chain([Pair::new(member_dir)])
        .collect()
}

fn marker(pairs: &[Pair]) -> PathBuf {
    pairs.last().expect("the member dir pair").tmp.join(MARKER)
}

/// Rolls a decided import forward, or clears an undecided one. Returns true
/// when an import was completed here.
pub(crate) fn finish(pairs: &[Pair]) -> Result<bool, ServerError> {
    if !marker(pairs).exists() {
        for p in pairs {
            if p.tmp.exists() {
                tracing::warn!(target: "etcdserver", "removing an unfinished etcd 3.4 import at {}", p.tmp.display());
                std::fs::remove_dir_all(&p.tmp)?;
            }
        }
        let done = pairs.last().expect("member pair").original.join(MARKER);
        if done.exists() {
            std::fs::remove_file(&done)?;
        }
        return Ok(false);
    }
    for p in pairs {
        if !p.tmp.exists() {
            continue;
        }
        if p.original.exists() {
            if p.backup.exists() {
                return Err(ServerError::Config(format!(
                    "cannot finish the etcd 3.4 import: both {} and {} exist",
                    p.original.display(),
                    p.backup.display()
                )));
            }
            std::fs::rename(&p.original, &p.backup)?;
        }
        fail::fail_point!("import_etcd_between_renames", |_| std::process::abort());
        std::fs::rename(&p.tmp, &p.original)?;
        sync_dir(p.original.parent().unwrap_or(Path::new(".")))?;
    }
    std::fs::remove_file(pairs.last().expect("member pair").original.join(MARKER))?;
    Ok(true)
}

/// Step 2: the import is decided once this returns.
pub(crate) fn decide(pairs: &[Pair]) -> Result<(), ServerError> {
    for p in pairs {
        sync_tree(&p.tmp)?;
    }
    let m = marker(pairs);
    std::fs::write(
        &m,
        b"etcd 3.4 data converted by etcd-rs; the originals are the *.etcd-3.4-backup dirs\n",
    )?;
    std::fs::File::open(&m)?.sync_all()?;
    sync_dir(&pairs.last().expect("member pair").tmp)?;
    fail::fail_point!("import_etcd_after_decide", |_| std::process::abort());
    Ok(())
}

/// Refuses to start when a backup name is already taken (a second import
/// would have nowhere to put etcd's files).
pub(crate) fn check_free(pairs: &[Pair]) -> Result<(), ServerError> {
    for p in pairs {
        if p.backup.exists() {
            return Err(ServerError::Config(format!(
                "cannot import the etcd 3.4 data in {}: {} already exists (move it away first)",
                p.original.display(),
                p.backup.display()
            )));
        }
    }
    Ok(())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// fsyncs every file and directory under `dir` (bounded by what the import
/// wrote: a handful of files).
fn sync_tree(dir: &Path) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            sync_tree(&e.path())?;
        } else {
            std::fs::File::open(e.path())?.sync_all()?;
        }
    }
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(root: &Path) -> Vec<Pair> {
        let member = root.join("data").join("member");
        let wal = root.join("wal");
        for d in [&member, &wal] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("etcd"), b"original").unwrap();
        }
        let ps = pairs(&member, Some(&wal));
        for p in &ps {
            std::fs::create_dir_all(&p.tmp).unwrap();
            std::fs::write(p.tmp.join("ours"), b"converted").unwrap();
        }
        ps
    }

    #[test]
    fn undecided_imports_are_cleared_and_decided_ones_rolled_forward() {
        let dir = tempfile::tempdir().unwrap();
        let ps = setup(dir.path());
        assert!(!finish(&ps).unwrap());
        assert!(ps
            .iter()
            .all(|p| !p.tmp.exists() && p.original.join("etcd").exists()));

        let ps = setup(dir.path());
        decide(&ps).unwrap();
        // A crash after the WAL pair was swapped: the member pair is left.
        std::fs::rename(&ps[0].original, &ps[0].backup).unwrap();
        std::fs::rename(&ps[0].tmp, &ps[0].original).unwrap();
        assert!(finish(&ps).unwrap());
        for p in &ps {
            assert!(
                p.original.join("ours").exists()
                    && p.backup.join("etcd").exists()
                    && !p.tmp.exists()
            );
        }
        assert!(!ps[1].original.join(MARKER).exists());
        assert!(check_free(&ps).is_err());
    }
}
