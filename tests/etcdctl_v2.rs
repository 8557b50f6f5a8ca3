//! The real `etcdctl` 3.4 with `ETCDCTL_API=2` against a server started with
//! `--enable-v2`: outputs as in etcd's v2 guides, errors as
//! `Error:  <code>: <message> (<cause>) [<index>]`. Indexes are exact: a
//! fresh member's first user write takes v2 index 4 in etcd 3.4 (three
//! cluster writes under `/0` come first). Passes against the real etcd
//! (`ETCD_RS_TEST_ETCD=/usr/bin/etcd`).

mod common;

use std::process::Command;

use common::{run_with_timeout, CtlOutput, CtlStream, EtcdOpts, EtcdProcess, ETCDCTL_PATH, ETCDCTL_TIMEOUT};

fn start() -> EtcdProcess {
    EtcdProcess::start(EtcdOpts {
        args: vec!["--enable-v2".into()],
        ..Default::default()
    })
}

fn ctl2(p: &EtcdProcess, args: &[&str]) -> CtlOutput {
    run_with_timeout(ctl2_command(p, args), None, ETCDCTL_TIMEOUT)
}

/// `ETCDCTL_API=2 etcdctl --endpoints=<p> <args>`, free of the caller's
/// `ETCDCTL_*` variables.
fn ctl2_command(p: &EtcdProcess, args: &[&str]) -> Command {
    let mut cmd = Command::new(ETCDCTL_PATH);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ETCDCTL") {
            cmd.env_remove(k);
        }
    }
    cmd.env("ETCDCTL_API", "2")
        .arg(format!("--endpoints={}", p.client_url()))
        .args(args);
    cmd
}

fn out(p: &EtcdProcess, args: &[&str]) -> String {
    ctl2(p, args).ok().stdout
}

fn err(p: &EtcdProcess, args: &[&str]) -> String {
    let o = ctl2(p, args);
    assert_ne!(o.code, 0, "expected a failure: {o:#?}");
    o.last_err_line().to_string()
}

#[test]
fn set_get_mk_update_and_errors() {
    let p = start();
    assert_eq!(out(&p, &["set", "/c/a", "1"]), "1\n");
    assert_eq!(out(&p, &["mk", "/c/b", "2"]), "2\n");
    assert_eq!(
        err(&p, &["mk", "/c/b", "2"]),
        "Error:  105: Key already exists (/c/b) [5]"
    );
    assert_eq!(out(&p, &["update", "/c/a", "3"]), "3\n");
    assert_eq!(
        err(&p, &["update", "/c/nope", "3"]),
        "Error:  100: Key not found (/c/nope) [6]"
    );
    assert_eq!(
        out(&p, &["set", "/c/a", "4", "--swap-with-value", "3"]),
        "4\n"
    );
    assert_eq!(
        err(&p, &["set", "/c/a", "5", "--swap-with-value", "3"]),
        "Error:  101: Compare failed ([3 != 4]) [7]"
    );
    assert_eq!(
        err(&p, &["set", "/c/a", "5", "--swap-with-index", "1"]),
        "Error:  101: Compare failed ([1 != 7]) [7]"
    );
    assert_eq!(
        out(&p, &["set", "/c/a", "5", "--swap-with-index", "7"]),
        "5\n"
    );
    assert_eq!(out(&p, &["get", "/c/a"]), "5\n");
    assert_eq!(
        err(&p, &["get", "/notexist"]),
        "Error:  100: Key not found (/notexist) [8]"
    );
    assert_eq!(
        out(&p, &["-o", "extended", "get", "/c/a"]),
        "Key: /c/a\nCreated-Index: 4\nModified-Index: 8\nTTL: 0\nIndex: 8\n\n5\n"
    );
    assert_eq!(
        out(&p, &["-o", "json", "get", "/c/a"]),
        "{\"action\":\"get\",\"node\":{\"key\":\"/c/a\",\"value\":\"5\",\"nodes\":null,\"createdIndex\":4,\"modifiedIndex\":8},\"prevNode\":null}\n"
    );
    assert_eq!(out(&p, &["set", "/t", "v", "--ttl", "100"]), "v\n");
    let ext = out(&p, &["-o", "extended", "get", "/t"]);
    assert!(ext.contains("TTL: 100") || ext.contains("TTL: 99"), "{ext}");
}

