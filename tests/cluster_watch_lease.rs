//! Watch, lease and lock on a 3-member cluster (heartbeat 50 ms, election
//! 500 ms) under member failures:
//! - a watcher on a follower that stays up sees every revision exactly once,
//!   in order, while the leader is killed and a writer (with retries through
//!   any member) keeps writing; the events match the store;
//! - a lease granted before a leader change keeps a positive remaining TTL
//!   after the leader is killed, and its key is neither lost before the TTL
//!   since the last keep-alive nor kept past TTL + election timeout + slack
//!   after the new leader took over;
//! - LeaseKeepAlive and LeaseTimeToLive sent to a follower work (they reach
//!   the leader: the key outlives several TTLs);
//! - v3lock keeps mutual exclusion (zero overlapping holders, no lost
//!   counter update) while a follower is killed.
//!
//! Runs against the real etcd with `ETCD_RS_TEST_ETCD=/usr/bin/etcd`.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::cluster::{Cluster, ClusterOpts, Writer};
use common::wait_until;
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::lease_client::LeaseClient;
use etcd_proto::etcdserverpb::watch_client::WatchClient;
use etcd_proto::etcdserverpb::{
    watch_request::RequestUnion, LeaseGrantRequest, LeaseKeepAliveRequest, LeaseTimeToLiveRequest,
    LeaseTimeToLiveResponse, PutRequest, RangeRequest, WatchCreateRequest, WatchRequest,
};
use etcd_proto::mvccpb::event::EventType;
use etcd_proto::v3lockpb::lock_client::LockClient;
use etcd_proto::v3lockpb::{LockRequest, UnlockRequest};
use tokio::sync::mpsc;
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};

/// Election timeout of the cluster (ClusterOpts default).
const ELECTION: Duration = Duration::from_millis(500);
/// Upper bound for one gRPC step.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound for an election after a kill.
const ELECTION_WAIT: Duration = Duration::from_secs(20);

/// A channel to `url` without a per-call timeout (streams stay open);
/// callers bound each step with `tokio::time::timeout`. Must be called
/// inside the runtime that will drive it.
fn lazy_channel(url: &str) -> Channel {
    Endpoint::from_shared(url.to_string())
        .expect("url")
        .connect_timeout(Duration::from_millis(500))
        .connect_lazy()
}

fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    *end.last_mut().expect("non-empty prefix") += 1;
    end
}

/// Some member other than `leader`.
fn follower(c: &Cluster, leader: usize) -> usize {
    (0..c.len()).find(|&i| i != leader).expect("a follower")
}

