//! `watch [options] [key or prefix] [range_end] [--] [exec-command ...]`,
//! including `--interactive` (`watch ...` / `progress` lines on stdin) and
//! `ETCDCTL_WATCH_KEY` / `ETCDCTL_WATCH_RANGE_END`.
//!
//! Responses are printed as they arrive; the creation acknowledgement is
//! not shown (etcd's client swallows it). When the server ends the stream
//! the command fails with `watch is canceled by the server` (exit 5).

use std::collections::{HashMap, VecDeque};

use etcd_client::prefix_range_end;
use etcd_proto::etcdserverpb::{WatchCreateRequest, WatchResponse};

use crate::cli::{parse_flags, Parsed};
use crate::exit::{fail, EXIT_BAD_ARGS, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_INVALID_INPUT};
use crate::global::{globals, must_connect};
use crate::gofmt::quote;
use crate::printer::{out, Printer};
use crate::txn::argify;

const BAD_ARGS_NUM: &str = "bad number of arguments";
const BAD_ARGS_ENV: &str = "bad number of arguments (found conflicting environment key)";
const BAD_ARGS_SEP: &str = "bad number of arguments (found separator --, but no commands)";

/// Go's rendering of a failed child's exit status (`exit status N`).
pub fn exit_status_text(st: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("signal: {s}"),
        _ => "exit status unknown".into(),
    }
}

/// Watch options of one watcher.
struct Spec {
    create: WatchCreateRequest,
    exec: Vec<String>,
}

fn build(p: &Parsed, watch_args: &[String], exec: Vec<String>) -> Result<Spec, String> {
    let (env_key, env_range) = env();
    let mut args: Vec<String> = Vec::new();
    if !env_key.is_empty() {
        args.push(env_key);
        if !env_range.is_empty() {
            args.push(env_range);
        }
    }
    args.extend(watch_args.iter().cloned());
    if args.is_empty() {
        return Err(BAD_ARGS_NUM.into());
    }
    let prefix = p.bool("prefix");
    let mut create = WatchCreateRequest {
        key: args[0].as_bytes().to_vec(),
        start_revision: p.int("rev"),
        prev_kv: p.bool("prev-kv"),
        ..Default::default()
    };
    if args.len() == 2 {
        if prefix {
            return Err("`range_end` and `--prefix` are mutually exclusive".into());
        }
        create.range_end = args[1].as_bytes().to_vec();
    }
    if prefix {
        if create.key.is_empty() {
            create.key = vec![0];
            create.range_end = vec![0];
        } else {
            create.range_end = prefix_range_end(&create.key);
        }
    }
    Ok(Spec { create, exec })
}

fn env() -> (String, String) {
    (
        std::env::var("ETCDCTL_WATCH_KEY").unwrap_or_default(),
        std::env::var("ETCDCTL_WATCH_RANGE_END").unwrap_or_default(),
    )
}

/// Splits positional words at `--` into watch arguments and a command.
fn split_exec(
    args: &[String],
    dash_at: Option<usize>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let (env_key, _) = env();
    match dash_at {
        Some(i) if i == args.len() => Err(BAD_ARGS_SEP.into()),
        Some(i) => {
            let (w, e) = args.split_at(i);
            Ok((w.to_vec(), e.to_vec()))
        }
        None if args.is_empty() && env_key.is_empty() => Err(BAD_ARGS_NUM.into()),
        None if !args.is_empty() && !env_key.is_empty() => Err(BAD_ARGS_ENV.into()),
        None => Ok((args.to_vec(), Vec::new())),
    }
}

fn run_exec(exec: &[String], resp: &WatchResponse) {
    let rev = resp.header.as_ref().map(|h| h.revision).unwrap_or(0);
    for ev in &resp.events {
        let kv = ev.kv.clone().unwrap_or_default();
        let kind = if ev.r#type == 1 { "DELETE" } else { "PUT" };
        let st = std::process::Command::new(&exec[0])
            .args(&exec[1..])
            .env("ETCD_WATCH_REVISION", rev.to_string())
            .env("ETCD_WATCH_EVENT_TYPE", format!("\"{kind}\""))
            .env("ETCD_WATCH_KEY", quote(&kv.key))
            .env("ETCD_WATCH_VALUE", quote(&kv.value))
            .status();
        let err = match st {
            Ok(s) if s.success() => continue,
            Ok(s) => exit_status_text(s),
            Err(e) => e.to_string(),
        };
        let shown: Vec<String> = exec.iter().map(|a| quote(a.as_bytes())).collect();
        eprintln!("command [{}] error ({err})", shown.join(" "));
        crate::exit::exit(1);
    }
}

fn cancel_text(r: &WatchResponse) -> String {
    if r.compact_revision != 0 {
        return "etcdserver: mvcc: required revision has been compacted".into();
    }
    if !r.cancel_reason.is_empty() {
        let s = tonic::Status::failed_precondition(r.cancel_reason.clone());
        return etcd_client::Error::Status(s).to_string();
    }
    "etcdserver: mvcc: required revision is a future revision".into()
}

