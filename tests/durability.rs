//! Durability and start-up: restarts after snapshots, a torn WAL tail, a
//! corrupt WAL record, and how the binary treats bad or alternative
//! configuration.
//!
//! - Restarts (SIGKILL or SIGTERM) keep every acknowledged put with its value
//!   and mod revision, and the next put takes the next revision.
//! - A record cut short at the end of the last WAL segment is a torn write: the
//!   server drops it, keeps every record before it and accepts (durable) writes.
//! - A flipped byte in an earlier record is corruption: the server refuses to
//!   start, names it (`crc mismatch`) and serves nothing.
//!
//! The WAL tests edit segment files, so they read the framing of whichever
//! binary runs: ours (crates/wal/FORMAT.md) or etcd's (a little-endian u64
//! length word whose top byte carries the padding, then a protobuf `walpb.Record`
//! `{type = 1, crc = 2, data = 3}`, padded to 8 bytes). Both use the same record
//! type numbers.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{run_with_timeout, EtcdOpts, EtcdProcess, SettingsVia};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::{PutRequest, RangeRequest};

/// The reference implementation.
const REAL_ETCD: &str = "/usr/bin/etcd";
/// Upper bound on one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound for a server to exit by itself (graceful stop, refused start).
const EXIT_TIMEOUT: Duration = Duration::from_secs(20);
/// WAL record type of a raft entry (ours and etcd's).
const RECORD_ENTRY: u8 = 2;

// ---------------------------------------------------------------------------
// Client helpers.

/// key -> (value, mod revision).
type Stored = BTreeMap<String, (String, i64)>;

fn request<T>(msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.set_timeout(REQUEST_TIMEOUT);
    r
}

/// Puts `keys` one at a time (each acknowledged before the next); returns
/// what must now be stored.
fn put_all(p: &EtcdProcess, keys: &[(String, String)]) -> Stored {
    common::runtime().block_on(async {
        let mut kv = KvClient::connect(p.client_url()).await.expect("connect");
        let mut out = Stored::new();
        for (k, v) in keys {
            let resp = kv
                .put(request(PutRequest {
                    key: k.clone().into_bytes(),
                    value: v.clone().into_bytes(),
                    ..Default::default()
                }))
                .await
                .unwrap_or_else(|e| panic!("put {k}: {e:?}"))
                .into_inner();
            out.insert(k.clone(), (v.clone(), resp.header.expect("header").revision));
        }
        out
    })
}

/// Everything stored, and the store revision.
fn read_all(p: &EtcdProcess) -> (Stored, i64) {
    common::runtime().block_on(async {
        let mut kv = KvClient::connect(p.client_url()).await.expect("connect");
        let resp = kv
            .range(request(RangeRequest { key: vec![0], range_end: vec![0], ..Default::default() }))
            .await
            .expect("range")
            .into_inner();
        let stored = resp
            .kvs
            .into_iter()
            .map(|kv| {
                (
                    String::from_utf8(kv.key).expect("utf8 key"),
                    (String::from_utf8(kv.value).expect("utf8 value"), kv.mod_revision),
                )
            })
            .collect();
        (stored, resp.header.expect("header").revision)
    })
}

fn keys(prefix: &str, n: usize) -> Vec<(String, String)> {
    (0..n).map(|i| (format!("{prefix}{i:04}"), format!("value-{prefix}{i}"))).collect()
}

/// The store holds exactly `want`, at store revision `revision`; then one more
/// put takes `revision + 1`, and is folded into `want`.
fn check_store(p: &EtcdProcess, want: &mut Stored, revision: i64, what: &str) {
    let (stored, store_rev) = read_all(p);
    assert_eq!(store_rev, revision, "{what}: store revision");
    for (k, v) in want.iter() {
        assert_eq!(stored.get(k), Some(v), "{what}: key {k}");
    }
    assert_eq!(stored.len(), want.len(), "{what}: unexpected keys");
    let next = put_all(p, &[(format!("next-{store_rev}"), "next".to_string())]);
    let (_, (_, rev)) = next.iter().next().expect("one put");
    assert_eq!(*rev, revision + 1, "{what}: the next put's revision");
    want.extend(next);
}

// ---------------------------------------------------------------------------
// WAL files.

/// The WAL framing of the binary `p` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WalFormat {
    Ours,
    Etcd,
}

fn wal_format(p: &EtcdProcess) -> WalFormat {
    if p.binary() == Path::new(env!("CARGO_BIN_EXE_etcd")) {
        WalFormat::Ours
    } else {
        WalFormat::Etcd
    }
}