#[test]
fn dirs_in_order_ls_and_rm() {
    let p = start();
    assert_eq!(out(&p, &["mkdir", "/d"]), "");
    assert_eq!(out(&p, &["setdir", "/d2"]), "");
    assert_eq!(out(&p, &["updatedir", "/d2", "--ttl", "100"]), "");
    assert_eq!(out(&p, &["mk", "--in-order", "/q", "job1"]), "job1\n");
    assert_eq!(out(&p, &["mk", "--in-order", "/q", "job2"]), "job2\n");
    assert_eq!(
        out(&p, &["ls", "--sort", "/q"]),
        "/q/00000000000000000007\n/q/00000000000000000008\n"
    );
    out(&p, &["set", "/c/a", "1"]);
    out(&p, &["set", "/c/b/x", "2"]);
    assert_eq!(
        out(&p, &["ls", "--sort", "--recursive", "-p", "/"]),
        "/c/\n/c/a\n/c/b/\n/c/b/x\n/d/\n/d2/\n/q/\n/q/00000000000000000007\n/q/00000000000000000008\n"
    );
    assert_eq!(err(&p, &["get", "/q"]), "/q: is a directory");
    assert_eq!(
        err(&p, &["rm", "/c/a", "--with-value", "9"]),
        "Error:  101: Compare failed ([9 != 1]) [10]"
    );
    assert_eq!(
        err(&p, &["rm", "/c/a", "--with-index", "1"]),
        "Error:  101: Compare failed ([1 != 9]) [10]"
    );
    assert_eq!(out(&p, &["rm", "/c/a", "--with-index", "9"]), "\n");
    assert_eq!(err(&p, &["rm", "/c"]), "Error:  102: Not a file (/c) [11]");
    assert_eq!(
        err(&p, &["rmdir", "/c"]),
        "Error:  108: Directory not empty (/c) [11]"
    );
    assert_eq!(out(&p, &["rm", "--recursive", "/c"]), "");
    assert_eq!(out(&p, &["rm", "--dir", "/d"]), "");
    assert_eq!(out(&p, &["rmdir", "/d2"]), "");
    assert_eq!(out(&p, &["ls", "--sort"]), "/q\n");
}

#[test]
fn watch_after_index_cluster_health_and_members() {
    let p = start();
    out(&p, &["set", "/w", "1"]);
    out(&p, &["set", "/w", "2"]);
    assert_eq!(out(&p, &["watch", "--after-index", "4", "/w"]), "2\n");
    assert_eq!(
        out(&p, &["-o", "extended", "watch", "--after-index", "3", "/w"])
            .lines()
            .next(),
        Some("Key: /w")
    );
    let health = out(&p, &["cluster-health"]);
    assert!(health.ends_with("cluster is healthy\n"), "{health}");
    let members = out(&p, &["member", "list"]);
    assert!(
        members.contains(&format!(
            "name=default peerURLs={} clientURLs={} isLeader=true",
            p.peer_url(),
            p.client_url()
        )),
        "{members}"
    );
}

/// `watch --forever` replays history after `--after-index` and keeps
/// printing; `exec-watch` runs its command once per event with etcdctl's
/// `ETCD_WATCH_*` variables (commands run concurrently, so lines are sorted).
#[test]
fn watch_forever_and_exec_watch() {
    let p = start();
    out(&p, &["set", "/f/a", "1"]);
    out(&p, &["set", "/f/a", "2"]);
    out(&p, &["set", "/f/b", "3"]);
    let bound = std::time::Duration::from_secs(10);
    let watch = CtlStream::spawn(ctl2_command(&p, &["watch", "--forever", "--recursive", "--after-index", "3", "/f"]));
    watch.expect_stdout(bound, "[set] /f/a\n1\n[set] /f/a\n2\n[set] /f/b\n3\n");
    let exec = CtlStream::spawn(ctl2_command(
        &p,
        &[
            // etcdctl 3.4 takes the key last: with `<key> -- <cmd>` its
            // flag parser drops `--` and it watches the command's last word.
            "exec-watch", "--recursive", "--after-index", "3", "--",
            "sh", "-c", "echo \"$ETCD_WATCH_ACTION $ETCD_WATCH_KEY=$ETCD_WATCH_VALUE@$ETCD_WATCH_MODIFIED_INDEX\"", "/f",
        ],
    ));
    assert!(exec.wait_stdout(bound, |s| s.lines().count() == 3), "exec-watch: {:?} {:?}", exec.stdout(), exec.stderr());
    out(&p, &["set", "/f/c", "4"]);
    out(&p, &["rm", "/f/a"]);
    watch.expect_stdout(
        bound,
        "[set] /f/a\n1\n[set] /f/a\n2\n[set] /f/b\n3\n[set] /f/c\n4\n[delete] /f/a\nPrevNode.Value: 2\n",
    );
    assert!(exec.wait_stdout(bound, |s| s.lines().count() == 5), "exec-watch: {:?} {:?}", exec.stdout(), exec.stderr());
    let mut lines: Vec<String> = exec.stop().stdout.lines().map(String::from).collect();
    lines.sort();
    assert_eq!(lines, ["delete /f/a=@8", "set /f/a=1@4", "set /f/a=2@5", "set /f/b=3@6", "set /f/c=4@7"]);
    let w = watch.stop();
    assert_eq!(w.stderr, "", "watch --forever stderr");
}
