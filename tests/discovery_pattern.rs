//! Service discovery with leases and a prefix watch, end to end: services
//! register `services/<name>/<id>` under a short lease kept alive with
//! LeaseKeepAlive; a watcher on `services/` keeps a live map (initial range,
//! then watch from the next revision). When one service dies (its keep-alive
//! stops and its connection drops) its key vanishes within its TTL (never
//! before the TTL since its last keep-alive), the watcher sees exactly one
//! DELETE for it, and the other services stay. The same flow once more with
//! the real etcdctl: `lease grant`, `put --lease`, `lease keep-alive` killed
//! by PID, `watch --prefix` printing the PUTs then the DELETE. Runs against
//! the real etcd with `ETCD_RS_TEST_ETCD=/usr/bin/etcd`.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{EtcdOpts, EtcdProcess};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::lease_client::LeaseClient;
use etcd_proto::etcdserverpb::watch_client::WatchClient;
use etcd_proto::etcdserverpb::{
    watch_request::RequestUnion, LeaseGrantRequest, LeaseKeepAliveRequest, PutRequest,
    RangeRequest, WatchCreateRequest, WatchRequest,
};
use etcd_proto::mvccpb::event::EventType;
use tokio::sync::mpsc;
use tonic::codegen::tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

/// Lease TTL of every service (above the minimum TTL of 1 s that
/// `--heartbeat-interval 50 --election-timeout 500` implies).
const TTL_S: i64 = 3;
/// How often a service renews its lease.
const KEEP_ALIVE_EVERY: Duration = Duration::from_millis(1000);
/// Slack on top of the TTL for the expiry to be noticed and applied.
const EXPIRY_SLACK: Duration = Duration::from_secs(3);
/// Upper bound for one gRPC step.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound for a whole test body.
const BODY_TIMEOUT: Duration = Duration::from_secs(90);
/// The watched prefix.
const PREFIX: &str = "services/";

fn fast_server() -> EtcdProcess {
    EtcdProcess::start(EtcdOpts {
        args: ["--heartbeat-interval", "50", "--election-timeout", "500"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    })
}

/// `prefix` as a range end (last byte + 1).
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    *end.last_mut().expect("non-empty prefix") += 1;
    end
}

async fn connect(url: &str) -> Channel {
    tokio::time::timeout(
        STEP_TIMEOUT,
        Channel::from_shared(url.to_string())
            .expect("url")
            .connect(),
    )
    .await
    .expect("connect in time")
    .expect("connect")
}

/// The keys and values under [`PREFIX`] and the header revision.
async fn range_services(ch: &Channel) -> (BTreeMap<String, String>, i64) {
    let resp = tokio::time::timeout(
        STEP_TIMEOUT,
        KvClient::new(ch.clone()).range(RangeRequest {
            key: PREFIX.into(),
            range_end: prefix_end(PREFIX),
            ..Default::default()
        }),
    )
    .await
    .expect("range in time")
    .expect("range")
    .into_inner();
    let map = resp
        .kvs
        .iter()
        .map(|kv| {
            (
                String::from_utf8_lossy(&kv.key).into_owned(),
                String::from_utf8_lossy(&kv.value).into_owned(),
            )
        })
        .collect();
    (map, resp.header.expect("header").revision)
}

/// One event the watcher applied: (is delete, key, mod revision).
type Seen = (bool, String, i64);

/// The watcher's state: the live map and every event applied, in order.
#[derive(Default)]
struct Discovery {
    map: BTreeMap<String, String>,
    events: Vec<Seen>,
}

