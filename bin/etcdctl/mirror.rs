//! `make-mirror [options] <destination>`: copies a prefix of the source
//! cluster (`--endpoints`) to the destination cluster and keeps it in sync,
//! as etcdctl 3.4 does (make_mirror_command.go, clientv3/mirror).
//!
//! Contract and order:
//! 1. the source revision R is taken from a read of `foo` (any key does:
//!    only the header revision is used);
//! 2. base sync: the prefix (all keys when `--prefix` is empty) is read at
//!    R in pages of [`SYNC_PAGE_KEYS`] and each key put at the destination,
//!    its name with the first occurrence of `--prefix` replaced by the
//!    destination prefix (`--dest-prefix`; `--prefix` itself unless
//!    `--no-dest-prefix`);
//! 3. updates: a watch on the prefix from R+1; the events of one source
//!    revision are replayed as one destination transaction (puts and
//!    deletes in event order), so a source txn stays atomic;
//! 4. every [`REPORT_INTERVAL`] the number of keys synced so far (puts of
//!    the base sync plus replayed events) is printed on its own line.
//!
//! The command runs until killed. A compacted watch revision fails with
//! etcd's compaction error; any failed read or write fails the command
//! (`Error: ...`, exit 1). Requests carry no timeout, as in etcdctl, and
//! connecting waits until each cluster answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use etcd_client::{prefix_range_end, Client, TlsOptions};
use etcd_proto::etcdserverpb::{
    request_op, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest,
    WatchCreateRequest,
};
use etcd_proto::mvccpb::{event::EventType, Event};

use crate::cli::Parsed;
use crate::exit::{fail, EXIT_BAD_ARGS, EXIT_BAD_CONNECTION, EXIT_ERROR};
use crate::global::{client_config, globals, Globals};
use crate::printer::out;

/// Keys per range request of the base sync (clientv3/mirror's batch limit).
pub const SYNC_PAGE_KEYS: i64 = 1000;
/// How often the synced-key count is printed.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(30);
/// Pause between attempts to reach a cluster that does not answer yet.
const CONNECT_RETRY: Duration = Duration::from_millis(500);
/// Etcd's message for a watch from a compacted revision.
const ERR_COMPACTED: &str = "etcdserver: mvcc: required revision has been compacted";

/// `key` with the first occurrence of `from` replaced by `to` (Go's
/// `strings.Replace(key, from, to, 1)`; an empty `from` prepends `to`).
pub fn modify_prefix(key: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = if from.is_empty() {
        Some(0)
    } else {
        key.windows(from.len()).position(|w| w == from)
    };
    match at {
        Some(i) => [&key[..i], to, &key[i + from.len()..]].concat(),
        None => key.to_vec(),
    }
}

/// The destination prefix from the flags, or etcdctl's error when both
/// `--dest-prefix` and `--no-dest-prefix` are given.
pub fn dest_prefix(prefix: &str, dest: &str, no_dest: bool) -> Result<String, String> {
    if no_dest && !dest.is_empty() {
        return Err(
            "`--dest-prefix` and `--no-dest-prefix` cannot be set at the same time, choose one"
                .into(),
        );
    }
    Ok(if !no_dest && dest.is_empty() {
        prefix.to_string()
    } else {
        dest.to_string()
    })
}

/// The destination operation replaying one source event.
pub fn replay_op(ev: &Event, from: &[u8], to: &[u8]) -> RequestOp {
    let kv = ev.kv.clone().unwrap_or_default();
    let key = modify_prefix(&kv.key, from, to);
    let req = if ev.r#type == EventType::Delete as i32 {
        request_op::Request::RequestDeleteRange(DeleteRangeRequest {
            key,
            ..Default::default()
        })
    } else {
        request_op::Request::RequestPut(PutRequest {
            key,
            value: kv.value,
            ..Default::default()
        })
    };
    RequestOp { request: Some(req) }
}

