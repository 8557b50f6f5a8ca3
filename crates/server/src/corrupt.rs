//! Corruption checks (etcd 3.4's `corrupt.go`): members compare HashKV.
//!
//! - Peers answer `GET /members/hashkv` on the peer URLs, body
//!   `{"revision":N}`, with a JSON `HashKVResponse` (400 with the mvcc error
//!   text for a compacted or future revision), as etcd does.
//! - `--experimental-initial-corrupt-check`: a restarting member (one with a
//!   WAL), before it starts Raft, hashes its key space at its revision and
//!   asks every peer for the hash at that revision. A different hash with the
//!   same compact revision is a mismatch: the member refuses to start with
//!   `<id> found data inconsistency with peers`. The peers are the
//!   membership its backend recorded (Raft has not replayed the WAL yet). Unreachable, lagging or
//!   differently compacted peers are logged and skipped.
//! - `--experimental-corrupt-check-time`: every interval the leader hashes,
//!   asks the peers, waits for a linearizable read and hashes again; a
//!   follower ahead of the leader, compacted further, or with a different
//!   hash at the same compact revision raises CORRUPT (member id 0: it is
//!   not known which side is corrupt).

use std::sync::Arc;
use std::time::Duration;

use etcd_mvcc::KvStore;
use etcd_proto::etcdserverpb::AlarmType;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};

use crate::membership::Member;
use crate::membership_store::MembershipStore;
use crate::{EtcdServer, ServerError};
use etcd_backend::Table;

/// The peer path (etcd's `PeerHashKVPath`).
pub const PEER_HASHKV_PATH: &str = "/members/hashkv";
/// Upper bound on a peer's answer.
const RESPONSE_BYTES_MAX: usize = 64 * 1024;

#[derive(Debug, Default, Serialize, Deserialize)]
struct HashKvRequestJson {
    #[serde(default, skip_serializing_if = "is_zero")]
    revision: i64,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct HeaderJson {
    #[serde(default)]
    cluster_id: u64,
    #[serde(default)]
    member_id: u64,
    #[serde(default)]
    revision: i64,
    #[serde(default)]
    raft_term: u64,
}

/// A peer's HashKV answer.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct HashKvJson {
    #[serde(default)]
    header: HeaderJson,
    #[serde(default)]
    hash: u32,
    #[serde(default)]
    compact_revision: i64,
}

/// Why a peer gave no hash.
#[derive(Debug)]
enum PeerError {
    Compacted,
    FutureRev,
    Other(String),
}

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerError::Compacted => f.write_str(etcd_proto::EtcdError::Compacted.message()),
            PeerError::FutureRev => f.write_str(etcd_proto::EtcdError::FutureRev.message()),
            PeerError::Other(e) => f.write_str(e),
        }
    }
}