async fn step<T>(
    what: &str,
    f: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> T {
    tokio::time::timeout(STEP_TIMEOUT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {STEP_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("{what}: {e:?}"))
        .into_inner()
}

/// One watch event: (revision, key, value, is delete).
type Ev = (i64, String, String, bool);

#[test]
fn follower_watch_sees_each_revision_once_in_order_across_leader_kill() {
    let mut c = Cluster::start(3, ClusterOpts::default());
    let leader = c.wait_leader(ELECTION_WAIT);
    let f = follower(&c, leader);
    let rt = common::runtime();
    let url = c.client_url(f);

    // The watch on the follower, from the current revision + 1.
    let events: Arc<Mutex<Vec<Ev>>> = Arc::default();
    let (first_rev, watch_task) = rt.block_on(async {
        let ch = lazy_channel(&url);
        let start = step(
            "range",
            KvClient::new(ch.clone()).range(RangeRequest {
                key: b"w/".to_vec(),
                range_end: prefix_end("w/"),
                ..Default::default()
            }),
        )
        .await
        .header
        .expect("header")
        .revision
            + 1;
        let (tx, rx) = mpsc::channel(1);
        tx.send(WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
                key: b"w/".to_vec(),
                range_end: prefix_end("w/"),
                start_revision: start,
                ..Default::default()
            })),
        })
        .await
        .expect("queue create");
        let mut stream = step("watch", WatchClient::new(ch).watch(ReceiverStream::new(rx))).await;
        let created = tokio::time::timeout(STEP_TIMEOUT, stream.message())
            .await
            .expect("created in time")
            .expect("stream ok")
            .expect("stream open");
        assert!(created.created, "{created:?}");
        let sink = events.clone();
        let task = tokio::spawn(async move {
            let _keep_requests_open = tx;
            loop {
                let resp = match stream.message().await {
                    Ok(Some(r)) => r,
                    other => return format!("watch stream ended: {other:?}"),
                };
                if resp.canceled {
                    return format!("watch canceled: {resp:?}");
                }
                let mut out = sink.lock().expect("events lock");
                for ev in resp.events {
                    let kv = ev.kv.expect("kv");
                    out.push((
                        kv.mod_revision,
                        String::from_utf8_lossy(&kv.key).into_owned(),
                        String::from_utf8_lossy(&kv.value).into_owned(),
                        ev.r#type == EventType::Delete as i32,
                    ));
                }
            }
        });
        (start, task)
    });

    let writer = Writer::start(c.client_urls(), "w", Duration::from_secs(15));
    assert!(
        writer.wait_acked(100, Duration::from_secs(30)),
        "writer stalled before the kill\n{}",
        c.logs()
    );
    let killed_at = Instant::now();
    c.kill9(leader);
    let new_leader = c.wait_new_leader(leader, ELECTION_WAIT);
    let elected_after = killed_at.elapsed();
    let before = writer.acked();
    assert!(
        writer.wait_acked(before + 100, Duration::from_secs(30)),
        "writer stalled after the new leader {new_leader}\n{}",
        c.logs()
    );
    let report = writer.stop();
    assert!(report.gave_up.is_none(), "writer gave up: {report:?}");

    // Every revision up to the store's current one reaches the watcher.
    let (store, last_rev) = rt.block_on(async {
        let resp = step(
            "range after",
            KvClient::new(lazy_channel(&url)).range(RangeRequest {
                key: b"w/".to_vec(),
                range_end: prefix_end("w/"),
                ..Default::default()
            }),
        )
        .await;
        let rev = resp.header.expect("header").revision;
        let kvs: BTreeMap<String, (String, i64)> = resp
            .kvs
            .into_iter()
            .map(|kv| {
                (
                    String::from_utf8_lossy(&kv.key).into_owned(),
                    (
                        String::from_utf8_lossy(&kv.value).into_owned(),
                        kv.mod_revision,
                    ),
                )
            })
            .collect();
        (kvs, rev)
    });
    let caught_up = wait_until(Duration::from_secs(20), || {
        events
            .lock()
            .unwrap()
            .last()
            .is_some_and(|e| e.0 >= last_rev)
            || watch_task.is_finished()
    });
    assert!(
        !watch_task.is_finished(),
        "{}",
        rt.block_on(watch_task).unwrap()
    );
    let evs = events.lock().unwrap().clone();
    assert!(
        caught_up,
        "watch stopped at {:?}, store at {last_rev}",
        evs.last()
    );
    let revs: Vec<i64> = evs.iter().map(|e| e.0).collect();
    assert_eq!(
        revs,
        (first_rev..=last_rev).collect::<Vec<_>>(),
        "each revision exactly once, in order"
    );
    assert!(evs.iter().all(|e| !e.3), "unexpected DELETE");
    // The last event per key is what the store holds; every ack is there.
    let mut last: BTreeMap<String, (String, i64)> = BTreeMap::new();
    for (rev, k, v, _) in &evs {
        last.insert(k.clone(), (v.clone(), *rev));
    }
    assert_eq!(last, store, "watch events vs store");
    for (k, v) in &report.acked {
        assert_eq!(
            last.get(k).map(|x| &x.0),
            Some(v),
            "acked {k} missing from the watch"
        );
    }
    eprintln!(
        "watch across leader kill: {} events ({} acked writes, {} write errors), new leader after {elected_after:?}",
        evs.len(),
        report.acked.len(),
        report.errors.len()
    );
    watch_task.abort();
}