/// One record found in a segment.
#[derive(Debug, Clone)]
struct Record {
    /// Offset of the record's first byte.
    offset: usize,
    /// Offset one past its last byte, padding included.
    end: usize,
    /// Record type.
    kind: u8,
    /// Where its payload (ours: after the crc; etcd: `Record.data`) lies.
    payload: std::ops::Range<usize>,
}

/// The newest segment of `p`'s WAL.
fn last_segment(p: &EtcdProcess) -> PathBuf {
    let dir = p.data_path().join("member").join("wal");
    let mut segments: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {dir:?}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "wal"))
        .collect();
    segments.sort();
    segments.pop().expect("a WAL segment")
}

fn u32_le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_le(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// A protobuf varint at `*at`, advancing it.
fn varint(b: &[u8], at: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = b[*at];
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return v;
        }
    }
    panic!("varint too long");
}

/// The fields of a `walpb.Record` in `b[start..end]`: (type, data range).
fn etcd_record(b: &[u8], start: usize, end: usize) -> (u8, std::ops::Range<usize>) {
    let (mut kind, mut data) = (0u8, start..start);
    let mut at = start;
    while at < end {
        let tag = varint(b, &mut at);
        match (tag >> 3, tag & 7) {
            (field, 0) => {
                let v = varint(b, &mut at);
                if field == 1 {
                    kind = u8::try_from(v).expect("record type");
                }
            }
            (field, 2) => {
                let len = usize::try_from(varint(b, &mut at)).expect("length");
                if field == 3 {
                    data = at..at + len;
                }
                at += len;
            }
            other => panic!("unexpected protobuf field {other:?} in a WAL record"),
        }
    }
    (kind, data)
}

/// Every record up to the end of the written data (a zero length word, or
/// the end of the file).
fn records(b: &[u8], format: WalFormat) -> Vec<Record> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= b.len() {
        let rec = match format {
            WalFormat::Ours => {
                let len = u32_le(b, at) as usize;
                if len == 0 {
                    break;
                }
                let end = (at + 4 + len).next_multiple_of(8);
                Record { offset: at, end, kind: b[at + 4], payload: at + 9..at + 4 + len }
            }
            WalFormat::Etcd => {
                let word = u64_le(b, at);
                if word == 0 {
                    break;
                }
                let len = (word & 0x00ff_ffff_ffff_ffff) as usize;
                let pad = if word >> 63 == 1 { ((word >> 56) & 7) as usize } else { 0 };
                let (kind, payload) = etcd_record(b, at + 8, at + 8 + len);
                Record { offset: at, end: at + 8 + len + pad, kind, payload }
            }
        };
        assert!(rec.end <= b.len(), "record at {at} runs past the file");
        at = rec.end;
        out.push(rec);
    }
    out
}

// ---------------------------------------------------------------------------
// Restarts after snapshots.

