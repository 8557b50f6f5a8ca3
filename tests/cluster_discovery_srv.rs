//! Bootstrap by `--discovery-srv`: a tiny DNS server on loopback (UDP,
//! hand-written, answering SRV and A queries) serves
//! `_etcd-server._tcp.example.test` with three targets; three members given
//! only the domain (and `ETCD_RS_DNS_SERVER`, etcd-rs's test seam pointing
//! the resolver at that server) form one cluster whose peer URLs are the SRV
//! host names; a member not listed in the records is refused with etcd's
//! message.
//!
//! Ours only: etcd 3.4.23 cannot bootstrap http peers from SRV records (it
//! drops the `_etcd-server` answers; see crates/server/src/discovery_srv.rs)
//! and has no DNS-server seam.

mod common;
#[path = "common/dns.rs"]
mod dns;

use std::collections::HashMap;
use std::fs::File;
use std::net::Ipv4Addr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use dns::{Dns, Record};

use common::{
    free_port, run_with_timeout, server_binary, testing_external_server, wait_until, CtlOutput,
    ETCDCTL_PATH,
};

const FORM_TIMEOUT: Duration = Duration::from_secs(40);
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);
const DOMAIN: &str = "example.test";

/// One member started with `--discovery-srv`; killed and reaped on drop.
struct Member {
    name: String,
    client: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    exit: Option<ExitStatus>,
}

impl Member {
    fn spawn(name: &str, client: u16, peer: u16, dns_port: u16) -> Member {
        let dir = tempfile::Builder::new()
            .prefix("etcd-rs-srv")
            .tempdir()
            .expect("tempdir");
        let log = File::create(dir.path().join("etcd.log")).expect("log");
        let c = format!("http://127.0.0.1:{client}");
        let p = format!("http://127.0.0.1:{peer}");
        let mut cmd = Command::new(server_binary());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCD") {
                cmd.env_remove(k);
            }
        }
        cmd.env("ETCD_RS_DNS_SERVER", format!("127.0.0.1:{dns_port}"))
            .args(["--name", name, "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--discovery-srv", DOMAIN])
            .args(["--listen-client-urls", &c, "--advertise-client-urls", &c])
            .args([
                "--listen-peer-urls",
                &p,
                "--initial-advertise-peer-urls",
                &p,
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log);
        let child = cmd.spawn().expect("spawn etcd");
        Member {
            name: name.into(),
            client,
            dir,
            child: Some(child),
            exit: None,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        if let Some(c) = self.child.as_mut() {
            if let Some(st) = c.try_wait().expect("try_wait") {
                self.exit = Some(st);
                self.child = None;
            }
        }
        self.exit
    }

    fn ctl(&self, args: &[&str]) -> CtlOutput {
        let mut cmd = Command::new(ETCDCTL_PATH);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCDCTL") {
                cmd.env_remove(k);
            }
        }
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints=http://127.0.0.1:{}", self.client))
            .args(args);
        run_with_timeout(cmd, None, Duration::from_secs(20))
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn two_ports() -> (u16, u16) {
    loop {
        let (a, b) = (free_port(), free_port());
        if a != b {
            return (a, b);
        }
    }
}

#[test]
fn three_members_bootstrap_from_srv_records() {
    if testing_external_server() {
        return;
    }
    let ports: Vec<(u16, u16)> = (0..3).map(|_| two_ports()).collect();
    let mut records = HashMap::new();
    records.insert(
        format!("_etcd-server._tcp.{DOMAIN}."),
        ports
            .iter()
            .map(|(_, peer)| Record::Srv {
                port: *peer,
                target: "localhost.".into(),
            })
            .collect(),
    );
    records.insert(
        "localhost.".to_string(),
        vec![Record::A(Ipv4Addr::LOCALHOST)],
    );
    let dns = Dns::start(records);

    let mut members: Vec<Member> = ports
        .iter()
        .enumerate()
        .map(|(i, (c, p))| Member::spawn(&format!("m{}", i + 1), *c, *p, dns.port))
        .collect();
    let formed = wait_until(FORM_TIMEOUT, || {
        members.iter_mut().all(|m| {
            m.exited().is_none()
                && m.log().contains(common::READY_LINE)
                && m.ctl(&["--command-timeout=2s", "endpoint", "health"]).code == 0
        })
    });
    if !formed {
        let logs: String = members
            .iter()
            .map(|m| format!("--- {} ---\n{}\n", m.name, m.log()))
            .collect();
        panic!("SRV-discovered cluster did not form\n{logs}");
    }

    let list = |m: &Member| {
        common::parse_member_list(&m.ctl(&["member", "list", "-w", "json"]).ok().stdout)
    };
    let first = list(&members[0]);
    let mut urls: Vec<String> = first.0.iter().map(|(_, u)| u.clone()).collect();
    urls.sort();
    let mut want: Vec<String> = ports
        .iter()
        .map(|(_, p)| format!("http://localhost:{p}"))
        .collect();
    want.sort();
    assert_eq!(urls, want, "peer URLs come from the SRV targets");
    for m in &members[1..] {
        assert_eq!(list(m), first, "member list on {}", m.name);
    }
    members[1].ctl(&["put", "srv-key", "v"]).ok();
    for m in [&members[0], &members[2]] {
        assert_eq!(
            m.ctl(&["get", "srv-key", "--print-value-only"]).ok().stdout,
            "v\n",
            "read on {}",
            m.name
        );
    }

    // A member whose peer URL is in no record is refused.
    let (c, p) = two_ports();
    let mut stranger = Member::spawn("m9", c, p, dns.port);
    assert!(
        wait_until(EXIT_TIMEOUT, || stranger.exited().is_some()),
        "m9 did not exit\n{}",
        stranger.log()
    );
    assert!(!stranger.exit.expect("status").success());
    let log = stranger.log();
    assert!(
        log.contains(
            "error setting up initial cluster: cannot find local etcd member \"m9\" in SRV records"
        ),
        "{log}"
    );
}
