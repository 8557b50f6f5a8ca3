//! Real `etcdctl watch` against the server under test (seed 003 "watch 历史改动"):
//! history from a revision, ranges and prefixes, `--prev-kv`, `--hex`, delete
//! events, interactive `-i`, JSON output, and a watch on a compacted revision.
//!
//! Live watches always name a start revision, so a put issued right after
//! spawning the watch is delivered whether or not the watch is registered yet.

mod common;

use std::time::Duration;

use common::{EtcdOpts, EtcdProcess};

const WAIT: Duration = Duration::from_secs(10);

fn put(p: &EtcdProcess, k: &str, v: &str) {
    assert_eq!(p.etcdctl(&["put", k, v]).ok().stdout, "OK\n");
}

/// Seed 003's revisions: foo=bar (2), foo1=bar1 (3), foo=bar_new (4), foo1=bar1_new (5).
fn seeded() -> EtcdProcess {
    let p = EtcdProcess::start(EtcdOpts::default());
    put(&p, "foo", "bar");
    put(&p, "foo1", "bar1");
    put(&p, "foo", "bar_new");
    put(&p, "foo1", "bar1_new");
    p
}

/// Runs a watch until its stdout equals `expected`, then stops it.
fn watch_expect(p: &EtcdProcess, args: &[&str], expected: &str) {
    let mut a = vec!["watch"];
    a.extend_from_slice(args);
    let w = p.etcdctl_spawn(&a);
    w.expect_stdout(WAIT, expected);
    w.stop();
}

#[test]
fn watch_history_and_ranges() {
    let p = seeded();
    watch_expect(&p, &["--rev=2", "foo"], "PUT\nfoo\nbar\nPUT\nfoo\nbar_new\n");
    let all = "PUT\nfoo\nbar\nPUT\nfoo1\nbar1\nPUT\nfoo\nbar_new\nPUT\nfoo1\nbar1_new\n";
    watch_expect(&p, &["--rev=2", "foo", "foo9"], all);
    watch_expect(&p, &["--rev=2", "--prefix", "foo"], all);
    watch_expect(&p, &["--rev=4", "--prefix", "foo"], "PUT\nfoo\nbar_new\nPUT\nfoo1\nbar1_new\n");
    watch_expect(
        &p,
        &["--rev=2", "foo", "--hex"],
        "PUT\n\\x66\\x6f\\x6f\n\\x62\\x61\\x72\nPUT\n\\x66\\x6f\\x6f\n\\x62\\x61\\x72\\x5f\\x6e\\x65\\x77\n",
    );

    // JSON: the catch-up events arrive in one response.
    let ids = p.ids();
    let w = p.etcdctl_spawn(&["watch", "--rev=2", "foo", "-w", "json"]);
    let expected = "{\"Header\":{\"cluster_id\":<CLUSTER_ID>,\"member_id\":<MEMBER_ID>,\"revision\":5,\"raft_term\":<TERM>},\
        \"Events\":[{\"kv\":{\"key\":\"Zm9v\",\"create_revision\":2,\"mod_revision\":2,\"version\":1,\"value\":\"YmFy\"}},\
        {\"kv\":{\"key\":\"Zm9v\",\"create_revision\":2,\"mod_revision\":4,\"version\":2,\"value\":\"YmFyX25ldw==\"}}],\
        \"CompactRevision\":0,\"Canceled\":false,\"Created\":false}\n";
    assert!(w.wait_stdout(WAIT, |s| s.ends_with("}\n")), "{:?} {:?}", w.stdout(), w.stderr());
    assert_eq!(ids.normalise(&w.stop().stdout), expected);
}

#[test]
fn watch_live_prev_kv_and_delete() {
    let p = seeded();
    // Live: the watch starts at the next revision (6).
    let w = p.etcdctl_spawn(&["watch", "--prev-kv", "--rev=6", "foo"]);
    put(&p, "foo", "bar_latest"); // rev 6
    w.expect_stdout(WAIT, "PUT\nfoo\nbar_new\nfoo\nbar_latest\n");
    w.stop();

    let w = p.etcdctl_spawn(&["watch", "--rev=7", "foo", "foo9"]);
    assert_eq!(p.etcdctl(&["del", "foo1"]).ok().stdout, "1\n"); // rev 7
    put(&p, "foo2", "x"); // rev 8
    w.expect_stdout(WAIT, "DELETE\nfoo1\n\nPUT\nfoo2\nx\n");
    w.stop();
    watch_expect(&p, &["--rev=7", "--prev-kv", "foo1"], "DELETE\nfoo1\nbar1_new\nfoo1\n\n");
}

#[test]
fn watch_interactive() {
    let p = seeded();
    let mut w = p.etcdctl_spawn(&["watch", "-i"]);
    w.write_stdin("watch --rev=2 foo\n");
    w.expect_stdout(WAIT, "PUT\nfoo\nbar\nPUT\nfoo\nbar_new\n");
    w.write_stdin("watch --rev=5 foo1\n");
    w.expect_stdout(WAIT, "PUT\nfoo\nbar\nPUT\nfoo\nbar_new\nPUT\nfoo1\nbar1_new\n");
    put(&p, "foo", "again"); // rev 6, seen by the first watcher
    w.expect_stdout(WAIT, "PUT\nfoo\nbar\nPUT\nfoo\nbar_new\nPUT\nfoo1\nbar1_new\nPUT\nfoo\nagain\n");
    w.stop();
}

#[test]
fn watch_compacted_revision() {
    let p = seeded();
    assert_eq!(p.etcdctl(&["compaction", "4"]).ok().stdout, "compacted revision 4\n");
    let w = p.etcdctl_spawn(&["watch", "--rev=2", "foo"]);
    let out = w.wait_exit(WAIT);
    assert_eq!(out.code, 5, "{out:#?}");
    // Both lines go to stderr; stdout stays empty.
    assert_eq!(out.stdout, "", "{out:#?}");
    assert_eq!(
        out.stderr,
        "watch was canceled (etcdserver: mvcc: required revision has been compacted)\n\
         Error: watch is canceled by the server\n",
        "{out:#?}"
    );
    // The compact revision itself can still be watched.
    watch_expect(&p, &["--rev=4", "--prefix", "foo"], "PUT\nfoo\nbar_new\nPUT\nfoo1\nbar1_new\n");
}
