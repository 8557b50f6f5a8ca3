use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

use super::clock::{utc_from_unix, LocalTime};
use super::*;

fn fixed_clock() -> LocalTime {
    utc_from_unix(1_795_288_230, 619_569)
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn capture_capnslog(filter: LevelFilter, log: impl FnOnce()) -> String {
    let buf = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_writer(buf.clone())
        .event_format(CapnslogFormat::new(fixed_clock))
        .finish();
    tracing::subscriber::with_default(subscriber, log);
    buf.text()
}

fn capture_zap(log: impl FnOnce()) -> String {
    let buf = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_writer(buf.clone())
        .event_format(ZapFormat::new(fixed_clock))
        .finish();
    tracing::subscriber::with_default(subscriber, log);
    buf.text()
}

#[test]
fn capnslog_layout_and_letters() {
    let out = capture_capnslog(LevelFilter::TRACE, || {
        tracing::info!(target: "etcdmain", "etcd Version: {}", "3.4.23");
        tracing::warn!(target: "pkg/flags", "unrecognized environment variable ETCD_FOO=bar");
        tracing::error!(target: "etcdmain", "error verifying flags, x. See 'etcd --help'.");
        tracing::debug!(target: "raft", "debug line");
        tracing::trace!(target: "raft", "trace line");
        tracing::info!(target: "etcdserver", notice = true, "notice line");
        tracing::error!(target: "pkg/flags", critical = true, "critical line");
        tracing::info!(target: "embed", "ends with newline\n");
        tracing::info!(target: "embed", ignored = 5, "fields are not printed");
    });
    assert_eq!(
        out,
        "2026-11-21 19:10:30.619569 I | etcdmain: etcd Version: 3.4.23\n\
         2026-11-21 19:10:30.619569 W | pkg/flags: unrecognized environment variable ETCD_FOO=bar\n\
         2026-11-21 19:10:30.619569 E | etcdmain: error verifying flags, x. See 'etcd --help'.\n\
         2026-11-21 19:10:30.619569 D | raft: debug line\n\
         2026-11-21 19:10:30.619569 D | raft: trace line\n\
         2026-11-21 19:10:30.619569 N | etcdserver: notice line\n\
         2026-11-21 19:10:30.619569 C | pkg/flags: critical line\n\
         2026-11-21 19:10:30.619569 I | embed: ends with newline\n\
         2026-11-21 19:10:30.619569 I | embed: fields are not printed\n"
    );
}

#[test]
fn level_filter_drops_lower_levels() {
    let out = capture_capnslog(level_filter("warn").unwrap(), || {
        tracing::info!(target: "etcdmain", "hidden");
        tracing::warn!(target: "etcdmain", "shown");
    });
    assert_eq!(out, "2026-11-21 19:10:30.619569 W | etcdmain: shown\n");
    assert!(level_filter("verbose").is_err());
    assert_eq!(level_filter("fatal").unwrap(), LevelFilter::ERROR);
}

#[test]
fn zap_layout_keys_and_field_types() {
    let urls = vec!["http://127.0.0.1:22380".to_string()];
    let out = capture_zap(|| {
        tracing::info!(
            target: "embed",
            { "listen-peer-urls" = ?json(&urls) },
            "configuring peer listeners"
        );
        tracing::warn!(
            target: "etcdmain",
            error = %"--election-timeout[100ms] should be at least as 5 times as --heartbeat-interval[100ms]",
            "failed to verify flags"
        );
        tracing::info!(target: "etcdserver", { "max-cpu-set" = 2u64, "pre-vote" = false, took = ?"978µs" }, "x \"quoted\"");
        tracing::debug!(target: "raft", notice = true, "dbg");
        tracing::error!(target: "raft", "err");
    });
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            r#"{"level":"info","ts":"2026-11-21T19:10:30.619Z","caller":"embed","msg":"configuring peer listeners","listen-peer-urls":["http://127.0.0.1:22380"]}"#,
            r#"{"level":"warn","ts":"2026-11-21T19:10:30.619Z","caller":"etcdmain","msg":"failed to verify flags","error":"--election-timeout[100ms] should be at least as 5 times as --heartbeat-interval[100ms]"}"#,
            r#"{"level":"info","ts":"2026-11-21T19:10:30.619Z","caller":"etcdserver","msg":"x \"quoted\"","max-cpu-set":2,"pre-vote":false,"took":"\"978µs\""}"#,
            r#"{"level":"debug","ts":"2026-11-21T19:10:30.619Z","caller":"raft","msg":"dbg"}"#,
            r#"{"level":"error","ts":"2026-11-21T19:10:30.619Z","caller":"raft","msg":"err"}"#,
        ]
    );
    for line in lines {
        serde_json::from_str::<serde_json::Value>(line).expect("each zap line is JSON");
    }
}

#[test]
fn outputs_write_to_files_and_dev_null_discards() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    let mut out = Outputs::open(&[
        a.display().to_string(),
        b.display().to_string(),
        a.display().to_string(),
    ])
    .unwrap();
    assert_eq!(out.0.len(), 2);
    out.write_all(b"line\n").unwrap();
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "line\n");
    assert_eq!(std::fs::read_to_string(&b).unwrap(), "line\n");
    let null = Outputs::open(&["/dev/null".to_string(), a.display().to_string()]).unwrap();
    assert!(null.0.is_empty());
    let missing = dir.path().join("no/such/dir/x.log");
    assert!(Outputs::open(&[missing.display().to_string()]).is_err());
    assert_eq!(
        Outputs::open(&["default".into(), "stderr".into()])
            .unwrap()
            .0
            .len(),
        1
    );
}

#[test]
fn raw_json_debug_is_marked() {
    assert_eq!(format!("{:?}", json(&[1, 2])), "\u{1}json:[1,2]");
}
