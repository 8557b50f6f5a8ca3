//! Real `etcdctl lock` and `etcdctl elect` (etcd 3.4.23's client-side
//! recipes over KV, Txn, Watch and Lease) against the server under test:
//! a second contender waits until the first lets go, `lock -- <command>`
//! runs the command while holding, and an observer sees each leader in turn.
//! Outputs were checked against the real etcd (`ETCD_RS_TEST_ETCD=/usr/bin/etcd`).

mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{wait_until, EtcdOpts, EtcdProcess, ETCDCTL_PATH};

const WAIT: Duration = Duration::from_secs(20);

/// An etcdctl we can interrupt (SIGINT, by its own PID) to have it unlock or
/// resign, as a user's Ctrl-C does.
struct Interruptible {
    child: Child,
    stdout: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Interruptible {
    fn spawn(p: &EtcdProcess, args: &[&str]) -> Interruptible {
        let mut cmd = Command::new(ETCDCTL_PATH);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCDCTL") {
                cmd.env_remove(k);
            }
        }
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", p.endpoint()))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("spawn etcdctl");
        let mut pipe = child.stdout.take().expect("stdout");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let buf = stdout.clone();
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 1024];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                buf.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Interruptible {
            child,
            stdout,
            reader: Some(reader),
        }
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned()
    }

    fn wait_stdout(&self, pred: impl Fn(&str) -> bool) -> String {
        assert!(
            wait_until(WAIT, || pred(&self.stdout())),
            "unexpected stdout {:?}",
            self.stdout()
        );
        self.stdout()
    }

    /// Sends SIGINT and waits (bounded) for the exit code.
    fn interrupt(mut self) -> i32 {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: signals only our own child, which has not been reaped yet.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
        let mut status = None;
        assert!(
            wait_until(WAIT, || {
                status = self.child.try_wait().expect("try_wait");
                status.is_some()
            }),
            "etcdctl did not exit on SIGINT"
        );
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        status.and_then(|s| s.code()).unwrap_or(-1)
    }
}

