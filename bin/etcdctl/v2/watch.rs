//! `watch` and `exec-watch`: long polls on `/v2/keys<key>?wait=true`,
//! each next poll waiting from the last event's modified index + 1 (an
//! empty reply, the server's poll timeout, is simply re-sent). No total
//! timeout applies. `exec-watch` runs its command for each non-directory
//! event with `ETCD_WATCH_*` in the environment, forever.

use super::client::{Client, Error};
use super::format::{print_response_key, KeysResponse};
use super::http::Request;
use super::keys::keys_path;
use super::{Ctx, EXIT_BAD_ARGS, EXIT_SERVER_ERROR};

/// A watcher from `after_index` (0: from now).
struct Watcher {
    key: String,
    recursive: bool,
    wait_index: u64,
}

impl Watcher {
    fn new(key: &str, after_index: i64, recursive: bool) -> Watcher {
        Watcher {
            key: key.to_string(),
            recursive,
            wait_index: if after_index > 0 {
                after_index as u64 + 1
            } else {
                0
            },
        }
    }

    async fn next(&mut self, c: &mut Client) -> Result<KeysResponse, Error> {
        loop {
            let q = vec![
                ("wait", "true".to_string()),
                ("waitIndex", self.wait_index.to_string()),
                ("recursive", self.recursive.to_string()),
            ];
            let r = Request {
                method: "GET",
                path_query: keys_path(&self.key, &q),
                body: None,
                basic_auth: None,
                wait: true,
            };
            let resp = c.call(r, false).await?;
            match super::format::decode(&resp) {
                Err(Error::Other(m)) if m == "client: response body is empty" => continue,
                Err(e) => return Err(e),
                Ok(k) => {
                    self.wait_index = k.node.modified_index + 1;
                    return Ok(k);
                }
            }
        }
    }
}

/// `etcdctl watch <key>`.
pub async fn watch(ctx: &Ctx) {
    let mut c = ctx.client().await;
    let Some(key) = ctx.args.first() else {
        ctx.fail(EXIT_BAD_ARGS, &Error::Other("key required".into()))
    };
    let f = &ctx.flags;
    let recursive = f.bool("recursive");
    let mut w = Watcher::new(key, f.int("after-index"), recursive);
    loop {
        let resp = match w.next(&mut c).await {
            Ok(r) => r,
            Err(e) => ctx.fail(EXIT_SERVER_ERROR, &e),
        };
        if resp.node.dir {
            continue;
        }
        if recursive {
            println!("[{}] {}", resp.action, resp.node.key);
        }
        print_response_key(&resp, ctx.output());
        if !f.bool("forever") {
            return;
        }
    }
}

/// `etcdctl exec-watch <key> -- <command> [args...]`.
pub async fn exec_watch(ctx: &Ctx) {
    let mut c = ctx.client().await;
    let args = &ctx.args;
    if args.len() < 2 {
        ctx.fail(
            EXIT_BAD_ARGS,
            &Error::Other("key and command to exec required".into()),
        );
    }
    // etcdctl's own rule: with a `--` after the first argument the key
    // comes first, otherwise (flags reordered away) it comes last.
    let sep = args.iter().skip(1).any(|a| a == "--");
    let (key, cmd): (&String, &[String]) = if sep {
        (&args[0], &args[2..])
    } else {
        (&args[args.len() - 1], &args[..args.len() - 1])
    };
    let f = &ctx.flags;
    let mut w = Watcher::new(key, f.int("after-index"), f.bool("recursive"));
    loop {
        let resp = match w.next(&mut c).await {
            Ok(r) => r,
            Err(e) => ctx.fail(EXIT_SERVER_ERROR, &e),
        };
        if resp.node.dir {
            eprintln!("Ignored dir {} change", resp.node.key);
            continue;
        }
        let Some(program) = cmd.first() else {
            ctx.die("index out of range")
        };
        let child = std::process::Command::new(program)
            .args(&cmd[1..])
            .env("ETCD_WATCH_ACTION", &resp.action)
            .env(
                "ETCD_WATCH_MODIFIED_INDEX",
                resp.node.modified_index.to_string(),
            )
            .env("ETCD_WATCH_KEY", &resp.node.key)
            .env("ETCD_WATCH_VALUE", &resp.node.value)
            .spawn();
        match child {
            Ok(mut ch) => {
                std::thread::spawn(move || {
                    let _ = ch.wait();
                });
            }
            Err(e) => {
                use std::io::Write;
                eprint!("exec: {program:?}: {}", go_exec_error(&e));
                let _ = std::io::stderr().flush();
                crate::exit::exit(1);
            }
        }
    }
}

fn go_exec_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "executable file not found in $PATH".into(),
        _ => e.to_string(),
    }
}