/// The `/members/hashkv` route for the peer listener.
pub(crate) fn peer_route(
    kv: Arc<KvStore>,
    members: Arc<MembershipStore>,
    member_id: u64,
) -> axum::Router {
    axum::Router::new().route(
        PEER_HASHKV_PATH,
        axum::routing::get(move |body: axum::body::Bytes| async move {
            use axum::response::IntoResponse;
            let req: HashKvRequestJson = match serde_json::from_slice(&body) {
                Ok(r) => r,
                Err(_) => {
                    return (http::StatusCode::BAD_REQUEST, "error unmarshalling request")
                        .into_response()
                }
            };
            match kv.hash_kv(req.revision) {
                Ok((hash, compact_revision)) => {
                    let resp = HashKvJson {
                        // etcd answers with its current revision, whatever was asked.
                        header: HeaderJson {
                            revision: kv.current_revision(),
                            member_id,
                            ..Default::default()
                        },
                        hash,
                        compact_revision,
                    };
                    let cid = format!("{:x}", members.cluster_id());
                    (
                        [
                            (http::header::CONTENT_TYPE, "application/json".to_string()),
                            (http::HeaderName::from_static("x-etcd-cluster-id"), cid),
                        ],
                        serde_json::to_string(&resp).unwrap_or_default(),
                    )
                        .into_response()
                }
                Err(e) => (http::StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
            }
        }),
    )
}

/// Asks one peer URL for its hash at `rev`.
async fn fetch_hash(url: &str, rev: i64, timeout: Duration) -> Result<HashKvJson, PeerError> {
    let authority = url
        .strip_prefix("http://")
        .ok_or_else(|| PeerError::Other(format!("unsupported peer URL {url}")))?
        .trim_end_matches('/')
        .to_string();
    let work = async {
        let other = |e: &dyn std::fmt::Display| PeerError::Other(e.to_string());
        let tcp = tokio::net::TcpStream::connect(authority.as_str())
            .await
            .map_err(|e| other(&e))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| other(&e))?;
        let task = tokio::spawn(conn);
        let body = serde_json::to_vec(&HashKvRequestJson { revision: rev }).unwrap_or_default();
        let req = http::Request::builder()
            .method("GET")
            .uri(PEER_HASHKV_PATH)
            .header(http::header::HOST, authority.as_str())
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(bytes::Bytes::from(body)))
            .map_err(|e| other(&e))?;
        let result = async {
            let resp = sender.send_request(req).await.map_err(|e| other(&e))?;
            let status = resp.status();
            let body = http_body_util::Limited::new(resp.into_body(), RESPONSE_BYTES_MAX)
                .collect()
                .await
                .map_err(|e| other(&e))?
                .to_bytes();
            Ok::<_, PeerError>((status, body))
        }
        .await;
        task.abort();
        let (status, body) = result?;
        let text = String::from_utf8_lossy(&body);
        if status == http::StatusCode::BAD_REQUEST {
            if text.contains("required revision has been compacted") {
                return Err(PeerError::Compacted);
            }
            if text.contains("required revision is a future revision") {
                return Err(PeerError::FutureRev);
            }
        }
        if status != http::StatusCode::OK {
            return Err(PeerError::Other(format!("unknown error: {text}")));
        }
        serde_json::from_slice(&body).map_err(|e| other(&e))
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| Err(PeerError::Other("timed out".into())))
}

/// One peer's answer: its id and either a hash or why not.
struct PeerHash {
    id: u64,
    urls: Vec<String>,
    result: Result<HashKvJson, PeerError>,
}

async fn peer_hashes(
    members: Vec<Member>,
    self_id: u64,
    rev: i64,
    timeout: Duration,
) -> Vec<PeerHash> {
    let mut out = Vec::new();
    for m in members
        .into_iter()
        .filter(|m| m.id != self_id && !m.peer_urls.is_empty())
    {
        let mut last = PeerError::Other("no peer URL".into());
        let mut got = None;
        for url in &m.peer_urls {
            match fetch_hash(url, rev, timeout).await {
                Ok(h) => {
                    got = Some(h);
                    break;
                }
                Err(e) => {
                    tracing::warn!(target: "etcdserver", "{self_id:x} hash-kv error {:?} on peer {url:?} with revision {rev}", e.to_string());
                    last = e;
                }
            }
        }
        out.push(PeerHash {
            id: m.id,
            urls: m.peer_urls.clone(),
            result: got.ok_or(last),
        });
    }
    out
}

/// The members a restarting member knows before Raft runs: the snapshot's
/// membership when there is one, else the membership its backend recorded
/// when it last applied (the WAL replay that rebuilds the store comes later).
fn members_at_start(kv: &KvStore, members: &MembershipStore) -> Vec<Member> {
    let known = members.list();
    if !known.is_empty() {
        return known;
    }
    let rows = kv
        .backend()
        .range(Table::Members, &[], None, 0)
        .unwrap_or_default();
    rows.iter()
        .filter_map(|(_, v)| serde_json::from_slice::<Member>(v).ok())
        .collect()
}

