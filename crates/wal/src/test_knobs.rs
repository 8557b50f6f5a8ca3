//! Test-only knobs read from the environment once per process, for the
//! robustness suite (tests/robustness.rs). Both are off unless their variable
//! is exactly `1`; production never sets them.
//!
//! - [`SYNCED_MARK_ENV`] (`ETCD_RS_TEST_WAL_SYNCED_MARK=1`): after every data
//!   fsync of the tail segment (and after a segment is created), the WAL
//!   overwrites the side file `<wal dir>.synced` (e.g. `member/wal.synced`)
//!   with one line `<segment file name> <synced bytes>` padded with spaces to
//!   [`MARK_LINE_BYTES`]. Everything before that offset of that segment, and
//!   every older segment, is durable. A harness that SIGKILLs the member can
//!   then zero the tail after the mark and so emulate a machine crash that
//!   loses un-fsynced page-cache data (what Jepsen's lazyfs does). The mark is
//!   written after the fsync and before `save` returns, so anything the
//!   member acknowledged lies below it; a kill between the two only makes the
//!   emulation lose a little more than needed, never something acknowledged.
//!   The mark itself is not fsynced: it only has to survive a process kill.
//! - [`UNSAFE_ACK_BEFORE_FSYNC_ENV`] (`ETCD_RS_UNSAFE_ACK_BEFORE_FSYNC=1`): a
//!   deliberately broken WAL. `save` writes without fsync; pending writes are
//!   fsynced at most once per [`UNSAFE_FSYNC_INTERVAL`], at the start of a
//!   later write (an "fsync every second" setting wrongly applied to the Raft
//!   log). So `save` returns, and Raft acknowledges, up to a second of records
//!   that are not durable. It exists to prove the robustness suite catches
//!   lost acknowledged writes; never set it outside that test.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Enables the synced-offset side file.
pub const SYNCED_MARK_ENV: &str = "ETCD_RS_TEST_WAL_SYNCED_MARK";
/// Makes the WAL acknowledge before fsync (broken on purpose).
pub const UNSAFE_ACK_BEFORE_FSYNC_ENV: &str = "ETCD_RS_UNSAFE_ACK_BEFORE_FSYNC";
/// How often the broken WAL fsyncs at most.
pub const UNSAFE_FSYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Width of the mark line, newline included.
pub const MARK_LINE_BYTES: usize = 80;

fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1")
}

/// Whether the synced-offset side file is kept.
pub(crate) fn synced_mark_on() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| flag(SYNCED_MARK_ENV))
}

/// Whether the WAL acknowledges before fsync.
pub(crate) fn ack_before_fsync() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| flag(UNSAFE_ACK_BEFORE_FSYNC_ENV))
}

/// For the broken WAL: whether an fsync is due now (at most once per
/// [`UNSAFE_FSYNC_INTERVAL`] per process); records it as done if so.
pub(crate) fn unsafe_fsync_due() -> bool {
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    let due = last.is_none_or(|t| t.elapsed() >= UNSAFE_FSYNC_INTERVAL);
    if due {
        *last = Some(Instant::now());
    }
    due
}

/// The side file of the WAL in `wal_dir`.
pub fn synced_mark_path(wal_dir: &Path) -> PathBuf {
    let mut name = wal_dir.file_name().unwrap_or_default().to_os_string();
    name.push(".synced");
    wal_dir.with_file_name(name)
}

/// Records that `segment` is durable up to `synced_bytes` (no-op unless the
/// knob is on). Best effort: a failure to write the mark is ignored, since it
/// only weakens the emulation.
pub(crate) fn mark_synced(wal_dir: &Path, segment: &Path, synced_bytes: u64) {
    if !synced_mark_on() {
        return;
    }
    let name = segment.file_name().unwrap_or_default().to_string_lossy();
    let mut line = format!("{name} {synced_bytes}");
    assert!(line.len() < MARK_LINE_BYTES, "mark line too long: {line}");
    while line.len() + 1 < MARK_LINE_BYTES {
        line.push(' ');
    }
    line.push('\n');
    let path = synced_mark_path(wal_dir);
    if let Ok(f) = File::options().create(true).write(true).open(&path) {
        // One small pwrite: a process kill cannot tear it.
        let _ = f.write_all_at(line.as_bytes(), 0);
    }
}

/// Parses a mark line: the segment file name and its synced byte count.
pub fn parse_synced_mark(text: &str) -> Option<(String, u64)> {
    let mut it = text.split_whitespace();
    let name = it.next()?.to_string();
    let bytes = it.next()?.parse().ok()?;
    Some((name, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_path_is_a_sibling_of_the_wal_dir() {
        assert_eq!(
            synced_mark_path(Path::new("/d/member/wal")),
            PathBuf::from("/d/member/wal.synced")
        );
    }

    #[test]
    fn mark_line_round_trips() {
        let line = format!("{:<79}\n", "0000000000000000-0000000000000000.wal 4096");
        assert_eq!(
            parse_synced_mark(&line),
            Some(("0000000000000000-0000000000000000.wal".into(), 4096))
        );
        assert_eq!(parse_synced_mark("garbage"), None);
    }
}
