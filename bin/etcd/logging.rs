//! Process-wide logging in etcd 3.4's formats, on top of `tracing`.
//!
//! Callers log with `tracing` macros and use the *target* as etcd's package name:
//! `tracing::info!(target: "etcdserver", "published {:?} to cluster {}", attrs, id)`.
//! [`init`] installs one global subscriber:
//! - `capnslog` (etcd 3.4's default): `2026-11-21 19:10:30.619569 I | etcdserver: ...`;
//!   prints etcd's deprecation warning for capnslog to stderr first, like etcd does;
//! - `zap`: `{"level":"info","ts":"...","caller":"etcdserver","msg":"...",<fields>}`.
//!
//! See `logging/format.rs` for the exact layouts. Because etcd 3.4 logs different text
//! for the two loggers, code that wants etcd's exact lines can branch on [`is_zap`].
//!
//! Outputs: `default` and `stderr` are stderr, `stdout` is stdout, anything else is a
//! file opened for append (created if missing); zap may write to several at once,
//! `/dev/null` among them discards everything. `systemd/journal` falls back to stderr
//! (etcd does the same when journald is unreachable).
//!
//! Levels: `debug`, `info`, `warn`, `error`; `dpanic`, `panic` and `fatal` keep only
//! errors (capnslog's "critical").

// Not every item is used by main.rs yet; the API is complete on purpose.
#![allow(dead_code)]

mod clock;
mod format;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

#[allow(unused_imports)]
pub use clock::{now_local, Clock, LocalTime};
pub use format::{CapnslogFormat, ZapFormat};

static ZAP: AtomicBool = AtomicBool::new(false);

/// True when the zap logger was installed.
pub fn is_zap() -> bool {
    ZAP.load(Ordering::Relaxed)
}

/// The line etcd 3.4 prints to stderr when the capnslog logger is chosen.
pub const CAPNSLOG_WARNING: &str =
    "[WARNING] Deprecated '--logger=capnslog' flag is set; use '--logger=zap' flag instead";

/// Installs the global logger (see module docs). Fails on an unknown logger or level,
/// an output file that cannot be opened, or when a logger is already installed.
pub fn init(logger: &str, level: &str, outputs: &[String]) -> anyhow::Result<()> {
    if logger == "capnslog" {
        eprintln!("{CAPNSLOG_WARNING}");
    }
    init_quiet(logger, level, outputs)
}

/// [`init`] without the capnslog deprecation warning (for errors reported before etcd
/// would have set up its logger).
pub fn init_quiet(logger: &str, level: &str, outputs: &[String]) -> anyhow::Result<()> {
    let filter = level_filter(level)?;
    let writer = Outputs::open(outputs)?;
    let builder = tracing_subscriber::fmt()
        .with_max_level(filter)
        .with_writer(writer)
        .with_ansi(false);
    let result = match logger {
        "capnslog" => builder
            .event_format(CapnslogFormat::new(now_local))
            .try_init(),
        "zap" => builder.event_format(ZapFormat::new(now_local)).try_init(),
        other => bail!("unknown logger option {other:?}"),
    };
    result.map_err(|e| anyhow::anyhow!("installing the logger: {e}"))?;
    ZAP.store(logger == "zap", Ordering::Relaxed);
    Ok(())
}

/// Writes one capnslog line straight to stderr, bypassing `tracing` (etcd's
/// `pkg/flags` logs before any logger is configured).
pub fn early_line(letter: char, target: &str, message: &str) {
    let line = format::capnslog_line(&now_local().capnslog(), letter, target, message);
    let _ = io::stderr().write_all(line.as_bytes());
}

/// Wraps a serialisable value so the zap format embeds it as JSON instead of text,
/// e.g. `tracing::info!(target: "embed", { "listen-peer-urls" = ?logging::json(&urls) }, "...")`
/// (field names with dashes go in braces, or `tracing` takes them for the message).
pub fn json<T: serde::Serialize>(value: &T) -> RawJson {
    RawJson(serde_json::to_string(value).unwrap_or_else(|_| "null".to_string()))
}

/// A value the zap format writes as raw JSON; see [`json`].
pub struct RawJson(String);

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", format::RAW_JSON_MARK, self.0)
    }
}

fn level_filter(level: &str) -> anyhow::Result<LevelFilter> {
    Ok(match level {
        "debug" => LevelFilter::DEBUG,
        "info" => LevelFilter::INFO,
        "warn" => LevelFilter::WARN,
        "error" | "dpanic" | "panic" | "fatal" => LevelFilter::ERROR,
        other => bail!("unknown level {other:?}"),
    })
}

/// One place log lines go.
enum Target {
    Stderr,
    Stdout,
    File(Mutex<File>),
}

/// Every configured output; each formatted line is written to all of them.
#[derive(Clone)]
struct Outputs(Arc<Vec<Target>>);

impl Outputs {
    fn open(outputs: &[String]) -> anyhow::Result<Outputs> {
        let mut names: Vec<&str> = outputs.iter().map(String::as_str).collect();
        if names.is_empty() {
            names.push("default");
        }
        names.sort_unstable();
        names.dedup();
        if names.contains(&"/dev/null") {
            return Ok(Outputs(Arc::new(Vec::new())));
        }
        let mut targets = Vec::new();
        let mut stderr_added = false;
        for name in names {
            match name {
                "default" | "stderr" | "systemd/journal" => {
                    if !stderr_added {
                        targets.push(Target::Stderr);
                        stderr_added = true;
                    }
                }
                "stdout" => targets.push(Target::Stdout),
                path => {
                    let file = OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .with_context(|| format!("open {path}"))?;
                    targets.push(Target::File(Mutex::new(file)));
                }
            }
        }
        Ok(Outputs(Arc::new(targets)))
    }
}

impl Write for Outputs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        for target in self.0.iter() {
            // A failing output must not silence the others; like zap, drop the line there.
            let _ = match target {
                Target::Stderr => io::stderr().write_all(buf),
                Target::Stdout => io::stdout().write_all(buf),
                Target::File(f) => f.lock().unwrap_or_else(|e| e.into_inner()).write_all(buf),
            };
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Outputs {
    type Writer = Outputs;

    fn make_writer(&'a self) -> Outputs {
        self.clone()
    }
}

#[cfg(test)]
mod tests;
