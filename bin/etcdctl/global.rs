//! Global flags: `ETCDCTL_*` environment, output format, client settings
//! and connecting, following etcdctl's global.go.
//!
//! Order matters and follows etcdctl: command arguments are validated
//! first, then the environment is merged into the inherited flags (a flag
//! given both ways is fatal), then the output format is checked, then the
//! client connects. An unreachable cluster is reported when the command
//! timeout expires (`context deadline exceeded`), as etcd's Go client does.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{AttemptError, Client, ClientConfig, Error, TlsOptions};

use crate::cli::{validate, Parsed};
use crate::exit::{
    capnslog, client_uuid, exit, fail, retry_warning, EXIT_BAD_ARGS, EXIT_BAD_FEATURE, EXIT_ERROR,
};
use crate::printer::{Format, Printer};
use crate::spec::{Flag, Kind};

/// The settings every client-using command shares.
#[derive(Clone, Debug)]
pub struct Globals {
    /// `--endpoints`.
    pub endpoints: Vec<String>,
    /// `--dial-timeout`.
    pub dial_timeout: Duration,
    /// `--command-timeout`.
    pub command_timeout: Duration,
    /// `--keepalive-time`.
    pub keepalive_time: Duration,
    /// `--keepalive-timeout`.
    pub keepalive_timeout: Duration,
    /// User and password.
    pub credentials: Option<(String, String)>,
    /// `-w`.
    pub format: Format,
    /// `--hex`.
    pub hex: bool,
    /// `--cacert`, `--cert`, `--key`, `--insecure-*` (None: plain unless `https://`).
    pub tls: Option<TlsOptions>,
}

impl Globals {
    /// The printer for this invocation.
    pub fn printer(&self) -> Printer {
        Printer {
            format: self.format,
            hex: self.hex,
            value_only: false,
        }
    }
}

/// `ETCDCTL_<FLAG_NAME>`.
pub fn env_key(flag: &str) -> String {
    format!("ETCDCTL_{}", flag.to_uppercase().replace('-', "_"))
}

/// Inherited flags of the command (the ones `ETCDCTL_*` may set).
fn inherited(p: &Parsed) -> Vec<&'static Flag> {
    let mut v: Vec<&'static Flag> = p.path[..p.path.len() - 1]
        .iter()
        .flat_map(|c| c.persistent.iter())
        .collect();
    v.sort_by_key(|f| f.name);
    v
}

/// Merges `ETCDCTL_*` into the inherited flags (pkg/flags semantics).
pub fn apply_env(p: &mut Parsed) {
    let flags = inherited(p);
    let mut used = BTreeSet::new();
    let mut already = BTreeSet::new();
    for f in &flags {
        let key = env_key(f.name);
        if p.changed(f.name) {
            already.insert(key);
            continue;
        }
        if let Ok(v) = std::env::var(&key) {
            if !v.is_empty() {
                used.insert(key);
                if validate(f.kind, &v).is_ok() {
                    p.values.insert(f.name, v);
                }
            }
        }
    }
    if p.cmd().name() == "watch" {
        for k in ["ETCDCTL_WATCH_KEY", "ETCDCTL_WATCH_RANGE_END"] {
            if std::env::var(k).is_ok_and(|v| !v.is_empty()) {
                used.insert(k.to_string());
            }
        }
    }
    for (k, v) in std::env::vars() {
        if used.contains(&k) {
            continue;
        }
        if already.contains(&k) {
            capnslog('C', &format!("conflicting environment variable {k:?} is shadowed by corresponding command-line flag (either unset environment variable or disable flag)"));
            exit(EXIT_ERROR);
        }
        if k.starts_with("ETCDCTL_") {
            capnslog('W', &format!("unrecognized environment variable {k}={v}"));
        }
    }
    if p.bool("debug") {
        let mut e = String::new();
        for f in &flags {
            let v = p.string(f.name);
            let shown = if f.kind == Kind::StrSlice && !v.starts_with('[') {
                format!("[{v}]")
            } else {
                v
            };
            e.push_str(&format!("{}={}\n", env_key(f.name), shown));
        }
        eprint!("{e}");
    }
}

/// The endpoint list of `--endpoints`.
pub fn endpoints(p: &Parsed) -> Vec<String> {
    let v = p.string("endpoints");
    let v = v.trim_start_matches('[').trim_end_matches(']');
    v.split(',').map(|s| s.trim().to_string()).collect()
}

fn duration(p: &Parsed, name: &str) -> Duration {
    etcd_gotext::parse_duration(&p.string(name)).unwrap_or_default()
}

/// The output format, exiting like etcdctl on an unknown one.
pub fn format(p: &Parsed) -> Format {
    Format::parse(&p.string("write-out"))
        .unwrap_or_else(|| fail(EXIT_BAD_FEATURE, "unsupported output format"))
}

