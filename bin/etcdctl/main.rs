//! `etcdctl`: etcd's command-line client, v3 API, output- and exit-code-
//! compatible with etcdctl 3.4.
//!
//! Flow: `ETCDCTL_API` check → command line parsed with cobra semantics
//! (cli.rs) → usage/help or the command function (one file per command
//! group) → the command validates its arguments, merges `ETCDCTL_*` into
//! the global flags (global.rs), connects (crates/client) and prints with
//! the chosen printer (printer.rs, json.rs, fields.rs, table.rs).

mod auth;
mod check;
mod cli;
mod discovery_srv;
mod endpoint;
mod exit;
mod fields;
mod global;
mod gofmt;
mod json;
mod kv;
mod lease;
mod lock;
mod maintenance;
mod member;
mod mirror;
#[path = "../common/offline_snapshot.rs"]
mod offline_snapshot;
mod printer;
mod role;
mod session;
mod snapshot;
mod spec;
mod table;
mod tabwriter;
mod txn;
mod usage;
mod user;
mod v2;
mod watch;

use cli::{parse, Outcome, Parsed};
use exit::{exit, fail, EXIT_ERROR};
use printer::out;

fn main() {
    match std::env::var("ETCDCTL_API") {
        Ok(v) if !v.is_empty() && v != "3" => {
            if v == "2" {
                v2::main(std::env::args().skip(1).collect());
            } else {
                eprintln!("unsupported API version {v}");
            }
            std::process::exit(1);
        }
        _ => {}
    }
    // SAFETY: single-threaded at this point; mirrors etcdctl unsetting it so
    // it is not reported as an unknown ETCDCTL_* variable.
    unsafe { std::env::remove_var("ETCDCTL_API") };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut p = match parse(&args) {
        Outcome::Parsed(p) => p,
        Outcome::UnknownCommand(msg) => {
            eprintln!("Error: {msg}\nRun 'etcdctl --help' for usage.");
            fail(EXIT_ERROR, &msg);
        }
        Outcome::FlagError(path, msg) => {
            eprintln!("Error: {msg}");
            out(&usage::usage(&path));
            eprintln!();
            fail(EXIT_ERROR, &msg);
        }
    };
    if p.help || !p.cmd().runnable {
        out(&usage::usage(&p.path));
        exit(0);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    rt.block_on(run(&mut p));
    exit(0);
}

async fn run(p: &mut Parsed) {
    let name = p.name();
    match name.as_str() {
        "get" => kv::get(p).await,
        "put" => kv::put(p).await,
        "del" => kv::del(p).await,
        "txn" => txn::txn(p).await,
        "compaction" => kv::compaction(p).await,
        "check perf" => check::perf(p).await,
        "check datascale" => check::datascale(p).await,
        "watch" => watch::watch(p).await,
        "lease grant" => lease::grant(p).await,
        "lease revoke" => lease::revoke(p).await,
        "lease timetolive" => lease::time_to_live(p).await,
        "lease list" => lease::list(p).await,
        "lease keep-alive" => lease::keep_alive(p).await,
        "member add" => member::add(p).await,
        "member remove" => member::remove(p).await,
        "member update" => member::update(p).await,
        "member list" => member::list(p).await,
        "member promote" => member::promote(p).await,
        "endpoint health" => endpoint::health(p).await,
        "endpoint status" => endpoint::status(p).await,
        "endpoint hashkv" => endpoint::hashkv(p).await,
        "move-leader" => maintenance::move_leader(p).await,
        "alarm list" => maintenance::alarm_list(p).await,
        "alarm disarm" => maintenance::alarm_disarm(p).await,
        "defrag" => maintenance::defrag(p).await,
        "snapshot save" => snapshot::save(p).await,
        "snapshot status" | "snapshot restore" => snapshot::offline(p),
        "make-mirror" => mirror::make_mirror(p).await,
        "lock" => lock::lock(p).await,
        "elect" => lock::elect(p).await,
        "auth enable" => auth::enable(p).await,
        "auth disable" => auth::disable(p).await,
        "user add" => user::add(p).await,
        "user delete" => user::delete(p).await,
        "user get" => user::get(p).await,
        "user list" => user::list(p).await,
        "user passwd" => user::passwd(p).await,
        "user grant-role" => user::grant_role(p).await,
        "user revoke-role" => user::revoke_role(p).await,
        "role add" => role::add(p).await,
        "role delete" => role::delete(p).await,
        "role get" => role::get(p).await,
        "role list" => role::list(p).await,
        "role grant-permission" => role::grant_permission(p).await,
        "role revoke-permission" => role::revoke_permission(p).await,
        "version" => out(&format!(
            "etcdctl version: {}\nAPI version: {}\n",
            usage::VERSION,
            usage::API_VERSION
        )),
        "help" => help(p),
        other => fail(
            EXIT_ERROR,
            &format!("{other} is not supported by etcd-rs's etcdctl yet"),
        ),
    }
}

/// `etcdctl help [command...]`.
fn help(p: &Parsed) {
    let mut path = vec![&spec::ROOT];
    for word in &p.args {
        let cur = path[path.len() - 1];
        match cur.subs.iter().find(|c| c.name() == word) {
            Some(c) => path.push(c),
            None => {
                out(&format!("Unknown help topic {:?}\n", p.args));
                out(&usage::usage(&[&spec::ROOT]));
                return;
            }
        }
    }
    out(&usage::usage(&path));
}