/// The start-up check (see the module docs).
pub(crate) async fn initial_check(
    member_id: u64,
    kv: &KvStore,
    members: &MembershipStore,
    timeout: Duration,
) -> Result<(), ServerError> {
    tracing::info!(target: "etcdserver", "{member_id:x} starting initial corruption check with timeout {}...",
        etcd_gotext::format_duration(timeout));
    let rev = kv.current_revision();
    let (hash, crev) = kv
        .hash_kv(0)
        .map_err(|e| ServerError::Config(format!("{member_id:x} failed to fetch hash ({e})")))?;
    let mut mismatch = 0;
    for p in peer_hashes(members_at_start(kv, members), member_id, rev, timeout).await {
        match &p.result {
            Ok(r) if r.hash != hash && r.compact_revision == crev => {
                tracing::error!(target: "etcdserver", "{member_id:x}'s hash {hash} != {:x}'s hash {} (revision {rev}, peer revision {}, compact revision {crev})",
                    p.id, r.hash, r.header.revision);
                mismatch += 1;
            }
            Ok(r) if r.hash != hash => {
                tracing::warn!(target: "etcdserver", "{member_id:x} cannot check hash of peer({:x}): peer has a different compact revision {} (revision:{rev})",
                    p.id, r.compact_revision);
            }
            Ok(_) => {}
            Err(PeerError::FutureRev) => tracing::warn!(target: "etcdserver",
                "{member_id:x} cannot check the hash of peer({:?}) at revision {rev}: peer is lagging behind", p.urls),
            Err(PeerError::Compacted) => tracing::warn!(target: "etcdserver",
                "{member_id:x} cannot check the hash of peer({:?}) at revision {rev}: local node is lagging behind", p.urls),
            Err(PeerError::Other(_)) => {}
        }
    }
    if mismatch > 0 {
        return Err(ServerError::Config(format!(
            "{member_id:x} found data inconsistency with peers"
        )));
    }
    tracing::info!(target: "etcdserver", "{member_id:x} succeeded on initial corruption checking: no corruption");
    Ok(())
}

/// Starts the leader's periodic check when `--experimental-corrupt-check-time` is set.
pub(crate) fn spawn_monitor(server: &Arc<EtcdServer>, interval: Duration) {
    if interval.is_zero() {
        return;
    }
    tracing::info!(target: "etcdserver", "enabled corruption checking with {} interval", etcd_gotext::format_duration(interval));
    let weak = Arc::downgrade(server);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(interval).await;
            let Some(s) = weak.upgrade() else { return };
            if !s.is_leader() {
                continue;
            }
            s.check_hash_kv().await;
        }
    });
}

impl EtcdServer {
    /// One round of the leader's check (see the module docs).
    async fn check_hash_kv(&self) {
        let rev = self.kv.current_revision();
        let Ok((h, crev)) = self.kv.hash_kv(0) else {
            return;
        };
        let peers = peer_hashes(
            self.members.list(),
            self.member_id(),
            rev,
            self.config().request_timeout(),
        )
        .await;
        if let Err(e) = self.linearizable_barrier().await {
            tracing::debug!(target: "etcdserver", "check hash kv failed {e}");
            return;
        }
        let rev2 = self.kv.current_revision();
        let Ok((h2, crev2)) = self.kv.hash_kv(0) else {
            return;
        };
        let mut corrupt = false;
        if h2 != h && rev2 == rev && crev == crev2 {
            tracing::warn!(target: "etcdserver", "mismatched hashes {h} and {h2} for revision {rev}");
            corrupt = true;
        }
        for p in &peers {
            let Ok(r) = &p.result else { continue };
            if r.header.revision > rev2 {
                tracing::warn!(target: "etcdserver", "revision {} from member {:x}, expected at most {rev2}", r.header.revision, p.id);
                corrupt = true;
            }
            if r.compact_revision > crev2 {
                tracing::warn!(target: "etcdserver", "compact revision {} from member {:x}, expected at most {crev2}", r.compact_revision, p.id);
                corrupt = true;
            }
            if r.compact_revision == crev && r.hash != h {
                tracing::warn!(target: "etcdserver", "hash {} at revision {rev} from member {:x}, expected hash {h}", r.hash, p.id);
                corrupt = true;
            }
        }
        tracing::info!(target: "etcdserver", "finished peer corruption check");
        if corrupt {
            self.raise_alarm(0, AlarmType::Corrupt).await;
        }
    }
}