fn snap_files(p: &EtcdProcess) -> Vec<PathBuf> {
    let dir = p.data_path().join("member").join("snap");
    match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "snap"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn restart_after_snapshots_keeps_every_key() {
    const KEYS: usize = 200;
    let mut p = EtcdProcess::start(EtcdOpts {
        args: vec!["--snapshot-count".into(), "20".into()],
        ..EtcdOpts::default()
    });
    let mut want = put_all(&p, &keys("snap/", KEYS));
    let revision = 1 + KEYS as i64;
    assert_eq!(want.values().map(|v| v.1).max(), Some(revision), "one revision per put");
    // Snapshots are written in the background; wait for one (bounded).
    let snapped = common::wait_until(Duration::from_secs(10), || !snap_files(&p).is_empty());
    assert!(snapped, "no .snap file after {KEYS} puts with --snapshot-count 20\n{}", p.log());

    p.kill9();
    p.start_again();
    check_store(&p, &mut want, revision, "after SIGKILL");

    let status = p.terminate(EXIT_TIMEOUT);
    assert!(status.is_some(), "no exit within {EXIT_TIMEOUT:?} of SIGTERM\n{}", p.current_log());
    eprintln!("exit after SIGTERM: {status:?}");
    p.start_again();
    check_store(&p, &mut want, revision + 1, "after SIGTERM");
}

/// etcd handles SIGTERM by stopping the server, then re-raising the signal
/// with its default action: the process ends *by SIGTERM* (shells see 143),
/// which is what supervisors and scripts observe.
#[test]
fn sigterm_ends_the_process_by_the_signal_like_etcd() {
    use std::os::unix::process::ExitStatusExt;
    let mut p = EtcdProcess::start(EtcdOpts::default());
    put_all(&p, &keys("term/", 3));
    let status = p.terminate(EXIT_TIMEOUT);
    let log = p.current_log();
    let status =
        status.unwrap_or_else(|| panic!("no exit within {EXIT_TIMEOUT:?} of SIGTERM\n{log}"));
    assert_eq!(status.signal(), Some(libc::SIGTERM), "exit status {status:?} after SIGTERM\n{log}");
}

// ---------------------------------------------------------------------------
// Torn tail and corrupt middle.

/// How a test stops the server before editing its files.
#[derive(Clone, Copy, Debug)]
enum Stop {
    /// SIGKILL: the backend may lag the WAL.
    Kill,
    /// SIGTERM: the backend has everything applied, so cutting the WAL's tail
    /// leaves the backend ahead of the log.
    Graceful,
}

#[test]
fn torn_wal_tail_is_dropped() {
    torn_wal_tail(Stop::Kill);
}

#[test]
fn torn_wal_tail_after_graceful_stop_is_dropped() {
    torn_wal_tail(Stop::Graceful);
}

fn torn_wal_tail(stop: Stop) {
    let mut p = EtcdProcess::start(EtcdOpts::default());
    let mut want = put_all(&p, &keys("torn/", 30));
    match stop {
        Stop::Kill => p.kill9(),
        Stop::Graceful => {
            let status = p.terminate(EXIT_TIMEOUT);
            assert!(status.is_some(), "no exit after SIGTERM\n{}", p.current_log());
        }
    }

    let path = last_segment(&p);
    let bytes = std::fs::read(&path).expect("read segment");
    let recs = records(&bytes, wal_format(&p));
    let last = recs.last().expect("records").clone();
    let cut = last.offset + (last.end - last.offset) / 2;
    assert!(cut > last.offset && cut < last.end);
    eprintln!("cutting {path:?} at {cut}, inside the last record {last:?} of {}", recs.len());
    let f = std::fs::OpenOptions::new().write(true).open(&path).expect("open segment");
    f.set_len(cut as u64).expect("truncate segment");
    f.sync_all().expect("sync");
    drop(f);

    p.start_again();
    let (stored, revision) = read_all(&p);
    // Each put is one entry; the last put's entry is the only one that can be
    // in the cut record (the rest of the tail is hard state).
    let last_key = want.keys().next_back().expect("keys").clone();
    let last_put_kept = stored.contains_key(&last_key);
    eprintln!("the last put survived the cut: {last_put_kept}");
    if last.kind == RECORD_ENTRY && !last_put_kept {
        want.remove(&last_key);
    }
    let expect_rev = want.values().map(|v| v.1).max().expect("keys");
    check_store(&p, &mut want, expect_rev, "after a torn tail");
    assert_eq!(revision, expect_rev);

    // Writes after the repair are durable too.
    p.kill9();
    p.start_again();
    check_store(&p, &mut want, expect_rev + 1, "after a torn tail and a second restart");
}

#[test]
fn corrupt_wal_record_refuses_to_start() {
    let mut p = EtcdProcess::start(EtcdOpts::default());
    put_all(&p, &keys("corrupt/", 30));
    p.kill9();

    let path = last_segment(&p);
    let mut bytes = std::fs::read(&path).expect("read segment");
    let recs = records(&bytes, wal_format(&p));
    let entries: Vec<&Record> = recs[..recs.len() - 1]
        .iter()
        .filter(|r| r.kind == RECORD_ENTRY && r.payload.len() > 16)
        .collect();
    assert!(entries.len() >= 10, "too few entry records: {recs:?}");
    // An early entry, well before the tail.
    let victim = entries[entries.len() / 3].clone();
    let at = victim.payload.end - 1; // in the entry's data, past index and term
    bytes[at] ^= 0x5a;
    eprintln!("flipping byte {at} of {path:?}, inside {victim:?}");
    std::fs::write(&path, &bytes).expect("write segment");

    p.spawn_again();
    let status = p.wait_exit(EXIT_TIMEOUT);
    let log = p.current_log();
    let status = status.unwrap_or_else(|| panic!("server kept running on a corrupt WAL\n{log}"));
    assert!(!status.success(), "exit status {status} on a corrupt WAL\n{log}");
    assert!(log.contains("crc mismatch"), "log does not name the corruption:\n{log}");
    let line = log.lines().find(|l| l.contains("crc mismatch")).unwrap_or_default();
    eprintln!("refused with {status}: {line}");
    assert!(!log.contains(common::READY_LINE), "served clients on a corrupt WAL:\n{log}");
}

// ---------------------------------------------------------------------------
// Configuration.

/// Runs `binary args` (no data dir needed: the flags fail first).
fn run_binary(binary: &Path, args: &[&str]) -> common::CtlOutput {
    let mut cmd = std::process::Command::new(binary);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCD") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args).current_dir(std::env::temp_dir());
    run_with_timeout(cmd, None, EXIT_TIMEOUT)
}

/// etcd's log lines start with a timestamp (`2006-01-02 15:04:05.000000 `).
fn strip_timestamps(s: &str) -> String {
    s.lines()
        .map(|l| match l.as_bytes().get(26) {
            Some(b' ') if l.as_bytes()[4] == b'-' && l.as_bytes()[10] == b' ' => &l[27..],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn unknown_flag_exits_2_like_etcd() {
    let ours = run_binary(&common::server_binary(), &["--bogus-flag"]);
    let real = run_binary(Path::new(REAL_ETCD), &["--bogus-flag"]);
    assert_eq!(real.code, 2, "the reference: {real:?}");
    assert!(real.stderr.starts_with("flag provided but not defined: -bogus-flag\n"), "{real:?}");
    assert_eq!(ours.code, real.code, "exit code; stderr {:?}", ours.stderr);
    assert_eq!(ours.stderr, real.stderr, "stderr");
    assert_eq!(ours.stdout, real.stdout, "stdout");
}

/// Command lines that fail before the server starts: same exit code, same
/// output as etcd (log timestamps aside).
#[test]
fn bad_command_lines_fail_like_etcd() {
    let cases: &[&[&str]] = &[
        &["-bogus"],
        &["--name"],
        &["--data-dir"],
        &["--snapshot-count", "abc"],
        &["--heartbeat-interval=-1x"],
        &["--enable-v2=maybe"],
        &["--initial-cluster-state", "bogus"],
        &["positional"],
    ];
    for args in cases {
        let ours = run_binary(&common::server_binary(), args);
        let real = run_binary(Path::new(REAL_ETCD), args);
        assert_ne!(real.code, 0, "the reference accepted {args:?}: {real:?}");
        assert_eq!(ours.code, real.code, "exit code for {args:?}; stderr {:?}", ours.stderr);
        assert_eq!(
            strip_timestamps(&ours.stderr),
            strip_timestamps(&real.stderr),
            "stderr for {args:?}"
        );
        assert_eq!(ours.stdout, real.stdout, "stdout for {args:?}");
    }
}

#[test]
fn unimplemented_flag_is_refused_by_name() {
    if common::testing_external_server() {
        eprintln!("skipped: etcd implements --force-new-cluster");
        return;
    }
    let mut p = EtcdProcess::start_no_wait(EtcdOpts {
        args: vec!["--force-new-cluster".into()],
        ..EtcdOpts::default()
    });
    let status = p.wait_exit(EXIT_TIMEOUT);
    let log = p.current_log();
    let status = status
        .unwrap_or_else(|| panic!("--force-new-cluster did not make the server exit\n{log}"));
    assert!(!status.success(), "exit status {status}\n{log}");
    assert!(
        log.contains("etcd-rs: flag --force-new-cluster is not implemented yet"),
        "the message does not name the flag:\n{log}"
    );
    assert!(!log.contains(common::READY_LINE), "served clients:\n{log}");
}

/// The member list (name, peer URLs, client URLs) as etcdctl prints it.
fn member_list(p: &EtcdProcess) -> Vec<String> {
    let out = p.etcdctl(&["member", "list"]).ok();
    out.stdout.lines().map(|l| l.split(", ").skip(2).collect::<Vec<_>>().join(", ")).collect()
}

#[test]
fn settings_from_env_are_honoured() {
    let p = EtcdProcess::start(EtcdOpts {
        name: "foo".into(),
        via: SettingsVia::Env,
        ..EtcdOpts::default()
    });
    assert_eq!(member_list(&p), vec![format!("foo, {}, {}, false", p.peer_url(), p.client_url())]);
    assert!(p.data_path().join("member").join("wal").is_dir(), "ETCD_DATA_DIR ignored");
    put_all(&p, &keys("env/", 3));
}

#[test]
fn config_file_starts_a_working_member() {
    let p = EtcdProcess::start(EtcdOpts {
        name: "from-yaml".into(),
        via: SettingsVia::ConfigFile,
        ..EtcdOpts::default()
    });
    assert_eq!(
        member_list(&p),
        vec![format!("from-yaml, {}, {}, false", p.peer_url(), p.client_url())]
    );
    assert!(p.data_path().join("member").join("wal").is_dir(), "data-dir from the file ignored");
    let mut want = put_all(&p, &keys("yaml/", 3));
    check_store(&p, &mut want, 4, "config file");
}
