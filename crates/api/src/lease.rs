//! The gRPC `etcdserverpb.Lease` service and its JSON gateway routes.
//!
//! - Grant and revoke go through Raft (`EtcdServer::lease_grant/revoke`).
//! - KeepAlive is a bidi stream: each request renews one lease and is
//!   answered in order; an unknown or expired lease gets TTL 0 (not an
//!   error, as etcd: clients print "expired or revoked"); any other error
//!   ends the stream with that status. Answers are buffered at most
//!   [`KEEPALIVE_BUFFER`] deep, so a client that stops reading stops renewal.
//! - TimeToLive answers TTL -1 for an unknown lease.
//! - Renew and time-to-live need the leader's lessor: a follower passes them
//!   on to the leader's client URL over gRPC (etcd forwards over the peer
//!   port).
//! - Gateway: `/v3/lease/{grant,revoke,keepalive,timetolive,leases}` and the
//!   3.4 aliases `/v3/kv/lease/{revoke,timetolive,leases}` (also under
//!   `/v3beta`). The keep-alive route reads newline- or space-separated JSON
//!   requests from the body and writes one `{"result":…}` line per answer,
//!   like grpc-gateway's streaming handler.

use std::pin::Pin;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use etcd_proto::etcdserverpb::lease_client::LeaseClient;
use etcd_proto::etcdserverpb::lease_server::Lease;
use etcd_proto::etcdserverpb::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use etcd_proto::EtcdError;
use etcd_server::EtcdServer;
use futures::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response as GrpcResponse, Status, Streaming};

use crate::gateway::{call, error_response, go_json_error, http_status, json_response};

/// Keep-alive answers queued for a slow client before renewal waits.
pub const KEEPALIVE_BUFFER: usize = 16;

/// Lease service over a server.
pub struct LeaseService(pub Arc<EtcdServer>);

/// A connection to the leader's client URL, for forwarded calls.
async fn leader_client(
    s: &EtcdServer,
) -> Result<LeaseClient<tonic::transport::Channel>, EtcdError> {
    let leader = s.leader();
    if leader == 0 {
        return Err(EtcdError::NoLeader);
    }
    let url = s
        .member(leader)
        .and_then(|m| m.client_urls.first().cloned())
        .ok_or(EtcdError::NoLeader)?;
    LeaseClient::connect(url)
        .await
        .map_err(|_| EtcdError::NoLeader)
}

/// Renews lease `id`: its TTL, or 0 if it is unknown or expired.
async fn renew(s: &EtcdServer, id: i64) -> Result<i64, Status> {
    match s.lease_renew(id).await {
        Ok(ttl) => Ok(ttl),
        Err(EtcdError::LeaseNotFound) => Ok(0),
        Err(EtcdError::NotLeader) if s.leader() != s.member_id() => {
            let mut client = leader_client(s).await?;
            let once = tokio_stream::once(LeaseKeepAliveRequest { id });
            let mut answers = client.lease_keep_alive(once).await?.into_inner();
            match answers.message().await? {
                Some(r) => Ok(r.ttl),
                None => Err(EtcdError::NoLeader.to_status()),
            }
        }
        Err(e) => Err(e.to_status()),
    }
}

async fn time_to_live(
    s: &EtcdServer,
    req: LeaseTimeToLiveRequest,
) -> Result<LeaseTimeToLiveResponse, Status> {
    match s.lease_time_to_live(req).await {
        Err(EtcdError::NotLeader) if s.leader() != s.member_id() => Ok(leader_client(s)
            .await?
            .lease_time_to_live(req)
            .await?
            .into_inner()),
        other => Ok(other?),
    }
}

async fn keep_alive_answer(s: &EtcdServer, id: i64) -> Result<LeaseKeepAliveResponse, Status> {
    // etcd fills the header before renewing.
    let header = Some(s.header(0));
    let ttl = renew(s, id).await?;
    Ok(LeaseKeepAliveResponse { header, id, ttl })
}

#[tonic::async_trait]
impl Lease for LeaseService {
    async fn lease_grant(
        &self,
        req: Request<LeaseGrantRequest>,
    ) -> Result<GrpcResponse<LeaseGrantResponse>, Status> {
        Ok(GrpcResponse::new(
            self.0.lease_grant(req.into_inner()).await?,
        ))
    }

    async fn lease_revoke(
        &self,
        req: Request<LeaseRevokeRequest>,
    ) -> Result<GrpcResponse<LeaseRevokeResponse>, Status> {
        Ok(GrpcResponse::new(
            self.0.lease_revoke(req.into_inner()).await?,
        ))
    }

    type LeaseKeepAliveStream =
        Pin<Box<dyn Stream<Item = Result<LeaseKeepAliveResponse, Status>> + Send>>;

