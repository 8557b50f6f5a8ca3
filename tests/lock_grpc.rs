//! The `v3lockpb.Lock` and `v3electionpb.Election` services over gRPC and the
//! JSON gateway: mutual exclusion under contention (counted overlapping
//! holders must be zero, and an unguarded read-modify-write counter must not
//! lose updates), the Jepsen cases (a holder's or a waiter's lease revoked
//! while another waits: never two holders), a cancelled waiter's key
//! removed, and election campaign / proclaim / leader / observe / resign.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{testing_external_server, EtcdOpts, EtcdProcess};
use etcd_proto::etcdserverpb::kv_client::KvClient;
use etcd_proto::etcdserverpb::lease_client::LeaseClient;
use etcd_proto::etcdserverpb::{LeaseGrantRequest, LeaseRevokeRequest, PutRequest, RangeRequest};
use etcd_proto::v3electionpb::election_client::ElectionClient;
use etcd_proto::v3electionpb::{
    CampaignRequest, LeaderKey, LeaderRequest, LeaderResponse, ProclaimRequest, ResignRequest,
};
use etcd_proto::v3lockpb::lock_client::LockClient;
use etcd_proto::v3lockpb::{LockRequest, UnlockRequest};
use tonic::transport::Channel;
use tonic::{Code, Streaming};

const TIMEOUT: Duration = Duration::from_secs(30);
const CLIENTS: usize = 6;
const ROUNDS: usize = 15;

/// Runs a test body, failing it if it takes longer than twice [`TIMEOUT`].
async fn bounded(body: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(2 * TIMEOUT, body)
        .await
        .expect("test body in time");
}

async fn channel(p: &EtcdProcess) -> Channel {
    Channel::from_shared(p.client_url())
        .expect("url")
        .connect()
        .await
        .expect("connect")
}

async fn grant(ch: &Channel, ttl_s: i64) -> i64 {
    LeaseClient::new(ch.clone())
        .lease_grant(LeaseGrantRequest { ttl: ttl_s, id: 0 })
        .await
        .expect("grant")
        .into_inner()
        .id
}

async fn revoke(ch: &Channel, id: i64) {
    LeaseClient::new(ch.clone())
        .lease_revoke(LeaseRevokeRequest { id })
        .await
        .expect("revoke");
}

/// The keys under `prefix`, oldest first.
async fn contenders(ch: &Channel, prefix: &str) -> Vec<Vec<u8>> {
    let mut end = prefix.as_bytes().to_vec();
    *end.last_mut().unwrap() += 1;
    let mut kvs = KvClient::new(ch.clone())
        .range(RangeRequest {
            key: prefix.into(),
            range_end: end,
            ..Default::default()
        })
        .await
        .expect("range")
        .into_inner()
        .kvs;
    kvs.sort_by_key(|kv| kv.create_revision);
    kvs.into_iter().map(|kv| kv.key).collect()
}

/// Polls (bounded) until `prefix` holds `n` keys.
async fn wait_contenders(ch: &Channel, prefix: &str, n: usize) {
    let polled = tokio::time::timeout(TIMEOUT, async {
        while contenders(ch, prefix).await.len() != n {
            tokio::time::sleep(common::POLL_INTERVAL).await;
        }
    })
    .await;
    assert!(polled.is_ok(), "{prefix} never had {n} keys");
}

async fn lock(ch: &Channel, name: &str, lease: i64) -> Result<Vec<u8>, tonic::Status> {
    let r = LockClient::new(ch.clone())
        .lock(LockRequest {
            name: name.into(),
            lease,
        })
        .await?;
    Ok(r.into_inner().key)
}

async fn unlock(ch: &Channel, key: Vec<u8>) {
    LockClient::new(ch.clone())
        .unlock(UnlockRequest { key })
        .await
        .expect("unlock");
}

