//! `lease grant|revoke|timetolive|list|keep-alive`.

use crate::cli::Parsed;
use crate::exit::{fail, EXIT_BAD_ARGS, EXIT_BAD_CONNECTION, EXIT_ERROR};
use crate::global::{globals, must_connect};
use crate::printer::{out, Format};

/// Parses a hex lease id like etcdctl (`bad lease ID arg ...`).
pub fn lease_from_arg(s: &str) -> i64 {
    i64::from_str_radix(s, 16).unwrap_or_else(|_| {
        fail(
            EXIT_BAD_ARGS,
            &format!("bad lease ID arg (strconv.ParseInt: parsing {s:?}: invalid syntax), expecting ID in Hex"),
        )
    })
}

/// `lease grant <ttl>`.
pub async fn grant(p: &mut Parsed) {
    if p.args.len() != 1 {
        fail(EXIT_BAD_ARGS, "lease grant command needs TTL argument");
    }
    let ttl: i64 = p.args[0].parse().unwrap_or_else(|_| {
        fail(
            EXIT_BAD_ARGS,
            &format!(
                "bad TTL (strconv.ParseInt: parsing {:?}: invalid syntax)",
                p.args[0]
            ),
        )
    });
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .lease_grant(ttl, 0)
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &format!("failed to grant lease ({e})")));
    g.printer().grant(&resp);
}

/// `lease revoke <id>`.
pub async fn revoke(p: &mut Parsed) {
    if p.args.len() != 1 {
        fail(EXIT_BAD_ARGS, "lease revoke command needs 1 argument");
    }
    let id = lease_from_arg(&p.args[0]);
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .lease_revoke(id)
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &format!("failed to revoke lease ({e})")));
    g.printer().revoke(id, &resp);
}

/// `lease timetolive <id> [--keys]`.
pub async fn time_to_live(p: &mut Parsed) {
    if p.args.len() != 1 {
        fail(
            EXIT_BAD_ARGS,
            "lease timetolive command needs lease ID as argument",
        );
    }
    let keys = p.bool("keys");
    let id = lease_from_arg(&p.args[0]);
    let g = globals(p);
    let c = must_connect(&g, EXIT_BAD_CONNECTION).await;
    let resp = c
        .lease_time_to_live(id, keys)
        .await
        .unwrap_or_else(|e| fail(EXIT_BAD_CONNECTION, &e.to_string()));
    g.printer().time_to_live(&resp, keys);
}

/// `lease list`.
pub async fn list(p: &mut Parsed) {
    let g = globals(p);
    let c = must_connect(&g, EXIT_BAD_CONNECTION).await;
    let resp = c
        .lease_leases()
        .await
        .unwrap_or_else(|e| fail(EXIT_BAD_CONNECTION, &e.to_string()));
    g.printer().leases(&resp);
}

/// `lease keep-alive [--once] <id>`.
pub async fn keep_alive(p: &mut Parsed) {
    if p.args.len() != 1 {
        fail(
            EXIT_BAD_ARGS,
            "lease keep-alive command needs lease ID as argument",
        );
    }
    let id = lease_from_arg(&p.args[0]);
    let g = globals(p);
    let c = must_connect(&g, EXIT_BAD_CONNECTION).await;
    let printer = g.printer();
    if p.bool("once") {
        let resp = c
            .lease_keep_alive_once(id)
            .await
            .unwrap_or_else(|e| fail(EXIT_BAD_CONNECTION, &e.to_string()));
        printer.keep_alive(&resp);
        return;
    }
    let mut ka = c
        .lease_keep_alive(id)
        .await
        .unwrap_or_else(|e| fail(EXIT_BAD_CONNECTION, &e.to_string()));
    while let Ok(Some(resp)) = ka.next().await {
        if resp.ttl <= 0 {
            break;
        }
        printer.keep_alive(&resp);
    }
    if g.format == Format::Simple {
        out(&format!("lease {id:016x} expired or revoked.\n"));
    }
}