/// Splits the events of one watch answer into one transaction per source
/// revision (events arrive ordered by revision).
pub fn txns_by_revision(events: &[Event], from: &[u8], to: &[u8]) -> Vec<TxnRequest> {
    let mut txns: Vec<TxnRequest> = Vec::new();
    let mut last_rev = 0;
    for ev in events {
        let rev = ev.kv.as_ref().map_or(0, |kv| kv.mod_revision);
        if txns.is_empty() || (last_rev != 0 && rev > last_rev) {
            txns.push(TxnRequest::default());
        }
        last_rev = rev;
        if let Some(t) = txns.last_mut() {
            t.success.push(replay_op(ev, from, to));
        }
    }
    txns
}

/// The destination's client settings: the `--dest-*` TLS flags, no
/// credentials, the global timeouts.
fn dest_globals(p: &Parsed, g: &Globals) -> Globals {
    let (cert, key, ca) = (
        p.string("dest-cert"),
        p.string("dest-key"),
        p.string("dest-cacert"),
    );
    let tls = if cert.is_empty()
        && ca.is_empty()
        && key.is_empty()
        && p.bool("dest-insecure-transport")
    {
        None
    } else {
        Some(TlsOptions {
            ca_file: ca.into(),
            cert_file: cert.into(),
            key_file: key.into(),
            insecure_skip_verify: false,
        })
    };
    Globals {
        credentials: None,
        tls,
        ..g.clone()
    }
}

/// Connects to `endpoints`, waiting for as long as the cluster does not
/// answer (etcdctl's client blocks the same way); other errors are fatal.
async fn connect_waiting(g: &Globals, endpoints: Vec<String>) -> Client {
    let mut cfg = client_config(g, endpoints);
    cfg.command_timeout = None;
    cfg.on_attempt_error = None;
    loop {
        match Client::connect(cfg.clone()).await {
            Ok(c) => return c,
            Err(etcd_client::Error::Unreachable { .. }) => tokio::time::sleep(CONNECT_RETRY).await,
            Err(e) => fail(EXIT_BAD_CONNECTION, &e.to_string()),
        }
    }
}

fn or_fail<T>(r: Result<T, etcd_client::Error>) -> T {
    r.unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()))
}

/// `make-mirror`.
pub async fn make_mirror(p: &mut Parsed) {
    if p.args.len() != 1 {
        fail(EXIT_BAD_ARGS, "make-mirror takes one destination argument");
    }
    let g = globals(p);
    let dg = dest_globals(p, &g);
    let dc = connect_waiting(&dg, vec![p.args[0].clone()]).await;
    let c = connect_waiting(&g, g.endpoints.clone()).await;
    let prefix = p.string("prefix");
    let total = Arc::new(AtomicU64::new(0));
    let t = total.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(REPORT_INTERVAL).await;
            out(&format!("{}\n", t.load(Ordering::Relaxed)));
        }
    });
    // The revision read comes before the flag check, as in etcdctl.
    let rev = or_fail(c.get("foo").await).header.map_or(0, |h| h.revision);
    let dest = dest_prefix(&prefix, &p.string("dest-prefix"), p.bool("no-dest-prefix"))
        .unwrap_or_else(|e| fail(EXIT_BAD_ARGS, &e));
    let (from, to) = (prefix.as_bytes(), dest.as_bytes());
    sync_base(&c, &dc, rev, from, to, &total).await;
    sync_updates(&c, &dc, rev, from, to, &total).await;
}

/// Step 2: the prefix at `rev`, page by page, put at the destination.
async fn sync_base(c: &Client, dc: &Client, rev: i64, from: &[u8], to: &[u8], total: &AtomicU64) {
    let (mut key, range_end) = if from.is_empty() {
        (vec![0], vec![0])
    } else {
        (from.to_vec(), prefix_range_end(from))
    };
    loop {
        let resp = or_fail(
            c.range(RangeRequest {
                key: key.clone(),
                range_end: range_end.clone(),
                limit: SYNC_PAGE_KEYS,
                revision: rev,
                ..Default::default()
            })
            .await,
        );
        for kv in &resp.kvs {
            or_fail(
                dc.put(modify_prefix(&kv.key, from, to), kv.value.clone())
                    .await,
            );
            total.fetch_add(1, Ordering::Relaxed);
        }
        match resp.kvs.last() {
            Some(last) if resp.more => {
                key = last.key.clone();
                key.push(0);
            }
            _ => return,
        }
    }
}

