//! The gRPC `v3electionpb.Election` service and its gateway routes
//! (`/v3/election/{campaign,proclaim,leader,observe,resign}`, also under
//! `/v3beta`).
//!
//! etcd's election recipe (`clientv3/concurrency/election.go`) run in the
//! server. Candidates own `name/<lease hex>`; the leader is the
//! first-created key under `name/`, and its value is the proclamation.
//! - Campaign: one txn creates the candidate key with the value if absent
//!   (else reads it, and a different value is proclaimed); then waits until
//!   every key created before it is gone. The answer carries the txn's
//!   header and the leader key `{name, key, rev: create revision, lease}`.
//!   If the caller goes away while waiting, the candidacy is resigned.
//! - Proclaim / Resign act only while the key's create revision is still
//!   `rev`: Proclaim otherwise fails with `election: not leader`; Resign
//!   then does nothing.
//! - Leader: the first-created key, or `election: no leader`.
//! - Observe: the leader's key-value now (or, with none, at the first put
//!   under the prefix), then each change of it, until it is deleted; then
//!   the next leader, and so on. Answers are buffered at most
//!   [`OBSERVE_BUFFER`] deep; a slow reader slows the observer, whose watch
//!   queue is bounded by the hub.
//!
//! A lease of 0 on Campaign, Proclaim or Resign has the server grant a
//! 60-second lease first, exactly as etcd's session does.

use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response as HttpResponse;
use axum::routing::post;
use axum::Router;
use etcd_proto::etcdserverpb::request_op::Request as Op;
use etcd_proto::etcdserverpb::{PutRequest, RequestOp, ResponseHeader, TxnRequest};
use etcd_proto::mvccpb::event::EventType;
use etcd_proto::v3electionpb::election_server::Election;
use etcd_proto::v3electionpb::{
    CampaignRequest, CampaignResponse, LeaderKey, LeaderRequest, LeaderResponse, ProclaimRequest,
    ProclaimResponse, ResignRequest, ResignResponse,
};
use etcd_server::EtcdServer;
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::concurrency::{
    contender_key, create_revision_is, delete_if_created_at, first_created, gateway_call,
    gateway_decode, get_op, prefix_of, prefix_range_end, session_lease, txn_range_kv, wait_deletes,
    Cleanup, ConcurrencyError, HubWatch,
};

/// Observe answers queued for a slow client before the observer waits.
pub const OBSERVE_BUFFER: usize = 16;

/// Election service over a server.
pub struct ElectionService(pub Arc<EtcdServer>);

/// `put(key, value, lease)` if `key` was created at `rev`.
fn proclaim_txn(key: &[u8], rev: i64, lease: i64, value: Vec<u8>) -> TxnRequest {
    TxnRequest {
        compare: vec![create_revision_is(key, rev)],
        success: vec![RequestOp {
            request: Some(Op::RequestPut(PutRequest {
                key: key.to_vec(),
                value,
                lease,
                ..Default::default()
            })),
        }],
        failure: Vec::new(),
    }
}

/// Waits to lead election `req.name` (see the module docs).
pub(crate) async fn campaign(
    server: Arc<EtcdServer>,
    req: CampaignRequest,
) -> Result<CampaignResponse, ConcurrencyError> {
    let lease = session_lease(&server, req.lease).await?;
    let prefix = prefix_of(&req.name);
    let key = contender_key(&prefix, lease);
    let put = RequestOp {
        request: Some(Op::RequestPut(PutRequest {
            key: key.clone(),
            value: req.value.clone(),
            lease,
            ..Default::default()
        })),
    };
    let resp = server
        .txn(TxnRequest {
            compare: vec![create_revision_is(&key, 0)],
            success: vec![put],
            failure: vec![get_op(&key)],
        })
        .await?;
    let header = resp.header.unwrap_or_default();
    let mut rev = header.revision;
    if !resp.succeeded {
        let kv = txn_range_kv(&resp, 0).ok_or(ConcurrencyError::NotLeader)?;
        rev = kv.create_revision;
        if kv.value != req.value {
            let p = server
                .txn(proclaim_txn(&key, rev, lease, req.value.clone()))
                .await;
            let failed = match p {
                Ok(r) if r.succeeded => None,
                Ok(_) => Some(ConcurrencyError::NotLeader),
                Err(e) => Some(e.into()),
            };
            if let Some(e) = failed {
                Cleanup::new(server.clone(), delete_if_created_at(&key, rev))
                    .run()
                    .await;
                return Err(e);
            }
        }
    }

    let resign = Cleanup::new(server.clone(), delete_if_created_at(&key, rev));
    let waited = wait_deletes(&server, &prefix, rev - 1).await;
    // Only a caller that went away resigns (the guard's drop); a failed
    // wait leaves the key to its lease, as etcd does.
    resign.disarm();
    waited?;
    Ok(CampaignResponse {
        header: Some(header),
        leader: Some(LeaderKey {
            name: req.name,
            key,
            rev,
            lease,
        }),
    })
}