/// Loads the current services, then watches [`PREFIX`] from the next
/// revision, applying every event to the shared map until the stream ends.
async fn watcher(url: String, state: Arc<Mutex<Discovery>>, ready: mpsc::Sender<()>) {
    let ch = connect(&url).await;
    let (initial, rev) = range_services(&ch).await;
    state.lock().expect("state lock").map = initial;
    let (tx, rx) = mpsc::channel(1);
    tx.send(WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
            key: PREFIX.into(),
            range_end: prefix_end(PREFIX),
            start_revision: rev + 1,
            ..Default::default()
        })),
    })
    .await
    .expect("queue create");
    let mut stream = tokio::time::timeout(
        STEP_TIMEOUT,
        WatchClient::new(ch).watch(ReceiverStream::new(rx)),
    )
    .await
    .expect("watch in time")
    .expect("watch")
    .into_inner();
    let _keep_requests_open = tx;
    let mut announced = false;
    while let Some(resp) = stream.message().await.expect("watch stream ok") {
        assert!(!resp.canceled, "watch canceled: {resp:?}");
        if resp.created && !announced {
            announced = true;
            ready.send(()).await.expect("announce watcher");
        }
        let mut st = state.lock().expect("state lock");
        for ev in resp.events {
            let kv = ev.kv.expect("event kv");
            let key = String::from_utf8_lossy(&kv.key).into_owned();
            let delete = ev.r#type == EventType::Delete as i32;
            if delete {
                st.map.remove(&key);
            } else {
                st.map
                    .insert(key.clone(), String::from_utf8_lossy(&kv.value).into_owned());
            }
            st.events.push((delete, key, kv.mod_revision));
        }
    }
}

/// A registered service: its key and the task renewing its lease.
struct Service {
    key: String,
    renewals: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

/// Registers `services/<name>/<lease id>` = `addr` under a fresh lease on
/// its own connection and renews the lease every [`KEEP_ALIVE_EVERY`]
/// until the task is aborted (which drops the stream and the connection).
async fn register(url: &str, name: &str, addr: &str) -> Service {
    let ch = connect(url).await;
    let grant = tokio::time::timeout(
        STEP_TIMEOUT,
        LeaseClient::new(ch.clone()).lease_grant(LeaseGrantRequest { ttl: TTL_S, id: 0 }),
    )
    .await
    .expect("grant in time")
    .expect("grant")
    .into_inner();
    assert_eq!(grant.ttl, TTL_S, "granted TTL: {grant:?}");
    let id = grant.id;
    let key = format!("{PREFIX}{name}/{id:x}");
    tokio::time::timeout(
        STEP_TIMEOUT,
        KvClient::new(ch.clone()).put(PutRequest {
            key: key.clone().into(),
            value: addr.into(),
            lease: id,
            ..Default::default()
        }),
    )
    .await
    .expect("put in time")
    .expect("put with lease");
    let renewals = Arc::new(AtomicUsize::new(0));
    let counter = renewals.clone();
    let task = tokio::spawn(async move {
        let (tx, rx) = mpsc::channel(1);
        // Queued before the call: etcd sends the response headers with the
        // first answer only.
        tx.send(LeaseKeepAliveRequest { id })
            .await
            .expect("queue keep-alive");
        let mut acks = LeaseClient::new(ch)
            .lease_keep_alive(ReceiverStream::new(rx))
            .await
            .expect("keep-alive stream")
            .into_inner();
        loop {
            let ack = tokio::time::timeout(STEP_TIMEOUT, acks.message())
                .await
                .expect("keep-alive answered in time")
                .expect("keep-alive stream ok")
                .expect("keep-alive stream open");
            assert_eq!((ack.id, ack.ttl), (id, TTL_S), "keep-alive answer {ack:?}");
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(KEEP_ALIVE_EVERY).await;
            tx.send(LeaseKeepAliveRequest { id })
                .await
                .expect("queue keep-alive");
        }
    });
    Service {
        key,
        renewals,
        task,
    }
}

/// Polls the watcher's map until `cond` holds (bounded by `timeout`).
async fn wait_map(
    state: &Mutex<Discovery>,
    timeout: Duration,
    cond: impl Fn(&BTreeMap<String, String>) -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond(&state.lock().expect("state lock").map) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(common::POLL_INTERVAL).await;
    }
}

