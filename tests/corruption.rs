//! Corruption checks on a 3-member cluster (ours only: the test corrupts a
//! stopped member's redb file through `etcd-backend`, which cannot open the
//! real etcd's bbolt file). Messages are etcd 3.4's (`etcdserver/corrupt.go`,
//! `etcdmain/etcd.go`, `rpctypes.ErrCorrupt`):
//!
//! - `--experimental-initial-corrupt-check`: a restarted member whose data
//!   differs from its peers' at the same revision logs
//!   `E | etcdserver: <id>'s hash <h> != <peer>'s hash <h'> (...)` and exits
//!   with `C | etcdmain: <id> found data inconsistency with peers`.
//! - `--experimental-corrupt-check-time`: the leader's periodic check raises
//!   CORRUPT (member 0), `etcdctl alarm list` prints `alarm:CORRUPT`, writes
//!   fail with `etcdserver: corrupt cluster`; reads still work.

mod common;

use std::path::Path;
use std::time::Duration;

use common::cluster::{Cluster, ClusterOpts};
use etcd_backend::{Backend, BackendConfig, Table};

const VALUE: &str = "original-value";
/// Same length as [`VALUE`], so the stored protobuf stays well-formed.
const FLIPPED: &str = "ORIGINAL-VALUE";
const COMMIT_COUNT: &str = "etcd_disk_backend_commit_duration_seconds_count ";

fn metric(c: &Cluster, i: usize, prefix: &str) -> Option<u64> {
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "2",
            &format!("{}/metrics", c.client_url(i)),
        ])
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
}

/// Writes the victim key and some others, lets every member apply them, and
/// waits until member `i` has made them durable in its backend: two backend
/// commits after it applied them (the second froze its batch after the
/// first finished, so it holds everything applied before).
fn write_and_persist(c: &mut Cluster, i: usize) {
    c.put(0, "victim", VALUE).expect("put victim");
    for n in 0..10 {
        c.put(0, &format!("other{n}"), "x").expect("put");
    }
    c.wait_converged(&[0, 1, 2], Duration::from_secs(20));
    let start = metric(c, i, COMMIT_COUNT).expect("commit metric");
    let mut n = 0;
    let persisted = common::wait_until(Duration::from_secs(20), || {
        n += 1;
        let _ = c.put(0, "filler", &n.to_string());
        metric(c, i, COMMIT_COUNT).is_some_and(|v| v >= start + 2)
    });
    assert!(
        persisted,
        "member {i} did not commit its backend\n{}",
        c.logs()
    );
}

/// Rewrites the victim's value in a stopped member's backend file.
fn flip_value(data_dir: &Path) {
    let db = data_dir.join("member").join("snap").join("db");
    let be = Backend::open(&db, BackendConfig::default()).expect("open the member's backend");
    let rows = be.range(Table::Key, &[], None, 0).expect("range");
    let (key, value) = rows
        .into_iter()
        .find(|(_, v)| v.windows(VALUE.len()).any(|w| w == VALUE.as_bytes()))
        .expect("the victim's revision is in the backend");
    let at = value
        .windows(VALUE.len())
        .position(|w| w == VALUE.as_bytes())
        .expect("found above");
    let mut flipped = value.clone();
    flipped[at..at + VALUE.len()].copy_from_slice(FLIPPED.as_bytes());
    be.put(Table::Key, &key, &flipped);
    be.commit().expect("commit");
}

/// A follower of the current leader.
fn a_follower(c: &mut Cluster) -> usize {
    let leader = c.wait_leader(Duration::from_secs(20));
    (leader + 1) % c.len()
}

#[test]
fn initial_corrupt_check_refuses_a_corrupted_member() {
    if common::testing_external_server() {
        return; // a bbolt file cannot be corrupted through etcd-backend
    }
    let mut c = Cluster::start(
        3,
        ClusterOpts {
            args: vec!["--experimental-initial-corrupt-check".into()],
            ..Default::default()
        },
    );
    let victim = a_follower(&mut c);
    write_and_persist(&mut c, victim);
    c.kill9(victim);
    // An unmodified member passes the check on restart.
    c.restart(victim);
    let id = format!("{:x}", c.member_id(victim));
    assert!(
        c.log(victim).contains(&format!(
            "{id} succeeded on initial corruption checking: no corruption"
        )),
        "{}",
        c.logs()
    );
    write_and_persist(&mut c, victim);
    c.kill9(victim);
    flip_value(&c.data_dir(victim));
    let started = c.try_restart_with(victim, &[]);
    assert!(started.is_err(), "a corrupted member started\n{}", c.logs());
    assert!(c.wait_exit(victim, Duration::from_secs(20)), "{}", c.logs());
    let log = c.log(victim);
    assert!(
        log.contains(&format!(
            "C | etcdmain: {id} found data inconsistency with peers"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!("E | etcdserver: {id}'s hash ")),
        "{log}"
    );
    // The rest of the cluster is unaffected.
    let others: Vec<usize> = (0..c.len()).filter(|&i| i != victim).collect();
    c.put_retry(&others, "after", "1", Duration::from_secs(10))
        .expect("the others still serve writes");
}

#[test]
fn periodic_corrupt_check_raises_the_corrupt_alarm() {
    if common::testing_external_server() {
        return; // a bbolt file cannot be corrupted through etcd-backend
    }
    let mut c = Cluster::start(
        3,
        ClusterOpts {
            args: vec!["--experimental-corrupt-check-time=1s".into()],
            ..Default::default()
        },
    );
    assert_eq!(c.etcdctl(0, &["alarm", "list"]).ok().stdout, "");
    let victim = a_follower(&mut c);
    write_and_persist(&mut c, victim);
    c.kill9(victim);
    flip_value(&c.data_dir(victim));
    c.restart(victim);
    let raised = common::wait_until(Duration::from_secs(30), || {
        c.etcdctl(0, &["alarm", "list"]).stdout == "alarm:CORRUPT \n"
    });
    assert!(
        raised,
        "no CORRUPT alarm: {:?}\n{}",
        c.etcdctl(0, &["alarm", "list"]),
        c.logs()
    );
    for i in 0..c.len() {
        // Every member applied the alarm: writes through any of them fail.
        let out = c.etcdctl(i, &["put", "a", "b"]);
        assert_eq!(
            out.last_err_line(),
            "Error: etcdserver: corrupt cluster",
            "member {i}: {out:?}"
        );
        assert!(
            c.etcdctl(i, &["endpoint", "status"])
                .ok()
                .stdout
                .contains("alarm:CORRUPT"),
            "member {i} status lists the alarm"
        );
    }
    let out = c.etcdctl(0, &["lease", "grant", "10"]);
    assert_eq!(
        out.last_err_line(),
        "Error: failed to grant lease (etcdserver: corrupt cluster)",
        "{out:?}"
    );
    // Reads are still served.
    assert_eq!(
        c.etcdctl(0, &["get", "other1", "--print-value-only"])
            .ok()
            .stdout,
        "x\n"
    );
    let logs: String = (0..c.len()).map(|i| c.log(i)).collect();
    assert!(
        logs.contains("enabled corruption checking with 1s interval"),
        "{}",
        c.logs()
    );
    assert!(logs.contains(", expected hash "), "{}", c.logs());
    assert!(
        logs.contains("alarm CORRUPT raised by peer 0"),
        "{}",
        c.logs()
    );
}
