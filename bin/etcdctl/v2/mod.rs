//! `ETCDCTL_API=2 etcdctl`: etcdctl 3.4's v2 program, a different CLI from
//! the v3 one (urfave/cli instead of cobra) talking HTTP to `/v2/*`.
//!
//! Flow: cli.rs parses (pure; help and usage errors come back as text) →
//! the command's file (keys.rs, watch.rs, members.rs, auth.rs) builds the
//! client the way etcdctl does — endpoints from flags or `ETCDCTL_*`, then
//! a member sync unless `--no-sync` — runs its requests with failover
//! (client.rs over http.rs) and prints as format.rs. Exit codes are
//! etcdctl's: 1 bad args, 2 bad connection, 4 server error, 5 unhealthy
//! cluster, 3 for an unknown command/help topic.
//!
//! `backup` (which rewrites etcd's own WAL and snapshot files) is not
//! supported: it prints a message and exits 1.

mod auth;
mod cli;
mod client;
mod format;
mod help;
mod http;
mod keys;
mod members;
mod spec;
mod watch;

use std::time::Duration;

use crate::exit::exit;
use cli::{Outcome, Values};
use client::{normalise_endpoint, Client, Error};

/// Exit code for bad arguments.
pub const EXIT_BAD_ARGS: i32 = 1;
/// Exit code when the cluster could not be reached during sync.
pub const EXIT_BAD_CONNECTION: i32 = 2;
/// Exit code for a failed request.
pub const EXIT_SERVER_ERROR: i32 = 4;
/// Exit code of `cluster-health` when not every member is healthy.
pub const EXIT_CLUSTER_NOT_HEALTHY: i32 = 5;

/// One command invocation: global and command flags, arguments.
pub struct Ctx {
    pub global: Values,
    pub flags: Values,
    pub args: Vec<String>,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_default()
}

impl Ctx {
    /// `-o` (simple, extended, json).
    pub fn output(&self) -> &str {
        self.global.str("output")
    }

    /// Prints `Error:  <err>` (plus a cluster error's detail) and exits.
    pub fn fail(&self, code: i32, err: &Error) -> ! {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        eprintln!("Error:  {err}");
        if let Some(d) = err.detail() {
            eprintln!("{d}");
        }
        exit(code)
    }

    /// Prints `msg` to stderr and exits 1 (the auth/member commands' way).
    pub fn die(&self, msg: &str) -> ! {
        use std::io::Write;
        let _ = std::io::stdout().flush();
        eprintln!("{msg}");
        exit(1)
    }

    fn total_timeout(&self) -> Duration {
        self.global.duration("total-timeout")
    }

