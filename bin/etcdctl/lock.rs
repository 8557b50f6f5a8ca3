//! `lock <name> [command ...]` and `elect <name> [proposal] [-l]`.
//!
//! Both hold a session lease (lock: `--ttl`, default 10 s; elect: 60 s),
//! print the owned key (`get` output) once acquired, and release on
//! SIGINT/SIGTERM. With a command, `lock` runs it with `ETCD_LOCK_KEY` and
//! `ETCD_LOCK_REV` set and unlocks when it exits.

use etcd_proto::etcdserverpb::RangeResponse;

use crate::cli::Parsed;
use crate::exit::{fail, EXIT_BAD_ARGS, EXIT_ERROR};
use crate::global::{globals, must_connect};
use crate::session::{signalled, Session};

/// Session TTL of `elect` (etcd's concurrency default).
pub const ELECT_SESSION_TTL_SECS: i64 = 60;

/// `etcdctl lock`.
pub async fn lock(p: &mut Parsed) {
    if p.args.is_empty() {
        fail(
            EXIT_BAD_ARGS,
            "lock takes a lock name argument and an optional command to execute",
        );
    }
    let ttl = p.int("ttl");
    let g = globals(p);
    let c = must_connect(&g, crate::exit::EXIT_BAD_CONNECTION).await;
    let mut s = Session::new(&c, ttl).await;
    let name = p.args[0].clone();
    let held = tokio::select! {
        r = c.lock(name.as_bytes().to_vec(), s.lease) => r.unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string())),
        _ = signalled() => return,
    };
    let key = held.key.clone();
    let rev = held.header.as_ref().map(|h| h.revision).unwrap_or(0);
    if p.args.len() > 1 {
        let status = std::process::Command::new(&p.args[1])
            .args(&p.args[2..])
            .env("ETCD_LOCK_KEY", String::from_utf8_lossy(&key).as_ref())
            .env("ETCD_LOCK_REV", rev.to_string())
            .status();
        let unlocked = c.unlock(key).await;
        match status {
            Err(e) => fail(EXIT_ERROR, &e.to_string()),
            Ok(st) if !st.success() => fail(EXIT_ERROR, &crate::watch::exit_status_text(st)),
            Ok(_) => {}
        }
        if let Err(e) = unlocked {
            fail(EXIT_ERROR, &e.to_string());
        }
        return;
    }
    let k = c
        .get(key.clone())
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    if k.kvs.is_empty() {
        fail(EXIT_ERROR, "lock lost on init");
    }
    g.printer().get(&k);
    tokio::select! {
        _ = signalled() => {
            if let Err(e) = c.unlock(key).await {
                fail(EXIT_ERROR, &e.to_string());
            }
        }
        _ = s.done() => fail(EXIT_ERROR, "session expired"),
    }
}

/// `etcdctl elect`.
pub async fn elect(p: &mut Parsed) {
    if p.args.len() != 1 && p.args.len() != 2 {
        fail(
            EXIT_BAD_ARGS,
            "elect takes one election name argument and an optional proposal argument",
        );
    }
    let listen = p.bool("listen");
    if p.args.len() == 1 && !listen {
        fail(EXIT_BAD_ARGS, "no proposal argument but -l not set");
    }
    if p.args.len() == 2 && listen {
        fail(EXIT_BAD_ARGS, "proposal given but -l is set");
    }
    let g = globals(p);
    let c = must_connect(&g, crate::exit::EXIT_BAD_CONNECTION).await;
    let printer = g.printer();
    let name = p.args[0].clone();
    let mut s = Session::new(&c, ELECT_SESSION_TTL_SECS).await;
    if listen {
        let mut obs = c
            .observe(name)
            .await
            .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
        loop {
            tokio::select! {
                r = obs.next() => match r {
                    Ok(Some(resp)) => printer.get(&RangeResponse {
                        header: resp.header,
                        count: i64::from(resp.kv.is_some()),
                        kvs: resp.kv.into_iter().collect(),
                        more: false,
                    }),
                    _ => fail(EXIT_ERROR, "elect: observer lost"),
                },
                _ = signalled() => return,
            }
        }
    }
    let won = tokio::select! {
        r = c.campaign(name, p.args[1].clone(), s.lease) => r.unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string())),
        _ = signalled() => return,
    };
    let leader = won.leader.unwrap_or_default();
    let k = c
        .get(leader.key.clone())
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    printer.get(&k);
    tokio::select! {
        _ = signalled() => {}
        _ = s.done() => fail(EXIT_ERROR, "elect: session expired"),
    }
    if let Err(e) = c.resign(leader).await {
        fail(EXIT_ERROR, &e.to_string());
    }
}