/// etcdctl's `clientConfigFromCmd`: env, debug, endpoints, TLS and auth
/// checks, output format.
pub fn globals(p: &mut Parsed) -> Globals {
    apply_env(p);
    // etcdctl resolves `--discovery-srv` before checking TLS flags.
    let endpoints = crate::discovery_srv::endpoints_from_cmd(p);
    for name in ["cert", "key", "cacert"] {
        if p.changed(name) && p.string(name).is_empty() {
            fail(
                EXIT_BAD_ARGS,
                &format!("empty string is passed to --{name} option"),
            );
        }
    }
    let tls = tls_options(p);
    let credentials = credentials(p);
    let format = format(p);
    Globals {
        endpoints,
        dial_timeout: duration(p, "dial-timeout"),
        command_timeout: duration(p, "command-timeout"),
        keepalive_time: duration(p, "keepalive-time"),
        keepalive_timeout: duration(p, "keepalive-timeout"),
        credentials,
        format,
        hex: p.bool("hex"),
        tls,
    }
}

/// etcdctl's secure settings: TLS is configured when a certificate flag is
/// given or `--insecure-transport=false`; `--insecure-skip-tls-verify`
/// only matters then. (`https://` endpoints use TLS regardless; see
/// etcd_client::tls.)
fn tls_options(p: &Parsed) -> Option<TlsOptions> {
    let (cert, key, ca) = (p.string("cert"), p.string("key"), p.string("cacert"));
    if cert.is_empty() && key.is_empty() && ca.is_empty() && p.bool("insecure-transport") {
        return None;
    }
    Some(TlsOptions {
        ca_file: ca.into(),
        cert_file: cert.into(),
        key_file: key.into(),
        insecure_skip_verify: p.bool("insecure-skip-tls-verify"),
    })
}

fn credentials(p: &Parsed) -> Option<(String, String)> {
    let user = p.string("user");
    if user.is_empty() {
        return None;
    }
    let password = p.string("password");
    if !password.is_empty() {
        return Some((user, password));
    }
    if let Some((u, pw)) = user.split_once(':') {
        return Some((u.to_string(), pw.to_string()));
    }
    eprint!("Password: ");
    let mut line = String::new();
    if std::io::stdin().read_line(&mut line).is_err() {
        fail(EXIT_ERROR, "failed to read password");
    }
    Some((user, line.trim_end_matches(['\r', '\n']).to_string()))
}

/// The client settings for `endpoints`.
pub fn client_config(g: &Globals, endpoints: Vec<String>) -> ClientConfig {
    let target = format!(
        "endpoint://client-{}/{}",
        client_uuid(),
        endpoints.first().cloned().unwrap_or_default()
    );
    let hook = Arc::new(move |e: &AttemptError| {
        retry_warning(
            &target,
            e.attempt,
            &etcd_client::error::grpc_error_string(&e.status),
        );
    });
    let mut cfg = ClientConfig::new(endpoints)
        .dial_timeout(g.dial_timeout)
        .command_timeout(g.command_timeout)
        .keepalive(g.keepalive_time, g.keepalive_timeout)
        .on_attempt_error(hook);
    if let Some((u, pw)) = &g.credentials {
        cfg = cfg.credentials(u.clone(), pw.clone());
    }
    if let Some(t) = &g.tls {
        let tls = t
            .client_config()
            .unwrap_or_else(|e| fail(EXIT_BAD_ARGS, &e.to_string()));
        cfg = cfg.tls(tls);
    }
    cfg
}

/// Connects to `endpoints`; while none answers, keeps trying until the
/// command timeout, then fails as etcd's client does (`context deadline
/// exceeded`, after logging the failed attempt).
pub async fn connect_to(g: &Globals, endpoints: Vec<String>) -> Result<Client, Error> {
    let cfg = client_config(g, endpoints.clone());
    let deadline = Instant::now() + g.command_timeout;
    loop {
        match Client::connect(cfg.clone()).await {
            Ok(c) => return Ok(c),
            Err(Error::Unreachable { .. })
                if Instant::now() + Duration::from_millis(100) < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(Error::Unreachable { .. }) => {
                let target = format!(
                    "endpoint://client-{}/{}",
                    client_uuid(),
                    endpoints.first().cloned().unwrap_or_default()
                );
                retry_warning(
                    &target,
                    0,
                    "rpc error: code = DeadlineExceeded desc = latest balancer error: all SubConns are in TransientFailure",
                );
                return Err(Error::Timeout(g.command_timeout));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Connects to the configured endpoints.
pub async fn connect(g: &Globals) -> Result<Client, Error> {
    connect_to(g, g.endpoints.clone()).await
}

/// Connects or exits with `code` on failure.
pub async fn must_connect(g: &Globals, code: i32) -> Client {
    match connect(g).await {
        Ok(c) => c,
        Err(e) => fail(code, &e.to_string()),
    }
}
