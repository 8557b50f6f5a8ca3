//! The v2 event history across a restart and across an import: etcd 3.4
//! saves the history in its Raft snapshots and replays the entries after
//! them, so after a restart `?wait=true&waitIndex=<old>` still returns the
//! old events. Ours, started on a copy of the same etcd data dir (which it
//! imports), must answer those watches the same way: status, X-Etcd-Index
//! and body, for indexes inside the last snapshot, after it, and before the
//! first user write.

mod common;
#[path = "common/v2http.rs"]
mod v2http;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::differ::REAL_ETCD;
use common::{server_binary, wait_until, EtcdOpts, EtcdProcess, READY_LINE};
use v2http::{normalise, request, v2};

const START_TIMEOUT: Duration = Duration::from_secs(30);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// A watch that is answered from the history returns at once.
const WATCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Few enough applied entries per snapshot that the writes span several.
const SNAPSHOT_COUNT: &str = "10";

/// Our server on an existing data dir with the real one's settings; killed on drop.
struct Ours {
    child: Child,
    log: PathBuf,
}

impl Ours {
    fn start(settings: &[(&'static str, String)], data_dir: &Path, log: PathBuf) -> Ours {
        let mut cmd = Command::new(server_binary());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCD") {
                cmd.env_remove(k);
            }
        }
        for (name, value) in settings {
            let value = if *name == "data-dir" {
                data_dir.to_string_lossy().into_owned()
            } else {
                value.clone()
            };
            cmd.arg(format!("--{name}={value}"));
        }
        let out = File::create(&log).expect("log");
        cmd.args(["--enable-v2", "--snapshot-count", SNAPSHOT_COUNT])
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out);
        let mut ours = Ours {
            child: cmd.spawn().expect("spawn ours"),
            log,
        };
        let ready = wait_until(START_TIMEOUT, || {
            ours.text().contains(READY_LINE) || ours.child.try_wait().ok().flatten().is_some()
        });
        assert!(
            ready && ours.child.try_wait().ok().flatten().is_none(),
            "ours did not start\n{}",
            ours.text()
        );
        ours
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The answers to watches into the past: (query, status, X-Etcd-Index, body).
fn watches(port: u16, queries: &[String]) -> Vec<(String, u16, String, serde_json::Value)> {
    queries
        .iter()
        .map(|q| {
            let r = request(port, "GET", q, "", WATCH_TIMEOUT);
            let mut body = r.json();
            normalise(&mut body);
            (
                q.clone(),
                r.status,
                r.header("x-etcd-index").unwrap_or("").to_string(),
                body,
            )
        })
        .collect()
}

#[test]
fn waits_into_the_past_answer_like_a_restarted_etcd() {
    let mut real = EtcdProcess::start(EtcdOpts {
        binary: Some(PathBuf::from(REAL_ETCD)),
        args: vec![
            "--enable-v2".into(),
            "--snapshot-count".into(),
            SNAPSHOT_COUNT.into(),
        ],
        ..EtcdOpts::default()
    });
    let port = real.client_port();
    let mut first = 0;
    let mut last = 0;
    for n in 0..40 {
        let r = match n {
            12 => v2(port, "PUT", "/v2/keys/dir?dir=true", ""),
            13 => v2(port, "PUT", "/v2/keys/dir/in", "value=x"),
            20 => v2(port, "DELETE", "/v2/keys/dir?recursive=true", ""),
            25 => v2(port, "PUT", "/v2/keys/k3?prevValue=v24", "value=swapped"),
            _ => v2(
                port,
                "PUT",
                &format!("/v2/keys/k{}", n % 7),
                &format!("value=v{n}"),
            ),
        };
        assert!(r.status < 300, "{r:#?}");
        last = r.json()["node"]["modifiedIndex"].as_u64().expect("index");
        if n == 0 {
            first = last;
        }
    }
    let mut queries = vec![format!(
        "/v2/keys/?wait=true&recursive=true&waitIndex={}",
        first - 1
    )];
    for idx in [
        first,
        first + 5,
        first + 13,
        first + 20,
        first + 25,
        last - 1,
        last,
    ] {
        queries.push(format!(
            "/v2/keys/?wait=true&recursive=true&waitIndex={idx}"
        ));
    }
    queries.push(format!(
        "/v2/keys/dir/in?wait=true&waitIndex={}",
        first + 14
    ));
    queries.push(format!("/v2/keys/k3?wait=true&waitIndex={}", first + 1));

    assert!(real.terminate(STOP_TIMEOUT).is_some(), "etcd did not stop");
    let copy = tempfile::Builder::new()
        .prefix("etcd-rs-import-history")
        .tempdir()
        .expect("tempdir");
    copy_dir(&real.data_path(), &copy.path().join("data"));
    real.start_again();
    let want = watches(port, &queries);
    assert!(real.terminate(STOP_TIMEOUT).is_some(), "etcd did not stop");

    let ours = Ours::start(
        &real.standard_settings(),
        &copy.path().join("data"),
        copy.path().join("ours.log"),
    );
    let got = watches(port, &queries);
    drop(ours);
    assert_eq!(
        got, want,
        "ours after the import (left), etcd after a restart (right)"
    );
}