/// Prints one response the way etcdctl's `printWatchCh` does; returns
/// false once the watcher is canceled.
fn show(printer: &Printer, r: &WatchResponse, exec: &[String]) -> bool {
    if r.created && r.events.is_empty() && !r.canceled {
        return true;
    }
    if r.canceled {
        eprintln!("watch was canceled ({})", cancel_text(r));
    }
    let rev = r.header.as_ref().map(|h| h.revision).unwrap_or(0);
    if r.events.is_empty() && !r.canceled && !r.created && r.compact_revision == 0 && rev != 0 {
        out(&format!("progress notify: {rev}\n"));
    }
    printer.watch(r);
    if !exec.is_empty() {
        run_exec(exec, r);
    }
    !r.canceled
}

/// `etcdctl watch`.
pub async fn watch(p: &mut Parsed) {
    let (env_key, env_range) = env();
    if env_key.is_empty() && !env_range.is_empty() {
        fail(
            EXIT_BAD_ARGS,
            &format!("ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END={env_range:?}"),
        );
    }
    if p.bool("interactive") {
        return interactive(p).await;
    }
    let (w, e) = split_exec(&p.args, p.dash_at).unwrap_or_else(|m| fail(EXIT_BAD_ARGS, &m));
    let g = globals(p);
    let c = must_connect(&g, crate::exit::EXIT_BAD_CONNECTION).await;
    let spec = build(p, &w, e).unwrap_or_else(|m| fail(EXIT_BAD_ARGS, &m));
    let printer = g.printer();
    let mut watcher = c
        .watch(spec.create)
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    while let Ok(Some(r)) = watcher.next().await {
        if !show(&printer, &r, &spec.exec) {
            break;
        }
    }
    fail(EXIT_INTERRUPTED, "watch is canceled by the server");
}

/// `watch --interactive`.
async fn interactive(p: &mut Parsed) {
    let g = globals(p);
    let c = must_connect(&g, crate::exit::EXIT_BAD_CONNECTION).await;
    let printer = g.printer();
    let (tx, mut lines) = tokio::sync::mpsc::channel::<Result<String, String>>(16);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        loop {
            let mut l = String::new();
            let r = match stdin.read_line(&mut l) {
                Ok(_) if l.ends_with('\n') => Ok(l),
                Ok(_) => Err("EOF".to_string()),
                Err(e) => Err(e.to_string()),
            };
            let end = r.is_err();
            if tx.blocking_send(r).is_err() || end {
                return;
            }
        }
    });
    let mut watcher: Option<etcd_client::Watcher> = None;
    let mut pending: VecDeque<Vec<String>> = VecDeque::new();
    let mut execs: HashMap<i64, Vec<String>> = HashMap::new();
    let watch_cmd = p.cmd();
    loop {
        let next = async {
            match watcher.as_mut() {
                Some(w) => w.next().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            line = lines.recv() => {
                let l = match line {
                    Some(Ok(l)) => l,
                    Some(Err(e)) => fail(EXIT_INVALID_INPUT, &format!("Error reading watch request line: {e}")),
                    None => fail(EXIT_INVALID_INPUT, "Error reading watch request line: EOF"),
                };
                let l = l.strip_suffix('\n').unwrap_or(&l).to_string();
                let args = argify(&l);
                match args.first().map(String::as_str) {
                    None => eprintln!("Invalid command: {l} (watch and progress supported)"),
                    Some("watch") => {
                        if args.len() < 2 && env().0.is_empty() {
                            eprintln!("Invalid command {l} (command type or key is not provided)");
                            continue;
                        }
                        let wp = parse_flags(&[watch_cmd], &args[1..]).unwrap_or_else(|m| fail(EXIT_BAD_ARGS, &m));
                        let (w, e) = split_exec(&wp.args, wp.dash_at).unwrap_or_else(|m| fail(EXIT_BAD_ARGS, &m));
                        let spec = match build(&wp, &w, e) {
                            Ok(s) => s,
                            Err(m) => {
                                eprintln!("Invalid command {l} ({m})");
                                continue;
                            }
                        };
                        pending.push_back(spec.exec);
                        match watcher.as_ref() {
                            Some(w) => {
                                if let Err(e) = w.create(spec.create).await {
                                    fail(EXIT_ERROR, &e.to_string());
                                }
                            }
                            None => {
                                watcher = Some(c.watch(spec.create).await.unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string())));
                            }
                        }
                    }
                    Some("progress") => {
                        if let Some(w) = watcher.as_ref() {
                            if let Err(e) = w.request_progress().await {
                                fail(EXIT_ERROR, &e.to_string());
                            }
                        }
                    }
                    Some(_) => eprintln!("Invalid command {l} (only support watch)"),
                }
            }
            r = next => {
                match r {
                    Ok(Some(r)) => {
                        if r.created {
                            execs.insert(r.watch_id, pending.pop_front().unwrap_or_default());
                        }
                        let exec = execs.get(&r.watch_id).cloned().unwrap_or_default();
                        show(&printer, &r, &exec);
                    }
                    _ => fail(EXIT_INTERRUPTED, "watch is canceled by the server"),
                }
            }
        }
    }
}