    async fn lease_keep_alive(
        &self,
        req: Request<Streaming<LeaseKeepAliveRequest>>,
    ) -> Result<GrpcResponse<Self::LeaseKeepAliveStream>, Status> {
        let mut inbound = req.into_inner();
        let server = self.0.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(KEEPALIVE_BUFFER);
        tokio::spawn(async move {
            // Ends when the client closes its side, the stream breaks, or
            // nobody reads the answers any more.
            while let Ok(Some(r)) = inbound.message().await {
                let answer = keep_alive_answer(&server, r.id).await;
                let failed = answer.is_err();
                if tx.send(answer).await.is_err() || failed {
                    break;
                }
            }
        });
        Ok(GrpcResponse::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn lease_time_to_live(
        &self,
        req: Request<LeaseTimeToLiveRequest>,
    ) -> Result<GrpcResponse<LeaseTimeToLiveResponse>, Status> {
        Ok(GrpcResponse::new(
            time_to_live(&self.0, req.into_inner()).await?,
        ))
    }

    async fn lease_leases(
        &self,
        _req: Request<LeaseLeasesRequest>,
    ) -> Result<GrpcResponse<LeaseLeasesResponse>, Status> {
        Ok(GrpcResponse::new(self.0.lease_leases()))
    }
}

type Srv = State<Arc<EtcdServer>>;

/// The lease gateway routes.
pub fn gateway_routes() -> Router<Arc<EtcdServer>> {
    let mut r = Router::new();
    for prefix in ["/v3", "/v3beta"] {
        r = r
            .route(
                &format!("{prefix}/lease/grant"),
                post(|State(s): Srv, b: Bytes| async move {
                    call(b, |q| async move { s.lease_grant(q).await }).await
                }),
            )
            .route(
                &format!("{prefix}/lease/keepalive"),
                post(|State(s): Srv, b: Bytes| async move { keep_alive_gateway(s, b).await }),
            )
            .route(&format!("{prefix}/lease/leases"), post(leases_gateway))
            .route(&format!("{prefix}/kv/lease/leases"), post(leases_gateway));
        for path in ["lease/revoke", "kv/lease/revoke"] {
            r = r.route(
                &format!("{prefix}/{path}"),
                post(|State(s): Srv, b: Bytes| async move {
                    call(b, |q| async move { s.lease_revoke(q).await }).await
                }),
            );
        }
        for path in ["lease/timetolive", "kv/lease/timetolive"] {
            r = r.route(
                &format!("{prefix}/{path}"),
                post(|State(s): Srv, b: Bytes| async move {
                    call(b, |q| async move {
                        time_to_live(&s, q).await.map_err(status_error)
                    })
                    .await
                }),
            );
        }
    }
    r
}

async fn leases_gateway(State(s): Srv, b: Bytes) -> Response {
    call(
        b,
        |_: LeaseLeasesRequest| async move { Ok(s.lease_leases()) },
    )
    .await
}

/// A status from a forwarded call, back in the error table (its message is
/// one of etcd's), or a plain "no leader" if it is not.
fn status_error(st: Status) -> EtcdError {
    EtcdError::ALL
        .iter()
        .copied()
        .find(|e| e.message() == st.message())
        .unwrap_or(EtcdError::NoLeader)
}

/// grpc-gateway's streaming keep-alive: one answer line per request value.
async fn keep_alive_gateway(s: Arc<EtcdServer>, body: Bytes) -> Response {
    let mut out = Vec::new();
    let values = serde_json::Deserializer::from_slice(&body).into_iter::<LeaseKeepAliveRequest>();
    for (i, value) in values.enumerate() {
        let req = match value {
            Ok(r) => r,
            // Before any answer the whole call fails (as grpc-gateway's
            // stream does, with code Unknown); after, the stream just ends.
            Err(e) if i == 0 => return error_response(Code::Unknown, &go_json_error(&body, &e)),
            Err(_) => break,
        };
        match keep_alive_answer(&s, req.id).await {
            Ok(answer) => {
                out.extend_from_slice(b"{\"result\":");
                out.extend_from_slice(&serde_json::to_vec(&answer).unwrap_or_default());
                out.extend_from_slice(b"}\n");
            }
            Err(st) => {
                let http = http_status(st.code());
                let err = serde_json::json!({"error": {
                    "grpc_code": st.code() as i32,
                    "http_code": http.as_u16(),
                    "message": st.message(),
                    "http_status": http.canonical_reason().unwrap_or(""),
                }});
                out.extend_from_slice(err.to_string().as_bytes());
                out.push(b'\n');
                break;
            }
        }
    }
    let mut r = json_response(StatusCode::OK, out);
    r.headers_mut().insert(
        "grpc-metadata-content-type",
        HeaderValue::from_static("application/grpc"),
    );
    r
}
