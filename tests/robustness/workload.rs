//! Client workloads of the robustness suite, run concurrently over gRPC
//! against every member while faults are injected. Each records what it
//! did for the checkers (`etcd_checker`):
//! - register clients: get / put / compare-and-set (mod_revision or value)
//!   / delete on a few single keys;
//! - a txn client: reads two keys, then a txn guarded by both keys'
//!   mod_revisions writing both (checked as one two-key group);
//! - watchers on the workload prefix, one per member, resuming after their
//!   last event when their stream breaks;
//! - a lease client: leased keys, some revoked, some kept alive once, read
//!   back repeatedly;
//! - lock clients: `v3lock` Lock/Unlock with a fresh lease per attempt,
//!   lease checked alive after the wait;
//! - append clients ([`append`]): multi-key list-append transactions
//!   guarded by the revisions they read, checked for strict
//!   serializability.
//!
//! Every call is bounded by [`OP_TIMEOUT`]; a write without an answer is
//! recorded with an unknown outcome. Workloads stop when `stop` flips.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use etcd_checker::{
    EventKind, Guard, Input, LeaseLog, LeaseRead, LockHold, Outcome, Output, Recorder, WatchEvent,
    WatcherLog,
};
use etcd_proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::lease_client::LeaseClient;
use etcd_proto::etcdserverpb::maintenance_client::MaintenanceClient;
use etcd_proto::etcdserverpb::request_op::Request;
use etcd_proto::etcdserverpb::watch_client::WatchClient;
use etcd_proto::etcdserverpb::watch_request::RequestUnion;
use etcd_proto::etcdserverpb::{
    Compare, DeleteRangeRequest, LeaseGrantRequest, LeaseKeepAliveRequest, LeaseRevokeRequest,
    LeaseTimeToLiveRequest, PutRequest, RangeRequest, RequestOp, StatusRequest, TxnRequest,
    WatchCreateRequest, WatchRequest,
};
use etcd_proto::v3lockpb::lock_client::LockClient;
use etcd_proto::v3lockpb::{LockRequest, UnlockRequest};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tonic::transport::{Channel, Endpoint};

#[path = "append_workload.rs"]
pub mod append;

/// Upper bound on one client call.
pub const OP_TIMEOUT: Duration = Duration::from_secs(2);
/// Prefix of every key the KV workloads write (and watchers watch).
pub const KV_PREFIX: &str = "rob/";
/// Single-key registers.
pub const REGISTERS: [&str; 3] = ["rob/r0", "rob/r1", "rob/r2"];
/// The two keys the txn client writes together.
pub const TXN_KEYS: [&str; 2] = ["rob/t0", "rob/t1"];
/// Written last so watchers can prove they caught up.
pub const SENTINEL: &str = "rob/zz-sentinel";
/// Leased keys live under this prefix (not watched).
pub const LEASE_PREFIX: &str = "lease/";
/// TTL of the lease workload's leases.
pub const LEASE_TTL_S: i64 = 2;
/// TTL of the lock clients' leases.
pub const LOCK_TTL_S: i64 = 5;
/// The lock's name.
pub const LOCK_NAME: &str = "rob-lock";
/// Leases whose keys the lease client keeps reading (the newest ones).
const LEASES_READ_BACK: usize = 8;

/// A channel to `url` with the workload timeouts (`timeout` None: for
/// long-lived streams).
pub fn channel(url: &str, timeout: Option<Duration>) -> Channel {
    let e = Endpoint::from_shared(url.to_string())
        .expect("endpoint")
        .connect_timeout(Duration::from_millis(500));
    match timeout {
        Some(t) => e.timeout(t),
        None => e,
    }
    .connect_lazy()
}

/// What the workloads share.
#[derive(Clone)]
pub struct Ctx {
    /// The KV history.
    pub rec: Arc<Recorder>,
    /// Client URLs of the members.
    pub urls: Vec<String>,
    /// Flips to true when the workloads must stop.
    pub stop: watch::Receiver<bool>,
}

impl Ctx {
    fn stopped(&self) -> bool {
        *self.stop.borrow()
    }
    fn now(&self) -> u64 {
        self.rec.clock().now_ns()
    }
    fn kv(&self, member: usize) -> KvClient<Channel> {
        KvClient::new(channel(&self.urls[member], Some(OP_TIMEOUT)))
    }
}