#[test]
fn watcher_map_follows_registrations_and_a_dead_services_expiry() {
    let p = fast_server();
    let url = p.client_url();
    common::runtime().block_on(async {
        tokio::time::timeout(BODY_TIMEOUT, async {
            let state = Arc::new(Mutex::new(Discovery::default()));
            let (ready_tx, mut ready_rx) = mpsc::channel(1);
            let watch_task = tokio::spawn(watcher(url.clone(), state.clone(), ready_tx));
            ready_rx.recv().await.expect("watcher created");

            let mut services = Vec::new();
            for (i, name) in ["alpha", "beta", "gamma"].iter().enumerate() {
                services.push(register(&url, name, &format!("127.0.0.1:{}", 9000 + i)).await);
            }
            let keys: Vec<String> = services.iter().map(|s| s.key.clone()).collect();
            assert!(
                wait_map(&state, STEP_TIMEOUT, |m| keys
                    .iter()
                    .all(|k| m.contains_key(k)))
                .await,
                "watcher never saw all three services: {:?}",
                state.lock().unwrap().map
            );
            // Every service renewed at least twice: the lease outlives one TTL.
            for s in &services {
                let deadline = Instant::now() + STEP_TIMEOUT;
                while s.renewals.load(Ordering::SeqCst) < 2 {
                    assert!(Instant::now() < deadline, "{} not renewed", s.key);
                    tokio::time::sleep(common::POLL_INTERVAL).await;
                }
            }

            // "Kill" beta: stop renewing and drop its connection.
            let beta = services.remove(1);
            beta.task.abort();
            let _ = beta.task.await;
            let killed_at = Instant::now();
            let ttl = Duration::from_secs(TTL_S as u64);
            assert!(
                wait_map(&state, ttl + EXPIRY_SLACK, |m| !m.contains_key(&beta.key)).await,
                "{} still in the map {:?} after TTL + slack",
                beta.key,
                state.lock().unwrap().map
            );
            let gone_after = killed_at.elapsed();
            // Its last renewal was at most KEEP_ALIVE_EVERY before the kill.
            assert!(
                gone_after + KEEP_ALIVE_EVERY + Duration::from_millis(300) >= ttl,
                "{} expired {gone_after:?} after its last renewal window: before its TTL",
                beta.key
            );

            // The others stay for two more TTLs while they renew.
            let hold_until = Instant::now() + 2 * ttl;
            while Instant::now() < hold_until {
                let m = state.lock().unwrap().map.clone();
                for s in &services {
                    assert!(m.contains_key(&s.key), "{} vanished: {m:?}", s.key);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }

            // The map equals the store; the watcher saw three PUTs and one DELETE.
            let ch = connect(&url).await;
            let (stored, _) = range_services(&ch).await;
            let map = state.lock().unwrap().map.clone();
            assert_eq!(map, stored, "watcher map differs from the store");
            assert_eq!(
                map.keys().cloned().collect::<Vec<_>>(),
                services.iter().map(|s| s.key.clone()).collect::<Vec<_>>()
            );
            let events = state.lock().unwrap().events.clone();
            let summary: Vec<(bool, String)> =
                events.iter().map(|(d, k, _)| (*d, k.clone())).collect();
            assert_eq!(
                summary,
                vec![
                    (false, keys[0].clone()),
                    (false, keys[1].clone()),
                    (false, keys[2].clone()),
                    (true, keys[1].clone()),
                ],
                "events seen by the watcher"
            );
            assert!(
                events.windows(2).all(|w| w[0].2 < w[1].2),
                "event revisions not increasing: {events:?}"
            );
            for s in services {
                s.task.abort();
            }
            watch_task.abort();
        })
        .await
        .expect("test body in time");
    });
}

/// `lease grant <ttl>` → the lease id in hex.
fn ctl_grant(p: &EtcdProcess, ttl_s: i64) -> String {
    let out = p
        .etcdctl(&["lease", "grant", &ttl_s.to_string()])
        .ok()
        .stdout;
    // "lease 694d7a1b2c3d4e5f granted with TTL(3s)"
    assert!(
        out.ends_with(&format!(" granted with TTL({ttl_s}s)\n")),
        "grant output {out:?}"
    );
    out.strip_prefix("lease ")
        .and_then(|r| r.split(' ').next())
        .unwrap_or_else(|| panic!("unexpected grant output {out:?}"))
        .to_string()
}

/// The header revision, from `get -w json`.
fn ctl_revision(p: &EtcdProcess) -> i64 {
    let out = p.etcdctl(&["get", "none", "-w", "json"]).ok().stdout;
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    v["header"]["revision"].as_i64().expect("revision")
}

#[test]
fn etcdctl_lease_keep_alive_and_prefix_watch() {
    let p = fast_server();
    // Watch from the next revision so no event can slip in before it starts.
    let from = (ctl_revision(&p) + 1).to_string();
    let watch = p.etcdctl_spawn(&["watch", "--prefix", PREFIX, "--rev", &from]);

    let names = ["alpha", "beta", "gamma"];
    let mut keys = Vec::new();
    let mut keepers = Vec::new();
    let mut expected = String::new();
    for (i, name) in names.iter().enumerate() {
        let id = ctl_grant(&p, TTL_S);
        let key = format!("{PREFIX}{name}/{id}");
        let addr = format!("127.0.0.1:{}", 9000 + i);
        let put = p
            .etcdctl(&["put", &format!("--lease={id}"), &key, &addr])
            .ok();
        assert_eq!(put.stdout, "OK\n");
        let keeper = p.etcdctl_spawn(&["lease", "keep-alive", &id]);
        let line = format!("lease {id} keepalived with TTL({TTL_S})\n");
        assert!(
            keeper.wait_stdout(STEP_TIMEOUT, |s| s.contains(&line)),
            "keep-alive printed {:?} / {:?}",
            keeper.stdout(),
            keeper.stderr()
        );
        expected.push_str(&format!("PUT\n{key}\n{addr}\n"));
        keys.push(key);
        keepers.push(keeper);
    }
    watch.expect_stdout(STEP_TIMEOUT, &expected);

    // Kill beta's keep-alive (SIGKILL by its PID): its key must expire.
    let beta = keepers.remove(1).stop();
    assert!(beta.stdout.lines().count() >= 1, "{beta:?}");
    let killed_at = Instant::now();
    expected.push_str(&format!("DELETE\n{}\n\n", keys[1]));
    let ttl = Duration::from_secs(TTL_S as u64);
    let deleted = watch.wait_stdout(ttl + EXPIRY_SLACK, |s| s.len() >= expected.len());
    let gone_after = killed_at.elapsed();
    assert!(
        deleted && watch.stdout() == expected,
        "watch printed {:?}, expected {expected:?}; stderr {:?}",
        watch.stdout(),
        watch.stderr()
    );
    // The last keep-alive was at most ~1/3 TTL before the kill (etcdctl
    // renews every TTL/3): no premature expiry.
    assert!(
        gone_after + ttl / 3 + Duration::from_millis(500) >= ttl,
        "expired only {gone_after:?} after the keep-alive was killed"
    );

    // The other two remain while their keep-alives run.
    let hold_until = Instant::now() + ttl + Duration::from_secs(1);
    while Instant::now() < hold_until {
        let out = p
            .etcdctl(&["get", "--prefix", PREFIX, "--keys-only"])
            .ok()
            .stdout;
        assert_eq!(
            out,
            format!("{}\n\n{}\n\n", keys[0], keys[2]),
            "surviving services"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(watch.stdout(), expected, "no further events");
    for k in keepers {
        let out = k.stop();
        assert!(out.stderr.is_empty(), "keep-alive stderr {:?}", out.stderr);
    }
    watch.stop();
}