async fn time_to_live(ch: &Channel, id: i64) -> LeaseTimeToLiveResponse {
    step(
        "time-to-live",
        LeaseClient::new(ch.clone()).lease_time_to_live(LeaseTimeToLiveRequest { id, keys: true }),
    )
    .await
}

/// Opens a keep-alive stream with a first keep-alive for `id` already sent
/// (etcd sends the response headers with the first answer only): read its
/// answer with [`read_keep_alive`]. Returns the sender and the stream.
async fn keep_alive_stream(
    ch: &Channel,
    id: i64,
) -> (
    mpsc::Sender<LeaseKeepAliveRequest>,
    tonic::Streaming<etcd_proto::etcdserverpb::LeaseKeepAliveResponse>,
) {
    let (tx, rx) = mpsc::channel(1);
    tx.send(LeaseKeepAliveRequest { id })
        .await
        .expect("queue keep-alive");
    let stream = step(
        "keep-alive stream",
        LeaseClient::new(ch.clone()).lease_keep_alive(ReceiverStream::new(rx)),
    )
    .await;
    (tx, stream)
}

/// One keep-alive on an open stream; returns the TTL answered.
async fn keep_alive_once(
    tx: &mpsc::Sender<LeaseKeepAliveRequest>,
    stream: &mut tonic::Streaming<etcd_proto::etcdserverpb::LeaseKeepAliveResponse>,
    id: i64,
) -> i64 {
    tx.send(LeaseKeepAliveRequest { id })
        .await
        .expect("queue keep-alive");
    read_keep_alive(stream, id).await
}

/// The answer to a keep-alive already sent; returns its TTL.
async fn read_keep_alive(
    stream: &mut tonic::Streaming<etcd_proto::etcdserverpb::LeaseKeepAliveResponse>,
    id: i64,
) -> i64 {
    let r = tokio::time::timeout(STEP_TIMEOUT, stream.message())
        .await
        .expect("keep-alive answered in time")
        .expect("keep-alive stream ok")
        .expect("keep-alive stream open");
    assert_eq!(r.id, id, "{r:?}");
    r.ttl
}

async fn key_exists(ch: &Channel, key: &str) -> Option<bool> {
    let r = tokio::time::timeout(
        Duration::from_secs(2),
        KvClient::new(ch.clone()).range(RangeRequest {
            key: key.into(),
            ..Default::default()
        }),
    )
    .await
    .ok()?
    .ok()?;
    Some(!r.into_inner().kvs.is_empty())
}