    /// Runs `fut` under `--total-timeout`.
    pub async fn timed<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.total_timeout(), fut).await {
            Ok(r) => r,
            Err(_) => Err(Error::Deadline),
        }
    }

    fn endpoints(&self) -> Vec<String> {
        let g = &self.global;
        let mut s = g.str("endpoints").to_string();
        for next in [
            env("ETCDCTL_ENDPOINTS"),
            g.str("endpoint").to_string(),
            env("ETCDCTL_ENDPOINT"),
            g.str("peers").to_string(),
            env("ETCDCTL_PEERS"),
            "http://127.0.0.1:2379,http://127.0.0.1:4001".to_string(),
        ] {
            if s.is_empty() {
                s = next;
            }
        }
        s.split(',').map(str::to_string).collect()
    }

    fn transport(&self) -> http::Transport {
        let pick = |flag: &str, var: &str| {
            let v = self.global.str(flag);
            if v.is_empty() {
                env(var)
            } else {
                v.to_string()
            }
        };
        let (ca, cert, key) = (
            pick("ca-file", "ETCDCTL_CA_FILE"),
            pick("cert-file", "ETCDCTL_CERT_FILE"),
            pick("key-file", "ETCDCTL_KEY_FILE"),
        );
        let tls = if ca.is_empty() && cert.is_empty() && key.is_empty() {
            None
        } else {
            let opts = etcd_client::TlsOptions {
                ca_file: ca.into(),
                cert_file: cert.into(),
                key_file: key.into(),
                insecure_skip_verify: false,
            };
            match opts.client_config() {
                Ok(c) => Some(c),
                Err(e) => self.die(&e.to_string()),
            }
        };
        let total = self.total_timeout();
        let dial = if !total.is_zero() && total < http::DIAL_TIMEOUT_MAX {
            total
        } else {
            http::DIAL_TIMEOUT_MAX
        };
        http::Transport {
            tls,
            dial_timeout: dial,
            header_timeout: self.global.duration("timeout"),
        }
    }

    fn credentials(&self) -> Option<(String, String)> {
        let mut u = self.global.str("username").to_string();
        if u.is_empty() {
            u = env("ETCDCTL_USERNAME");
        }
        if u.is_empty() {
            return None;
        }
        match u.split_once(':') {
            Some((n, p)) => Some((n.to_string(), p.to_string())),
            None => Some((u.clone(), auth::read_password("Password: ", self))),
        }
    }

    /// The client without a member sync (`mustNewClientNoSync`).
    pub fn client_no_sync(&self) -> Client {
        let mut eps = Vec::new();
        for e in self.endpoints() {
            match normalise_endpoint(&e) {
                Ok(e) => eps.push(e),
                Err(msg) => self.die(&msg),
            }
        }
        let debug = self.global.bool("debug");
        let c = Client::new(self.transport(), eps, self.credentials(), debug);
        if debug {
            eprintln!("Cluster-Endpoints: {}", c.endpoints().join(", "));
        }
        c
    }

    /// The client, synced with the member list unless `--no-sync`
    /// (`mustNewClient`).
    pub async fn client(&self) -> Client {
        let mut eps = Vec::new();
        for e in self.endpoints() {
            match normalise_endpoint(&e) {
                Ok(e) => eps.push(e),
                Err(msg) => self.die(&msg),
            }
        }
        let debug = self.global.bool("debug");
        let mut c = Client::new(self.transport(), eps, self.credentials(), debug);
        if !self.global.bool("no-sync") {
            if debug {
                eprintln!(
                    "start to sync cluster using endpoints({})",
                    c.endpoints().join(",")
                );
            }
            if let Err(e) = self.timed(c.sync()).await {
                if e.to_string() == "client: no endpoints available" {
                    eprintln!("etcd cluster has no published client endpoints.");
                    eprintln!(
                        "Try '--no-sync' if you want to access non-published client endpoints({}).",
                        c.endpoints().join(",")
                    );
                    self.fail(EXIT_SERVER_ERROR, &e);
                }
                if e.is_connection() {
                    self.fail(EXIT_BAD_CONNECTION, &e);
                }
            }
            if debug {
                eprintln!("got endpoints({}) after sync", c.endpoints().join(","));
            }
        }
        if debug {
            eprintln!("Cluster-Endpoints: {}", c.endpoints().join(", "));
        }
        c
    }
}

/// Runs etcdctl's v2 program on `args` (without the program name); never
/// returns.
pub fn main(args: Vec<String>) -> ! {
    let (global, path, flags, args) = match cli::parse(&args) {
        Outcome::Print {
            stdout,
            stderr,
            code,
        } => {
            print!("{stdout}");
            eprint!("{stderr}");
            exit(code)
        }
        Outcome::Run {
            global,
            path,
            flags,
            args,
        } => (global, path, flags, args),
    };
    let ctx = Ctx {
        global,
        flags,
        args,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| ctx.die(&e.to_string()));
    rt.block_on(async {
        match path.as_slice() {
            ["backup"] => ctx.die("etcd-rs's etcdctl does not support the v2 backup command (it rewrites etcd's own WAL); use `etcdctl snapshot save` (ETCDCTL_API=3)"),
            ["cluster-health"] => members::cluster_health(&ctx).await,
            ["watch"] => watch::watch(&ctx).await,
            ["exec-watch"] => watch::exec_watch(&ctx).await,
            ["member", sub] => members::run(&ctx, sub).await,
            ["user", sub] => auth::user(&ctx, sub).await,
            ["role", sub] => auth::role(&ctx, sub).await,
            ["auth", sub] => auth::enable(&ctx, *sub == "enable").await,
            [name] => keys::run(&ctx, name).await,
            _ => {}
        }
    });
    exit(0)
}