#[test]
fn lock_excludes_concurrent_holders() {
    let p = EtcdProcess::start(EtcdOpts::default());
    common::runtime().block_on(bounded(async {
        let ch = channel(&p).await;
        let holders = Arc::new(AtomicUsize::new(0));
        let overlaps = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..CLIENTS {
            let (ch, holders, overlaps) = (channel(&p).await, holders.clone(), overlaps.clone());
            tasks.push(tokio::spawn(async move {
                let lease = grant(&ch, 60).await;
                let mut kv = KvClient::new(ch.clone());
                for _ in 0..ROUNDS {
                    let key = lock(&ch, "mx", lease).await.expect("lock");
                    if holders.fetch_add(1, Ordering::SeqCst) != 0 {
                        overlaps.fetch_add(1, Ordering::SeqCst);
                    }
                    // The store agrees: our key is the oldest contender.
                    assert_eq!(contenders(&ch, "mx/").await.first(), Some(&key));
                    // An unguarded read-modify-write: loses updates without exclusion.
                    let n: usize = kv
                        .range(RangeRequest {
                            key: b"counter".to_vec(),
                            ..Default::default()
                        })
                        .await
                        .expect("get")
                        .into_inner()
                        .kvs
                        .first()
                        .map_or(0, |kv| String::from_utf8_lossy(&kv.value).parse().unwrap());
                    kv.put(PutRequest {
                        key: b"counter".to_vec(),
                        value: (n + 1).to_string().into(),
                        ..Default::default()
                    })
                    .await
                    .expect("put");
                    holders.fetch_sub(1, Ordering::SeqCst);
                    unlock(&ch, key).await;
                }
            }));
        }
        for t in tasks {
            tokio::time::timeout(TIMEOUT, t)
                .await
                .expect("in time")
                .expect("task");
        }
        assert_eq!(
            overlaps.load(Ordering::SeqCst),
            0,
            "overlapping lock holders"
        );
        let counter = KvClient::new(ch.clone())
            .range(RangeRequest {
                key: b"counter".to_vec(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .kvs[0]
            .value
            .clone();
        assert_eq!(counter, (CLIENTS * ROUNDS).to_string().into_bytes());
        assert!(contenders(&ch, "mx/").await.is_empty());
    }));
}

#[test]
fn holder_lease_revoked_hands_lock_to_waiter() {
    let p = EtcdProcess::start(EtcdOpts::default());
    common::runtime().block_on(bounded(async {
        let ch = channel(&p).await;
        let (la, lb) = (grant(&ch, 60).await, grant(&ch, 60).await);
        let a = lock(&ch, "jep", la).await.expect("lock a");
        // Locking again with the same lease is the same hold.
        assert_eq!(lock(&ch, "jep", la).await.expect("relock a"), a);
        let ch2 = ch.clone();
        let waiter = tokio::spawn(async move { lock(&ch2, "jep", lb).await });
        wait_contenders(&ch, "jep/", 2).await;
        assert!(!waiter.is_finished());
        revoke(&ch, la).await;
        let b = tokio::time::timeout(TIMEOUT, waiter)
            .await
            .expect("in time")
            .unwrap()
            .expect("waiter gets the lock");
        assert_ne!(a, b);
        assert_eq!(contenders(&ch, "jep/").await, vec![b]);
    }));
}

/// Jepsen's report (etcd #11456): the waiter's own lease ends while it
/// waits; when the holder lets go, the waiter must not be told it holds a
/// lock whose key is gone. etcd 3.4.23 predates the fix and hands out such
/// a lock; we answer its later releases' error.
#[test]
fn waiter_lease_revoked_gets_error_not_lock() {
    let p = EtcdProcess::start(EtcdOpts::default());
    common::runtime().block_on(bounded(async {
        let ch = channel(&p).await;
        let (la, lb) = (grant(&ch, 60).await, grant(&ch, 60).await);
        let a = lock(&ch, "jep", la).await.expect("lock a");
        let ch2 = ch.clone();
        let waiter = tokio::spawn(async move { lock(&ch2, "jep", lb).await });
        wait_contenders(&ch, "jep/", 2).await;
        revoke(&ch, lb).await;
        wait_contenders(&ch, "jep/", 1).await;
        unlock(&ch, a).await;
        let got = tokio::time::timeout(TIMEOUT, waiter)
            .await
            .expect("in time")
            .unwrap();
        if testing_external_server() {
            let key = got.expect("etcd 3.4.23 answers a lock");
            assert!(contenders(&ch, "jep/").await.is_empty(), "{key:?}");
        } else {
            let e = got.expect_err("a lock whose key is gone");
            assert_eq!(
                (e.code(), e.message()),
                (Code::Unknown, "mutex: session is expired")
            );
        }
        // Nothing is left behind: the next contender locks at once.
        let lc = grant(&ch, 60).await;
        lock(&ch, "jep", lc).await.expect("lock c");
    }));
}

#[test]
fn cancelled_waiter_removes_its_key() {
    let p = EtcdProcess::start(EtcdOpts::default());
    common::runtime().block_on(bounded(async {
        let ch = channel(&p).await;
        let (la, lb) = (grant(&ch, 60).await, grant(&ch, 60).await);
        let a = lock(&ch, "cx", la).await.expect("lock a");
        let ch2 = ch.clone();
        let waiter = tokio::spawn(async move { lock(&ch2, "cx", lb).await });
        wait_contenders(&ch, "cx/", 2).await;
        waiter.abort();
        wait_contenders(&ch, "cx/", 1).await;
        assert_eq!(contenders(&ch, "cx/").await, vec![a.clone()]);
        unlock(&ch, a).await;

        let e = lock(&ch, "cx", 12345).await.expect_err("unknown lease");
        assert_eq!(
            (e.code(), e.message()),
            (Code::Unknown, "etcdserver: requested lease not found")
        );
    }));
}

async fn next_leader(s: &mut Streaming<LeaderResponse>) -> (Vec<u8>, Vec<u8>) {
    let r = tokio::time::timeout(TIMEOUT, s.message())
        .await
        .expect("observe in time")
        .expect("observe ok")
        .expect("observe open");
    let kv = r.kv.expect("kv");
    // A leader found by a read carries the read's revision; a change seen
    // by the watch carries the change's.
    assert!(r.header.expect("header").revision >= kv.mod_revision);
    (kv.key, kv.value)
}

#[test]
fn election_campaign_proclaim_observe_resign() {
    let p = EtcdProcess::start(EtcdOpts::default());
    common::runtime().block_on(bounded(async {
        let ch = channel(&p).await;
        let mut el = ElectionClient::new(ch.clone());
        let e = el
            .leader(LeaderRequest {
                name: b"el".to_vec(),
            })
            .await
            .expect_err("no leader yet");
        assert_eq!(
            (e.code(), e.message()),
            (Code::Unknown, "election: no leader")
        );
        // etcd sends the response headers with the first answer, so the
        // call completes only once someone leads.
        let mut el_obs = el.clone();
        let observe = tokio::spawn(async move {
            el_obs
                .observe(LeaderRequest {
                    name: b"el".to_vec(),
                })
                .await
        });

        let (la, lb) = (grant(&ch, 60).await, grant(&ch, 60).await);
        let a = el
            .campaign(CampaignRequest {
                name: b"el".to_vec(),
                lease: la,
                value: b"a".to_vec(),
            })
            .await
            .expect("campaign a")
            .into_inner();
        let leader_a = a.leader.expect("leader key");
        assert_eq!(leader_a.rev, a.header.expect("header").revision);
        assert_eq!((leader_a.name.as_slice(), leader_a.lease), (&b"el"[..], la));
        assert_eq!(leader_a.key, format!("el/{la:x}").into_bytes());
        let mut observe = tokio::time::timeout(TIMEOUT, observe)
            .await
            .expect("observe in time")
            .unwrap()
            .expect("observe")
            .into_inner();
        assert_eq!(
            next_leader(&mut observe).await,
            (leader_a.key.clone(), b"a".to_vec())
        );

        let mut el2 = el.clone();
        let campaign_b = tokio::spawn(async move {
            el2.campaign(CampaignRequest {
                name: b"el".to_vec(),
                lease: lb,
                value: b"b".to_vec(),
            })
            .await
        });
        wait_contenders(&ch, "el/", 2).await;
        assert!(!campaign_b.is_finished());

        el.proclaim(ProclaimRequest {
            leader: Some(leader_a.clone()),
            value: b"a2".to_vec(),
        })
        .await
        .expect("proclaim");
        assert_eq!(
            next_leader(&mut observe).await,
            (leader_a.key.clone(), b"a2".to_vec())
        );
        let now = el
            .leader(LeaderRequest {
                name: b"el".to_vec(),
            })
            .await
            .expect("leader");
        assert_eq!(now.into_inner().kv.expect("kv").value, b"a2");

        let stale = LeaderKey {
            rev: leader_a.rev + 100,
            ..leader_a.clone()
        };
        let e = el
            .proclaim(ProclaimRequest {
                leader: Some(stale),
                value: b"x".to_vec(),
            })
            .await
            .expect_err("not leader");
        assert_eq!(
            (e.code(), e.message()),
            (Code::Unknown, "election: not leader")
        );
        let e = el
            .proclaim(ProclaimRequest::default())
            .await
            .expect_err("missing leader");
        assert_eq!(
            (e.code(), e.message()),
            (Code::Unknown, "\"leader\" field must be provided")
        );

        el.resign(ResignRequest {
            leader: Some(leader_a.clone()),
        })
        .await
        .expect("resign");
        let b = tokio::time::timeout(TIMEOUT, campaign_b)
            .await
            .expect("in time")
            .unwrap()
            .expect("campaign b")
            .into_inner();
        let leader_b = b.leader.expect("leader key");
        assert_eq!(
            next_leader(&mut observe).await,
            (leader_b.key.clone(), b"b".to_vec())
        );
        // Resigning a lost leadership changes nothing.
        el.resign(ResignRequest {
            leader: Some(leader_a),
        })
        .await
        .expect("resign again");
        assert_eq!(contenders(&ch, "el/").await, vec![leader_b.key.clone()]);

        // Campaigning again with the same lease keeps the place and
        // proclaims the new value.
        let again = el
            .campaign(CampaignRequest {
                name: b"el".to_vec(),
                lease: lb,
                value: b"b2".to_vec(),
            })
            .await
            .expect("campaign again")
            .into_inner()
            .leader
            .expect("leader key");
        assert_eq!(
            (again.key.as_slice(), again.rev),
            (leader_b.key.as_slice(), leader_b.rev)
        );
        assert_eq!(
            next_leader(&mut observe).await,
            (leader_b.key.clone(), b"b2".to_vec())
        );

        // The leader's lease ends: nobody leads.
        revoke(&ch, lb).await;
        let e = el
            .leader(LeaderRequest {
                name: b"el".to_vec(),
            })
            .await
            .expect_err("no leader");
        assert_eq!(e.message(), "election: no leader");
    }));
}

/// One gateway POST; answers (status, body).
fn post(p: &EtcdProcess, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(p.endpoint().trim_start_matches("http://")).expect("connect");
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out[9..12].parse().expect("status");
    let (head, rest) = out.split_once("\r\n\r\n").expect("head");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // One chunk then the terminator (a non-streaming answer).
        let (_, chunk) = rest.split_once("\r\n").expect("chunk size");
        chunk.split("\r\n").next().unwrap_or_default().to_string()
    } else {
        rest.to_string()
    };
    (status, body)
}

#[test]
fn gateway_lock_and_election() {
    let p = EtcdProcess::start(EtcdOpts::default());
    let err = |m: &str| format!("{{\"error\":{m:?},\"message\":{m:?},\"code\":2}}");
    // "mylock" = bXlsb2Nr
    let (status, body) = post(
        &p,
        "/v3/lock/lock",
        r#"{"name":"bXlsb2Nr","lease":"12345"}"#,
    );
    assert_eq!(
        (status, body),
        (500, err("etcdserver: requested lease not found"))
    );
    let (status, body) = post(&p, "/v3/election/leader", r#"{"name":"bXlsb2Nr"}"#);
    assert_eq!((status, body), (500, err("election: no leader")));
    let (status, body) = post(&p, "/v3/election/resign", "{}");
    assert_eq!(
        (status, body),
        (500, err("\"leader\" field must be provided"))
    );
    let (status, body) = post(&p, "/v3/lock/unlock", "{}");
    assert_eq!(
        (status, body),
        (500, err("etcdserver: key is not provided"))
    );

    let (status, body) = post(&p, "/v3/lock/lock", r#"{"name":"bXlsb2Nr"}"#);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let key = v["key"].as_str().expect("key").to_string();
    // A lease 0 lock grants a lease (no revision) and puts the key: revision 2.
    assert_eq!(v["header"]["revision"], "2", "{body}");
    let (status, body) = post(&p, "/v3/lock/unlock", &format!("{{\"key\":\"{key}\"}}"));
    assert_eq!(status, 200, "{body}");
}
