//! Alarms and the space quota, driven with the real etcdctl 3.4: the
//! recovery procedure of etcd's op-guide/maintenance.md ("Space quota") with
//! a small `--quota-backend-bytes`. Runs against the real etcd too
//! (`ETCD_RS_TEST_ETCD=/usr/bin/etcd`).

mod common;

use std::time::Duration;

use common::{EtcdOpts, EtcdProcess};

const QUOTA_BYTES: u64 = 4 * 1024 * 1024;
const SPACE_EXCEEDED: &str = "Error: etcdserver: mvcc: database space exceeded";

fn json_field(out: &str, field: &str) -> i64 {
    let at = out
        .find(&format!("\"{field}\":"))
        .unwrap_or_else(|| panic!("no {field} in {out}"));
    let rest = &out[at + field.len() + 3..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|_| panic!("bad {field} in {out}"))
}

fn status(p: &EtcdProcess) -> String {
    p.etcdctl(&["endpoint", "status", "-w", "json"]).ok().stdout
}

fn health(p: &EtcdProcess) -> String {
    let out = std::process::Command::new("curl")
        .args(["-s", &format!("{}/health", p.client_url())])
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn nospace_alarm_and_the_maintenance_guide_recovery() {
    let mut p = EtcdProcess::start(EtcdOpts {
        args: vec!["--quota-backend-bytes".into(), QUOTA_BYTES.to_string()],
        ..Default::default()
    });
    assert_eq!(p.etcdctl(&["alarm", "list"]).ok().stdout, "");
    let value = "x".repeat(100_000);
    let mut failed = None;
    for i in 0..200 {
        let out = p.etcdctl(&["put", "key", &value]);
        if out.code != 0 {
            failed = Some((i, out));
            break;
        }
    }
    let (_, out) = failed.expect("the quota is reached within 20 MB of writes");
    assert_eq!(out.last_err_line(), SPACE_EXCEEDED);

    // The alarm is raised cluster-wide and listed as etcd prints it.
    let list = p.etcdctl(&["alarm", "list"]).ok().stdout;
    let member = list
        .strip_prefix("memberID:")
        .and_then(|r| r.strip_suffix(" alarm:NOSPACE \n"))
        .unwrap_or_else(|| panic!("alarm list {list:?}"));
    assert!(member.parse::<u64>().is_ok(), "{list:?}");
    assert!(
        status(&p).contains("alarm:NOSPACE"),
        "status errors list the alarm"
    );
    assert_eq!(health(&p), "{\"health\":\"false\"}\n");

    // Writes that cost space fail; reads, deletes and read-only txns work.
    assert_eq!(
        p.etcdctl(&["put", "a", "b"]).last_err_line(),
        SPACE_EXCEEDED
    );
    assert!(p
        .etcdctl(&["lease", "grant", "10"])
        .stderr
        .contains("database space exceeded"));
    assert_eq!(
        p.etcdctl(&["get", "key", "--keys-only"]).ok().stdout,
        "key\n\n"
    );
    assert_eq!(p.etcdctl(&["del", "nothing"]).ok().stdout, "0\n");
    assert_eq!(
        p.etcdctl_stdin(&["txn"], "\nget a\n\n\n").ok().stdout,
        "SUCCESS\n\n"
    );

    // The alarm survives a restart.
    p.restart();
    assert_eq!(p.etcdctl(&["alarm", "list"]).ok().stdout, list);

    // The guide: compact at the current revision, defragment, disarm.
    let before = status(&p);
    let rev = json_field(&before, "revision");
    let size_before = json_field(&before, "dbSize");
    assert_eq!(
        p.etcdctl(&["compact", &rev.to_string()]).ok().stdout,
        format!("compacted revision {rev}\n")
    );
    let defrag = p.etcdctl(&["defrag"]).ok().stdout;
    assert_eq!(
        defrag,
        format!("Finished defragmenting etcd member[{}]\n", p.endpoint())
    );
    let size_after = json_field(&status(&p), "dbSize");
    assert!(
        size_after < size_before,
        "db size {size_before} -> {size_after}"
    );
    assert_eq!(p.etcdctl(&["alarm", "disarm"]).ok().stdout, list);
    assert_eq!(p.etcdctl(&["alarm", "list"]).ok().stdout, "");
    assert_eq!(p.etcdctl(&["put", "a", "b"]).ok().stdout, "OK\n");
    assert!(common::wait_until(Duration::from_secs(5), || health(&p)
        == r#"{"health":"true"}"#));
    // Disarming again finds nothing to disarm.
    assert_eq!(p.etcdctl(&["alarm", "disarm"]).ok().stdout, "");
}

#[test]
fn hash_and_hashkv_answer() {
    let p = EtcdProcess::start(EtcdOpts::default());
    p.etcdctl(&["put", "k", "v"]).ok();
    let out = p.etcdctl(&["endpoint", "hashkv", "-w", "json"]).ok().stdout;
    assert!(out.contains("\"hash\":"), "{out}");
    // Compacting at the current revision still lets HashKV(0) answer.
    let rev = json_field(&status(&p), "revision");
    p.etcdctl(&["compact", &rev.to_string()]).ok();
    let out = p.etcdctl(&["endpoint", "hashkv", "-w", "json"]).ok().stdout;
    assert_eq!(json_field(&out, "compact_revision"), rev, "{out}");
}