/// Runs one KV input against a member; the outcome as the checker sees it.
pub async fn execute(kv: &mut KvClient<Channel>, input: &Input) -> Outcome {
    let res: Result<Output, tonic::Status> = async {
        Ok(match input {
            Input::Get { key } => {
                let r = kv
                    .range(RangeRequest {
                        key: key.clone().into(),
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                Output::Get(r.kvs.first().map(|kv| {
                    (
                        String::from_utf8_lossy(&kv.value).into_owned(),
                        kv.mod_revision,
                    )
                }))
            }
            Input::Put { key, value } => {
                let r = kv
                    .put(PutRequest {
                        key: key.clone().into(),
                        value: value.clone().into(),
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                Output::Put {
                    rev: r.header.map_or(0, |h| h.revision),
                }
            }
            Input::Delete { key } => {
                let r = kv
                    .delete_range(DeleteRangeRequest {
                        key: key.clone().into(),
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                Output::Delete {
                    deleted: r.deleted > 0,
                    rev: r.header.map_or(0, |h| h.revision),
                }
            }
            Input::Txn { guards, puts } => {
                let compare = guards
                    .iter()
                    .map(|(k, g)| {
                        let (target, union) = match g {
                            Guard::ModRev(r) => (CompareTarget::Mod, TargetUnion::ModRevision(*r)),
                            Guard::Value(v) => {
                                (CompareTarget::Value, TargetUnion::Value(v.clone().into()))
                            }
                        };
                        Compare {
                            result: CompareResult::Equal as i32,
                            target: target as i32,
                            key: k.clone().into(),
                            target_union: Some(union),
                            ..Default::default()
                        }
                    })
                    .collect();
                let success = puts
                    .iter()
                    .map(|(k, v)| RequestOp {
                        request: Some(Request::RequestPut(PutRequest {
                            key: k.clone().into(),
                            value: v.clone().into(),
                            ..Default::default()
                        })),
                    })
                    .collect();
                let r = kv
                    .txn(TxnRequest {
                        compare,
                        success,
                        failure: vec![],
                    })
                    .await?
                    .into_inner();
                Output::Txn {
                    succeeded: r.succeeded,
                    rev: r.header.map_or(0, |h| h.revision),
                }
            }
        })
    }
    .await;
    match res {
        Ok(o) => Outcome::Ok(o),
        // A failed read had no effect; a write without an answer may have.
        Err(_) if !input.is_write() => Outcome::Failed,
        Err(_) => Outcome::Unknown,
    }
}

/// A register client: random ops on [`REGISTERS`], starting on member
/// `client % n` and moving on after an error.
pub async fn register_client(ctx: Ctx, client: u32, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = ctx.urls.len();
    let mut member = client as usize % n;
    let mut kv = ctx.kv(member);
    let mut seen: HashMap<&str, (String, i64)> = HashMap::new();
    let mut next = 0u64;
    while !ctx.stopped() {
        let key = REGISTERS[rng.random_range(0..REGISTERS.len())];
        let value = format!("c{client}-{next}");
        next += 1;
        let roll = rng.random_range(0..100);
        let input = if roll < 45 {
            Input::Get { key: key.into() }
        } else if roll < 72 {
            Input::Put {
                key: key.into(),
                value,
            }
        } else if roll < 95 {
            let guard = match seen.get(key) {
                Some((v, _)) if roll % 4 == 0 => Guard::Value(v.clone()),
                Some((_, r)) => Guard::ModRev(*r),
                None => Guard::ModRev(0),
            };
            Input::Txn {
                guards: vec![(key.into(), guard)],
                puts: vec![(key.into(), value)],
            }
        } else {
            Input::Delete { key: key.into() }
        };
        let p = ctx.rec.invoke(client, input.clone());
        let outcome = execute(&mut kv, &input).await;
        if let Outcome::Ok(Output::Get(got)) = &outcome {
            match got {
                Some(g) => seen.insert(key, g.clone()),
                None => seen.remove(key),
            };
        }
        if !matches!(outcome, Outcome::Ok(_)) {
            member = (member + 1) % n;
            kv = ctx.kv(member);
        }
        ctx.rec.complete(p, outcome);
    }
}

/// The txn client: get both [`TXN_KEYS`], then write both guarded by the
/// revisions read.
pub async fn txn_client(ctx: Ctx, client: u32) {
    let n = ctx.urls.len();
    let mut member = client as usize % n;
    let mut kv = ctx.kv(member);
    let mut next = 0u64;
    while !ctx.stopped() {
        let mut revs = Vec::new();
        for k in TXN_KEYS {
            let input = Input::Get { key: k.into() };
            let p = ctx.rec.invoke(client, input.clone());
            let outcome = execute(&mut kv, &input).await;
            if let Outcome::Ok(Output::Get(got)) = &outcome {
                revs.push(got.as_ref().map_or(0, |(_, r)| *r));
            }
            ctx.rec.complete(p, outcome);
        }
        if revs.len() == TXN_KEYS.len() {
            let value = format!("t{client}-{next}");
            next += 1;
            let input = Input::Txn {
                guards: TXN_KEYS
                    .iter()
                    .zip(&revs)
                    .map(|(k, r)| (k.to_string(), Guard::ModRev(*r)))
                    .collect(),
                puts: TXN_KEYS
                    .iter()
                    .map(|k| (k.to_string(), value.clone()))
                    .collect(),
            };
            let p = ctx.rec.invoke(client, input.clone());
            let outcome = execute(&mut kv, &input).await;
            let ok = matches!(outcome, Outcome::Ok(_));
            ctx.rec.complete(p, outcome);
            if ok {
                continue;
            }
        }
        member = (member + 1) % n;
        kv = ctx.kv(member);
    }
}

/// A watcher on [`KV_PREFIX`] from `start_rev` through member `member`,
/// reconnecting after its last event; fills `log` until stopped.
pub async fn watcher(ctx: Ctx, member: usize, start_rev: i64, log: Arc<Mutex<WatcherLog>>) {
    let mut stop = ctx.stop.clone();
    let mut end = KV_PREFIX.as_bytes().to_vec();
    *end.last_mut().expect("prefix") += 1;
    while !ctx.stopped() {
        let from = log
            .lock()
            .unwrap()
            .events
            .last()
            .map_or(start_rev, |e| e.rev + 1);
        let (tx, rx) = tokio::sync::mpsc::channel::<WatchRequest>(1);
        let create = WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
                key: KV_PREFIX.into(),
                range_end: end.clone(),
                start_revision: from,
                ..Default::default()
            })),
        };
        let _ = tx.send(create).await;
        let mut client = WatchClient::new(channel(&ctx.urls[member], None));
        let stream = async {
            let mut s = tokio::time::timeout(
                OP_TIMEOUT,
                client.watch(tokio_stream::wrappers::ReceiverStream::new(rx)),
            )
            .await
            .ok()?
            .ok()?
            .into_inner();
            while let Ok(Some(resp)) = s.message().await {
                if resp.canceled {
                    return None;
                }
                let mut l = log.lock().unwrap();
                for e in resp.events {
                    let Some(kv) = e.kv else { continue };
                    let key = String::from_utf8_lossy(&kv.key).into_owned();
                    let kind = if e.r#type == 1 {
                        EventKind::Delete
                    } else {
                        EventKind::Put(String::from_utf8_lossy(&kv.value).into_owned())
                    };
                    l.events.push(WatchEvent {
                        rev: kv.mod_revision,
                        key,
                        kind,
                    });
                }
            }
            Some(())
        };
        tokio::select! {
            _ = stream => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        drop(tx);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// The lease client: leased keys under [`LEASE_PREFIX`], some revoked, some
/// refreshed once; every round reads back the newest leases' keys.
pub async fn lease_client(ctx: Ctx, seed: u64, leases: Arc<Mutex<Vec<LeaseLog>>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = ctx.urls.len();
    let mut member = 0usize;
    let mut round = 0u64;
    while !ctx.stopped() {
        round += 1;
        let url = &ctx.urls[member];
        let mut lc = LeaseClient::new(channel(url, Some(OP_TIMEOUT)));
        let mut kv = KvClient::new(channel(url, Some(OP_TIMEOUT)));
        let ok = async {
            let id = lc
                .lease_grant(LeaseGrantRequest {
                    ttl: LEASE_TTL_S,
                    id: 0,
                })
                .await
                .ok()?
                .into_inner()
                .id;
            let granted = ctx.now();
            let key = format!("{LEASE_PREFIX}{round}");
            let idx = {
                let mut ls = leases.lock().unwrap();
                ls.push(LeaseLog {
                    lease_id: id,
                    key: key.clone(),
                    ttl_secs: LEASE_TTL_S,
                    last_refresh_complete_ns: granted,
                    ..Default::default()
                });
                ls.len() - 1
            };
            kv.put(PutRequest {
                key: key.into(),
                value: "leased".into(),
                lease: id,
                ..Default::default()
            })
            .await
            .ok()?;
            match rng.random_range(0..3) {
                0 => {
                    lc.lease_revoke(LeaseRevokeRequest { id }).await.ok()?;
                    leases.lock().unwrap()[idx].revoked_complete_ns = Some(ctx.now());
                }
                1 => {
                    let req = tokio_stream::once(LeaseKeepAliveRequest { id });
                    let mut s = lc.lease_keep_alive(req).await.ok()?.into_inner();
                    if let Ok(Some(r)) = s.message().await {
                        if r.ttl > 0 {
                            leases.lock().unwrap()[idx].last_refresh_complete_ns = ctx.now();
                        }
                    }
                }
                _ => {}
            }
            Some(())
        }
        .await;
        read_back_leases(&ctx, &mut kv, &leases, LEASES_READ_BACK).await;
        if ok.is_none() {
            member = (member + 1) % n;
        }
    }
}

/// Reads the keys of the newest `count` leases (all if `usize::MAX`),
/// recording what each read saw.
pub async fn read_back_leases(
    ctx: &Ctx,
    kv: &mut KvClient<Channel>,
    leases: &Mutex<Vec<LeaseLog>>,
    count: usize,
) {
    let targets: Vec<(usize, String, i64)> = {
        let ls = leases.lock().unwrap();
        let from = ls.len().saturating_sub(count);
        ls[from..]
            .iter()
            .enumerate()
            .map(|(i, l)| (from + i, l.key.clone(), l.lease_id))
            .collect()
    };
    for (idx, key, id) in targets {
        let invoke_ns = ctx.now();
        let Ok(r) = kv
            .range(RangeRequest {
                key: key.into(),
                ..Default::default()
            })
            .await
        else {
            continue;
        };
        let present = r.into_inner().kvs.iter().any(|kv| kv.lease == id);
        let complete_ns = ctx.now();
        leases.lock().unwrap()[idx].reads.push(LeaseRead {
            invoke_ns,
            complete_ns,
            present,
        });
    }
}

/// A lock client: Lock with a fresh lease, check the lease alive, hold
/// briefly, Unlock, revoke.
pub async fn lock_client(ctx: Ctx, client: u32, holds: Arc<Mutex<Vec<LockHold>>>) {
    let n = ctx.urls.len();
    let mut member = client as usize % n;
    while !ctx.stopped() {
        let url = &ctx.urls[member];
        let mut lc = LeaseClient::new(channel(url, Some(OP_TIMEOUT)));
        let mut lock = LockClient::new(channel(url, Some(OP_TIMEOUT)));
        let mut kv = KvClient::new(channel(url, Some(OP_TIMEOUT)));
        let mut lease = 0;
        let ok = async {
            lease = lc
                .lease_grant(LeaseGrantRequest {
                    ttl: LOCK_TTL_S,
                    id: 0,
                })
                .await
                .ok()?
                .into_inner()
                .id;
            let lock_invoke_ns = ctx.now();
            let key = lock
                .lock(LockRequest {
                    name: LOCK_NAME.into(),
                    lease,
                })
                .await
                .ok()?
                .into_inner()
                .key;
            // The lease may have expired while we waited: check it after.
            let check_ns = ctx.now();
            let ttl = lc
                .lease_time_to_live(LeaseTimeToLiveRequest {
                    id: lease,
                    keys: false,
                })
                .await
                .ok()?
                .into_inner()
                .ttl;
            if ttl <= 0 {
                return None;
            }
            let acquired_ns = ctx.now();
            let fencing_rev = kv
                .range(RangeRequest {
                    key: key.clone(),
                    ..Default::default()
                })
                .await
                .ok()?
                .into_inner()
                .kvs
                .first()
                .map_or(0, |kv| kv.create_revision);
            tokio::time::sleep(Duration::from_millis(20)).await;
            let released_invoke_ns = ctx.now();
            holds.lock().unwrap().push(LockHold {
                client,
                acquired_ns,
                lock_invoke_ns,
                released_invoke_ns,
                valid_until_ns: check_ns + u64::try_from(ttl).unwrap_or(0) * 1_000_000_000,
                fencing_rev,
            });
            lock.unlock(UnlockRequest { key }).await.ok()?;
            Some(())
        }
        .await;
        if lease != 0 {
            let _ = lc.lease_revoke(LeaseRevokeRequest { id: lease }).await;
        }
        if ok.is_none() {
            member = (member + 1) % n;
        }
    }
}

/// Polls every member's Status; records (time, term) whenever the highest
/// Raft term seen grows (a leader change, which extends leases).
pub async fn term_tracker(ctx: Ctx, changes: Arc<Mutex<Vec<(u64, u64)>>>) {
    let clients: Vec<MaintenanceClient<Channel>> = ctx
        .urls
        .iter()
        .map(|u| MaintenanceClient::new(channel(u, Some(Duration::from_millis(500)))))
        .collect();
    let mut max_term = 0;
    while !ctx.stopped() {
        for mut c in clients.clone() {
            if let Ok(s) = c.status(StatusRequest {}).await {
                let term = s.into_inner().raft_term;
                if term > max_term {
                    max_term = term;
                    changes.lock().unwrap().push((ctx.now(), term));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