/// Replaces the leader's value while `leader` still leads.
pub(crate) async fn proclaim(
    server: Arc<EtcdServer>,
    req: ProclaimRequest,
) -> Result<ProclaimResponse, ConcurrencyError> {
    let leader = req.leader.ok_or(ConcurrencyError::MissingLeaderKey)?;
    let lease = session_lease(&server, leader.lease).await?;
    let resp = server
        .txn(proclaim_txn(&leader.key, leader.rev, lease, req.value))
        .await?;
    if !resp.succeeded {
        return Err(ConcurrencyError::NotLeader);
    }
    Ok(ProclaimResponse {
        header: resp.header,
    })
}

/// Gives up leadership: deletes the key if it is still `leader`'s.
pub(crate) async fn resign(
    server: Arc<EtcdServer>,
    req: ResignRequest,
) -> Result<ResignResponse, ConcurrencyError> {
    let leader = req.leader.ok_or(ConcurrencyError::MissingLeaderKey)?;
    session_lease(&server, leader.lease).await?;
    let resp = server
        .txn(delete_if_created_at(&leader.key, leader.rev))
        .await?;
    Ok(ResignResponse {
        header: resp.header,
    })
}

/// The current leader's key-value.
pub(crate) async fn leader(
    server: Arc<EtcdServer>,
    req: LeaderRequest,
) -> Result<LeaderResponse, ConcurrencyError> {
    let resp = server.range(first_created(&prefix_of(&req.name))).await?;
    let kv = resp
        .kvs
        .into_iter()
        .next()
        .ok_or(ConcurrencyError::NoLeader)?;
    Ok(LeaderResponse {
        header: resp.header,
        kv: Some(kv),
    })
}

/// A watch response's header as the member sends it.
fn header_at(server: &EtcdServer, revision: i64) -> ResponseHeader {
    server.header(revision)
}