/// Step 3: replays the watch from `rev + 1`, one destination txn per
/// source revision. A broken watch stream is reopened after the last
/// replayed revision.
async fn sync_updates(
    c: &Client,
    dc: &Client,
    rev: i64,
    from: &[u8],
    to: &[u8],
    total: &AtomicU64,
) {
    let (key, range_end) = if from.is_empty() {
        (vec![0], vec![0])
    } else {
        (from.to_vec(), prefix_range_end(from))
    };
    let mut next_rev = rev + 1;
    loop {
        let create = WatchCreateRequest {
            key: key.clone(),
            range_end: range_end.clone(),
            start_revision: next_rev,
            ..Default::default()
        };
        let mut w = match c.watch(create).await {
            Ok(w) => w,
            Err(_) => {
                tokio::time::sleep(CONNECT_RETRY).await;
                continue;
            }
        };
        while let Ok(Some(r)) = w.next().await {
            if r.compact_revision != 0 {
                fail(EXIT_ERROR, ERR_COMPACTED);
            }
            for txn in txns_by_revision(&r.events, from, to) {
                let n = txn.success.len() as u64;
                or_fail(dc.txn(txn).await);
                total.fetch_add(n, Ordering::Relaxed);
            }
            if let Some(kv) = r.events.last().and_then(|e| e.kv.as_ref()) {
                next_rev = kv.mod_revision + 1;
            }
        }
        tokio::time::sleep(CONNECT_RETRY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_proto::mvccpb::KeyValue;

    fn ev(t: EventType, key: &str, rev: i64) -> Event {
        Event {
            r#type: t as i32,
            kv: Some(KeyValue {
                key: key.into(),
                mod_revision: rev,
                value: b"v".to_vec(),
                ..Default::default()
            }),
            prev_kv: None,
        }
    }

    #[test]
    fn modify_prefix_replaces_first_occurrence_like_go() {
        assert_eq!(modify_prefix(b"/a/x/a/", b"/a/", b"/b/"), b"/b/x/a/");
        assert_eq!(modify_prefix(b"key", b"", b"/p/"), b"/p/key");
        assert_eq!(modify_prefix(b"key", b"zz", b"/p/"), b"key");
        assert_eq!(modify_prefix(b"/a/k", b"/a/", b""), b"k");
    }

    #[test]
    fn dest_prefix_defaults_to_source_prefix() {
        assert_eq!(dest_prefix("/a/", "", false).unwrap(), "/a/");
        assert_eq!(dest_prefix("/a/", "/b/", false).unwrap(), "/b/");
        assert_eq!(dest_prefix("/a/", "", true).unwrap(), "");
        assert!(dest_prefix("/a/", "/b/", true).is_err());
    }

    #[test]
    fn one_txn_per_source_revision() {
        let evs = [
            ev(EventType::Put, "/a/1", 5),
            ev(EventType::Put, "/a/2", 6),
            ev(EventType::Delete, "/a/1", 6),
            ev(EventType::Put, "/a/3", 7),
        ];
        let txns = txns_by_revision(&evs, b"/a/", b"/b/");
        let sizes: Vec<usize> = txns.iter().map(|t| t.success.len()).collect();
        assert_eq!(sizes, [1, 2, 1]);
        match &txns[1].success[1].request {
            Some(request_op::Request::RequestDeleteRange(d)) => assert_eq!(d.key, b"/b/1"),
            other => panic!("{other:?}"),
        }
    }
}