#[test]
fn lease_keeps_its_ttl_across_leader_kill() {
    const TTL_S: i64 = 6;
    let ttl = Duration::from_secs(TTL_S as u64);
    let mut c = Cluster::start(3, ClusterOpts::default());
    let leader = c.wait_leader(ELECTION_WAIT);
    let f = follower(&c, leader);
    let rt = common::runtime();
    let url = c.client_url(f);
    let ch = rt.block_on(async { lazy_channel(&url) });

    let (id, last_keep_alive) = rt.block_on(async {
        let id = step(
            "grant",
            LeaseClient::new(ch.clone()).lease_grant(LeaseGrantRequest { ttl: TTL_S, id: 0 }),
        )
        .await
        .id;
        step(
            "put",
            KvClient::new(ch.clone()).put(PutRequest {
                key: b"leased".to_vec(),
                value: b"v".to_vec(),
                lease: id,
                ..Default::default()
            }),
        )
        .await;
        let (_tx, mut stream) = keep_alive_stream(&ch, id).await;
        assert_eq!(read_keep_alive(&mut stream, id).await, TTL_S);
        (id, Instant::now())
    });

    c.kill9(leader);
    let new_leader = c.wait_new_leader(leader, ELECTION_WAIT);
    let elected = Instant::now();
    let ttl_after = rt.block_on(time_to_live(&ch, id));
    let since_ka = last_keep_alive.elapsed();
    assert_eq!(ttl_after.granted_ttl, TTL_S, "{ttl_after:?}");
    assert_eq!(ttl_after.keys, vec![b"leased".to_vec()], "{ttl_after:?}");
    // Remaining TTL: at least what was left since the keep-alive (minus a
    // second of rounding), at most the TTL plus the election-timeout extension.
    assert!(
        ttl_after.ttl >= TTL_S - since_ka.as_secs() as i64 - 1 && ttl_after.ttl <= TTL_S + 1,
        "remaining TTL {} after the leader change ({since_ka:?} after the last keep-alive, new leader {new_leader})",
        ttl_after.ttl
    );

    // The key lives at least TTL after the last keep-alive, and is gone by
    // TTL + election timeout + slack after the new leader was seen.
    let bound = elected + ttl + ELECTION + Duration::from_secs(3);
    let gone_at = rt.block_on(async {
        loop {
            if key_exists(&ch, "leased").await == Some(false) {
                return Instant::now();
            }
            assert!(
                Instant::now() < bound,
                "leased key outlived TTL + election + slack"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let lived = gone_at - last_keep_alive;
    assert!(
        lived + Duration::from_millis(300) >= ttl,
        "leased key lost {lived:?} after the last keep-alive (TTL {ttl:?})"
    );
    let expired = rt.block_on(time_to_live(&ch, id));
    assert_eq!(expired.ttl, -1, "{expired:?}");
    eprintln!(
        "lease across leader kill: TTL {} reported after the election, key gone {lived:?} after the last keep-alive",
        ttl_after.ttl
    );
}

#[test]
fn keep_alive_and_time_to_live_on_a_follower_reach_the_leader() {
    const TTL_S: i64 = 2;
    let ttl = Duration::from_secs(TTL_S as u64);
    let mut c = Cluster::start(3, ClusterOpts::default());
    let leader = c.wait_leader(ELECTION_WAIT);
    let f = follower(&c, leader);
    let rt = common::runtime();
    let url = c.client_url(f);
    let leader_url = c.client_url(leader);
    rt.block_on(async {
        let ch = lazy_channel(&url);
        let id = step(
            "grant",
            LeaseClient::new(ch.clone()).lease_grant(LeaseGrantRequest { ttl: TTL_S, id: 0 }),
        )
        .await
        .id;
        step(
            "put",
            KvClient::new(ch.clone()).put(PutRequest {
                key: b"fk".to_vec(),
                value: b"v".to_vec(),
                lease: id,
                ..Default::default()
            }),
        )
        .await;
        let (tx, mut stream) = keep_alive_stream(&ch, id).await;
        assert_eq!(read_keep_alive(&mut stream, id).await, TTL_S);
        // Renew every TTL/4 for 3 TTLs: the key must stay.
        let until = Instant::now() + 3 * ttl;
        let mut renewals = 1;
        while Instant::now() < until {
            tokio::time::sleep(ttl / 4).await;
            assert_eq!(keep_alive_once(&tx, &mut stream, id).await, TTL_S);
            renewals += 1;
            assert_eq!(
                key_exists(&ch, "fk").await,
                Some(true),
                "key expired despite keep-alives"
            );
            let on_leader = time_to_live(&ch, id).await;
            assert!(
                on_leader.ttl > 0 && on_leader.ttl <= TTL_S,
                "follower TimeToLive {on_leader:?}"
            );
        }
        let via_follower = time_to_live(&ch, id).await;
        assert_eq!(via_follower.granted_ttl, TTL_S, "{via_follower:?}");
        assert_eq!(via_follower.keys, vec![b"fk".to_vec()], "{via_follower:?}");
        let via_leader = time_to_live(&lazy_channel(&leader_url), id).await;
        assert_eq!(via_leader.granted_ttl, TTL_S, "{via_leader:?}");

        // Stop renewing: the key goes within TTL + slack.
        drop(tx);
        drop(stream);
        let stopped = Instant::now();
        loop {
            if key_exists(&ch, "fk").await == Some(false) {
                break;
            }
            assert!(
                stopped.elapsed() < ttl + Duration::from_secs(3),
                "key outlived its lease"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(time_to_live(&ch, id).await.ttl, -1);
        eprintln!(
            "follower keep-alive: {renewals} renewals, key gone {:?} after the stream closed",
            stopped.elapsed()
        );
    });
}

#[test]
fn lock_excludes_holders_while_a_follower_is_killed() {
    const CONTENDERS: usize = 6;
    const ROUNDS: usize = 20;
    let mut c = Cluster::start(3, ClusterOpts::default());
    let leader = c.wait_leader(ELECTION_WAIT);
    let victim = follower(&c, leader);
    let survivor = (0..3)
        .find(|&i| i != leader && i != victim)
        .expect("third member");
    let urls = [c.client_url(leader), c.client_url(survivor)];
    let rt = common::runtime();
    let holders = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let holds = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..CONTENDERS)
        .map(|n| {
            let url = urls[n % 2].clone();
            let (holders, overlaps, holds) = (holders.clone(), overlaps.clone(), holds.clone());
            rt.spawn(async move {
                let ch = lazy_channel(&url);
                let lease = step(
                    "grant",
                    LeaseClient::new(ch.clone()).lease_grant(LeaseGrantRequest { ttl: 60, id: 0 }),
                )
                .await
                .id;
                let mut kv = KvClient::new(ch.clone());
                let mut lock = LockClient::new(ch.clone());
                for _ in 0..ROUNDS {
                    let key = tokio::time::timeout(
                        Duration::from_secs(30),
                        lock.lock(LockRequest {
                            name: b"mx".to_vec(),
                            lease,
                        }),
                    )
                    .await
                    .expect("lock in time")
                    .expect("lock")
                    .into_inner()
                    .key;
                    if holders.fetch_add(1, Ordering::SeqCst) != 0 {
                        overlaps.fetch_add(1, Ordering::SeqCst);
                    }
                    // An unguarded read-modify-write: loses updates without exclusion.
                    let n: usize = step(
                        "get counter",
                        kv.range(RangeRequest {
                            key: b"counter".to_vec(),
                            ..Default::default()
                        }),
                    )
                    .await
                    .kvs
                    .first()
                    .map_or(0, |kv| {
                        String::from_utf8_lossy(&kv.value).parse().expect("number")
                    });
                    step(
                        "put counter",
                        kv.put(PutRequest {
                            key: b"counter".to_vec(),
                            value: (n + 1).to_string().into_bytes(),
                            ..Default::default()
                        }),
                    )
                    .await;
                    holders.fetch_sub(1, Ordering::SeqCst);
                    holds.fetch_add(1, Ordering::SeqCst);
                    step("unlock", lock.unlock(UnlockRequest { key })).await;
                }
            })
        })
        .collect();
    let total = CONTENDERS * ROUNDS;
    assert!(
        wait_until(Duration::from_secs(60), || holds.load(Ordering::SeqCst)
            >= total / 4),
        "lock made no progress\n{}",
        c.logs()
    );
    c.kill9(victim);
    let at_kill = holds.load(Ordering::SeqCst);
    rt.block_on(async {
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(120), t)
                .await
                .expect("contender in time")
                .expect("contender");
        }
    });
    assert_eq!(
        overlaps.load(Ordering::SeqCst),
        0,
        "overlapping lock holders"
    );
    let counter = c.get(leader, "counter", false).expect("get counter");
    assert_eq!(
        counter,
        Some(total.to_string().into_bytes()),
        "lost counter updates"
    );
    assert!(
        at_kill < total,
        "the follower was killed only after all holds"
    );
    eprintln!("lock: {total} holds, {at_kill} before the follower was killed");
}
