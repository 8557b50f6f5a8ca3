//! `get`, `put`, `del`: argument checks, request building (shared with
//! `txn`), and the commands themselves.

use std::io::Read;

use etcd_client::prefix_range_end;
use etcd_proto::etcdserverpb::{DeleteRangeRequest, PutRequest, RangeRequest};

use crate::cli::Parsed;
use crate::exit::{fail, EXIT_BAD_ARGS, EXIT_BAD_FEATURE, EXIT_ERROR};
use crate::global::{globals, must_connect};
use crate::printer::Format;

/// The range end for `--from-key` (all keys ≥ key).
const FROM_KEY_END: &[u8] = b"\x00";

/// Builds the `get` request (etcdctl's `getGetOp`), exiting on bad input.
pub fn get_request(p: &Parsed) -> RangeRequest {
    let args = &p.args;
    if args.is_empty() {
        fail(
            EXIT_BAD_ARGS,
            "get command needs one argument as key and an optional argument as range_end",
        );
    }
    let (prefix, from_key) = (p.bool("prefix"), p.bool("from-key"));
    if prefix && from_key {
        fail(
            EXIT_BAD_ARGS,
            "`--prefix` and `--from-key` cannot be set at the same time, choose one",
        );
    }
    let mut req = RangeRequest {
        key: args[0].as_bytes().to_vec(),
        ..Default::default()
    };
    match p.string("consistency").as_str() {
        "s" => req.serializable = true,
        "l" => {}
        other => fail(
            EXIT_BAD_FEATURE,
            &format!("unknown consistency flag {other:?}"),
        ),
    }
    if args.len() > 1 {
        if prefix || from_key {
            fail(EXIT_BAD_ARGS, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set");
        }
        req.range_end = args[1].as_bytes().to_vec();
    }
    req.limit = p.int("limit");
    let rev = p.int("rev");
    if rev > 0 {
        req.revision = rev;
    }
    let order = match p.string("order").to_uppercase().as_str() {
        "ASCEND" => 1,
        "DESCEND" => 2,
        "" => 0,
        _ => fail(
            EXIT_BAD_FEATURE,
            &format!("bad sort order {}", p.string("order")),
        ),
    };
    let target = match p.string("sort-by").to_uppercase().as_str() {
        "CREATE" => 2,
        "KEY" | "" => 0,
        "MODIFY" => 3,
        "VALUE" => 4,
        "VERSION" => 1,
        _ => fail(
            EXIT_BAD_FEATURE,
            &format!("bad sort target {}", p.string("sort-by")),
        ),
    };
    // clientv3: ascending by key is the natural order, sent as "no sort".
    req.sort_order = if target == 0 && order == 1 { 0 } else { order };
    req.sort_target = target;
    if prefix {
        if req.key.is_empty() {
            req.key = FROM_KEY_END.to_vec();
            req.range_end = FROM_KEY_END.to_vec();
        } else {
            req.range_end = prefix_range_end(&req.key);
        }
    }
    if from_key {
        if req.key.is_empty() {
            req.key = FROM_KEY_END.to_vec();
        }
        req.range_end = FROM_KEY_END.to_vec();
    }
    req.keys_only = p.bool("keys-only");
    req.count_only = p.bool("count-only");
    req
}

/// Builds the `put` request (etcdctl's `getPutOp`), reading the value from
/// stdin when it is not an argument.
pub fn put_request(p: &Parsed, stdin_ok: bool) -> PutRequest {
    let args = &p.args;
    let usage = "put command needs 1 argument and input from stdin or 2 arguments";
    if args.is_empty() {
        fail(EXIT_BAD_ARGS, usage);
    }
    let ignore_value = p.bool("ignore-value");
    if ignore_value && args.len() > 1 {
        fail(
            EXIT_BAD_ARGS,
            "put command needs only 1 argument when 'ignore-value' is set",
        );
    }
    let mut value = Vec::new();
    if !ignore_value {
        if args.len() > 1 {
            value = args[1].as_bytes().to_vec();
        } else if stdin_ok {
            let _ = std::io::stdin().read_to_end(&mut value);
            if value.is_empty() {
                fail(EXIT_BAD_ARGS, usage);
            }
        } else {
            fail(EXIT_BAD_ARGS, usage);
        }
    }
    let lease_str = p.string("lease");
    let lease = i64::from_str_radix(&lease_str, 16).unwrap_or_else(|_| {
        fail(
            EXIT_BAD_ARGS,
            &format!("bad lease ID (strconv.ParseInt: parsing {lease_str:?}: invalid syntax), expecting ID in Hex"),
        )
    });
    PutRequest {
        key: args[0].as_bytes().to_vec(),
        value,
        lease,
        prev_kv: p.bool("prev-kv"),
        ignore_value,
        ignore_lease: p.bool("ignore-lease"),
    }
}

/// Builds the `del` request (etcdctl's `getDelOp`).
pub fn del_request(p: &Parsed) -> DeleteRangeRequest {
    let args = &p.args;
    if args.is_empty() || args.len() > 2 {
        fail(
            EXIT_BAD_ARGS,
            "del command needs one argument as key and an optional argument as range_end",
        );
    }
    let (prefix, from_key) = (p.bool("prefix"), p.bool("from-key"));
    if prefix && from_key {
        fail(
            EXIT_BAD_ARGS,
            "`--prefix` and `--from-key` cannot be set at the same time, choose one",
        );
    }
    let mut req = DeleteRangeRequest {
        key: args[0].as_bytes().to_vec(),
        ..Default::default()
    };
    if args.len() > 1 {
        if prefix || from_key {
            fail(EXIT_BAD_ARGS, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set");
        }
        req.range_end = args[1].as_bytes().to_vec();
    }
    if prefix {
        if req.key.is_empty() {
            req.key = FROM_KEY_END.to_vec();
            req.range_end = FROM_KEY_END.to_vec();
        } else {
            req.range_end = prefix_range_end(&req.key);
        }
    }
    req.prev_kv = p.bool("prev-kv");
    if from_key {
        if req.key.is_empty() {
            req.key = FROM_KEY_END.to_vec();
        }
        req.range_end = FROM_KEY_END.to_vec();
    }
    req
}

/// `etcdctl get`.
pub async fn get(p: &mut Parsed) {
    let req = get_request(p);
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .range(req)
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    let mut printer = g.printer();
    if p.bool("print-value-only") {
        if g.format != Format::Simple {
            fail(
                EXIT_BAD_ARGS,
                "print-value-only is only for `--write-out=simple`",
            );
        }
        printer.value_only = true;
    }
    if p.bool("count-only") && g.format == Format::Simple {
        crate::printer::out(&format!("{}\n", resp.count));
        return;
    }
    printer.get(&resp);
}

/// `etcdctl put`.
pub async fn put(p: &mut Parsed) {
    let req = put_request(p, true);
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .put_request(req)
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().put(&resp);
}

/// `etcdctl del`.
pub async fn del(p: &mut Parsed) {
    let req = del_request(p);
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    let resp = c
        .delete_range(req)
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    g.printer().del(&resp);
}

/// `etcdctl compaction`.
pub async fn compaction(p: &mut Parsed) {
    if p.args.len() != 1 {
        fail(EXIT_BAD_ARGS, "compaction command needs 1 argument");
    }
    let rev: i64 = p.args[0].parse().unwrap_or_else(|_| {
        fail(
            EXIT_ERROR,
            &format!("strconv.ParseInt: parsing {:?}: invalid syntax", p.args[0]),
        )
    });
    let g = globals(p);
    let c = must_connect(&g, EXIT_ERROR).await;
    c.compact(rev, p.bool("physical"))
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    crate::printer::out(&format!("compacted revision {rev}\n"));
}