impl Drop for Interruptible {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The keys under `prefix`, in key order.
fn keys(p: &EtcdProcess, prefix: &str) -> Vec<String> {
    let out = p
        .etcdctl(&["get", "--prefix", "--keys-only", prefix])
        .ok()
        .stdout;
    out.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// `<prefix><lease id in hex>`: etcd's contender key.
fn is_contender_key(key: &str, prefix: &str) -> bool {
    key.strip_prefix(prefix).is_some_and(|hex| {
        (1..=16).contains(&hex.len())
            && hex
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    })
}

/// Parses the `<key>\n<value>\n` etcdctl prints once it holds or leads.
fn held(out: &str, prefix: &str, value: &str) -> Option<String> {
    let (key, rest) = out.split_once('\n')?;
    (rest == format!("{value}\n") && is_contender_key(key, prefix)).then(|| key.to_string())
}

#[test]
fn lock_second_contender_waits_until_first_unlocks() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let first = Interruptible::spawn(&p, &["lock", "mylock"]);
    let out = first.wait_stdout(|s| s.ends_with("\n\n"));
    let key1 = held(&out, "mylock/", "").unwrap_or_else(|| panic!("first holder printed {out:?}"));

    let second = Interruptible::spawn(&p, &["lock", "mylock"]);
    // Once its key is queued behind ours, it must wait.
    assert!(wait_until(WAIT, || keys(&p, "mylock/").len() == 2));
    assert_eq!(
        second.stdout(),
        "",
        "second contender got the lock while the first held it"
    );

    // Ctrl-C: the first unlocks (deletes its key) and exits 0.
    assert_eq!(first.interrupt(), 0);
    let out = second.wait_stdout(|s| s.ends_with("\n\n"));
    let key2 = held(&out, "mylock/", "").unwrap_or_else(|| panic!("second holder printed {out:?}"));
    assert_ne!(key1, key2);
    assert_eq!(keys(&p, "mylock/"), vec![key2]);
    assert_eq!(second.interrupt(), 0);
    assert!(keys(&p, "mylock/").is_empty());
}

#[test]
fn lock_runs_command_while_holding() {
    let p = EtcdProcess::start(EtcdOpts::default());
    // The command sees the lock key in its environment and in the store.
    let script = format!(
        "echo \"key=$ETCD_LOCK_KEY rev=$ETCD_LOCK_REV\"; {ETCDCTL_PATH} --endpoints={} get --prefix --keys-only mylock/",
        p.endpoint()
    );
    let out = p
        .etcdctl(&["lock", "mylock", "--", "sh", "-c", &script])
        .ok()
        .stdout;
    let (first, rest) = out.split_once('\n').expect("two lines");
    let (key, rev) = first
        .strip_prefix("key=")
        .and_then(|r| r.split_once(" rev="))
        .unwrap_or_else(|| panic!("unexpected output {out:?}"));
    assert!(is_contender_key(key, "mylock/"), "{out:?}");
    assert!(rev.parse::<i64>().is_ok_and(|r| r > 1), "{out:?}");
    assert_eq!(rest, format!("{key}\n\n"));
    // Released when the command ends.
    assert!(keys(&p, "mylock/").is_empty());

    // The command's failure is etcdctl's, and the lock is still released.
    let out = p.etcdctl(&["lock", "mylock", "--", "sh", "-c", "exit 3"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (1, "Error: exit status 3\n")
    );
    assert!(keys(&p, "mylock/").is_empty());

    // A second `lock -- cmd` runs its command only after the first ends.
    let dir = tempfile::tempdir().expect("tempdir");
    let release = dir.path().join("release");
    let hold = format!(
        "echo held; while [ ! -e '{}' ]; do sleep 0.02; done",
        release.display()
    );
    let holder = p.etcdctl_spawn(&["lock", "mylock", "--", "sh", "-c", &hold]);
    holder.expect_stdout(WAIT, "held\n");
    let waiter = p.etcdctl_spawn(&["lock", "mylock", "--", "echo", "second"]);
    assert!(wait_until(WAIT, || keys(&p, "mylock/").len() == 2));
    assert_eq!(waiter.stdout(), "");
    std::fs::write(&release, b"").expect("release");
    let out = waiter.wait_exit(WAIT);
    assert_eq!((out.code, out.stdout.as_str()), (0, "second\n"), "{out:?}");
    assert_eq!(holder.wait_exit(WAIT).code, 0);
    assert!(keys(&p, "mylock/").is_empty());
}

#[test]
fn elect_campaign_and_observe() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let observer = p.etcdctl_spawn(&["elect", "-l", "myelection"]);
    let c1 = Interruptible::spawn(&p, &["elect", "myelection", "p1"]);
    let out = c1.wait_stdout(|s| s.ends_with("p1\n"));
    let key1 = held(&out, "myelection/", "p1").unwrap_or_else(|| panic!("leader printed {out:?}"));
    observer.expect_stdout(WAIT, &format!("{key1}\np1\n"));

    let c2 = Interruptible::spawn(&p, &["elect", "myelection", "p2"]);
    assert!(wait_until(WAIT, || keys(&p, "myelection/").len() == 2));
    assert_eq!(
        c2.stdout(),
        "",
        "second candidate elected while the first leads"
    );

    // Ctrl-C: the leader resigns; the next candidate leads; the observer
    // sees both in order.
    assert_eq!(c1.interrupt(), 0);
    let out = c2.wait_stdout(|s| s.ends_with("p2\n"));
    let key2 = held(&out, "myelection/", "p2").unwrap_or_else(|| panic!("leader printed {out:?}"));
    assert_ne!(key1, key2);
    observer.expect_stdout(WAIT, &format!("{key1}\np1\n{key2}\np2\n"));
    assert_eq!(c2.interrupt(), 0);
    assert!(keys(&p, "myelection/").is_empty());
    drop(observer);

    let out = p.etcdctl(&["elect", "myelection"]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (128, "Error: no proposal argument but -l not set\n")
    );
}