/// Feeds `tx` with the leaders of election `name` until the client goes
/// away or a read or watch fails (then the stream just ends, as in etcd).
async fn observe_loop(server: Arc<EtcdServer>, name: Vec<u8>, tx: mpsc::Sender<LeaderResponse>) {
    let prefix = prefix_of(&name);
    loop {
        let Ok(resp) = server.range(first_created(&prefix)).await else {
            return;
        };
        let (header, kv) = match resp.kvs.into_iter().next() {
            Some(kv) => (resp.header.unwrap_or_default(), kv),
            None => {
                // Nobody leads: the first put under the prefix is the leader.
                let from = resp.header.map_or(0, |h| h.revision);
                let watch =
                    HubWatch::open(&server, &prefix, &prefix_range_end(&prefix), from).await;
                let put = loop {
                    let Ok(w) = watch.next().await else { return };
                    let first = w
                        .events
                        .into_iter()
                        .find(|e| e.r#type == EventType::Put as i32)
                        .and_then(|e| e.kv);
                    if let Some(kv) = first {
                        break kv;
                    }
                };
                (header_at(&server, put.mod_revision), put)
            }
        };
        let from = header.revision + 1;
        let key = kv.key.clone();
        if tx
            .send(LeaderResponse {
                header: Some(header),
                kv: Some(kv),
            })
            .await
            .is_err()
        {
            return;
        }
        // Follow this leader's key until it is deleted.
        let watch = HubWatch::open(&server, &key, &[], from).await;
        'leader: loop {
            let Ok(w) = watch.next().await else { return };
            let h = header_at(&server, w.header.map_or(0, |h| h.revision));
            for ev in w.events {
                if ev.r#type == EventType::Delete as i32 {
                    break 'leader;
                }
                let answer = LeaderResponse {
                    header: Some(h),
                    kv: ev.kv,
                };
                if tx.send(answer).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Starts an observer; its answers end when the receiver is dropped.
fn observe(server: Arc<EtcdServer>, req: LeaderRequest) -> ReceiverStream<LeaderResponse> {
    let (tx, rx) = mpsc::channel(OBSERVE_BUFFER);
    tokio::spawn(async move {
        let closed = tx.clone();
        tokio::select! {
            _ = observe_loop(server, req.name, tx) => {}
            _ = closed.closed() => {}
        }
    });
    ReceiverStream::new(rx)
}

type ObserveStream = Pin<Box<dyn Stream<Item = Result<LeaderResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Election for ElectionService {
    async fn campaign(
        &self,
        req: Request<CampaignRequest>,
    ) -> Result<Response<CampaignResponse>, Status> {
        Ok(Response::new(
            campaign(self.0.clone(), req.into_inner()).await?,
        ))
    }

    async fn proclaim(
        &self,
        req: Request<ProclaimRequest>,
    ) -> Result<Response<ProclaimResponse>, Status> {
        Ok(Response::new(
            proclaim(self.0.clone(), req.into_inner()).await?,
        ))
    }

    async fn leader(
        &self,
        req: Request<LeaderRequest>,
    ) -> Result<Response<LeaderResponse>, Status> {
        Ok(Response::new(
            leader(self.0.clone(), req.into_inner()).await?,
        ))
    }

    type ObserveStream = ObserveStream;

    async fn observe(
        &self,
        req: Request<LeaderRequest>,
    ) -> Result<Response<Self::ObserveStream>, Status> {
        let answers = observe(self.0.clone(), req.into_inner()).map(Ok);
        Ok(Response::new(Box::pin(answers)))
    }

    async fn resign(
        &self,
        req: Request<ResignRequest>,
    ) -> Result<Response<ResignResponse>, Status> {
        Ok(Response::new(
            resign(self.0.clone(), req.into_inner()).await?,
        ))
    }
}

/// `POST /v3/election/observe`: one `{"result":LeaderResponse}` line per
/// answer, streamed until the client goes away (grpc-gateway's streaming).
async fn gateway_observe(server: Arc<EtcdServer>, body: Bytes) -> HttpResponse {
    let req: LeaderRequest = match gateway_decode(&body) {
        Ok(q) => q,
        Err(resp) => return *resp,
    };
    crate::gateway::json_lines(observe(server, req))
}

/// Routes a gateway path to a unary call.
macro_rules! unary {
    ($f:ident) => {
        post(|State(s): State<Arc<EtcdServer>>, b: Bytes| async move {
            gateway_call(&b, |q| $f(s, q)).await
        })
    };
}

/// The gateway's election routes.
pub(crate) fn gateway_routes() -> Router<Arc<EtcdServer>> {
    let mut r = Router::new();
    for prefix in ["/v3", "/v3beta"] {
        r = r
            .route(&format!("{prefix}/election/campaign"), unary!(campaign))
            .route(&format!("{prefix}/election/proclaim"), unary!(proclaim))
            .route(&format!("{prefix}/election/leader"), unary!(leader))
            .route(&format!("{prefix}/election/resign"), unary!(resign))
            .route(
                &format!("{prefix}/election/observe"),
                post(|State(s): State<Arc<EtcdServer>>, b: Bytes| gateway_observe(s, b)),
            );
    }
    r
}
