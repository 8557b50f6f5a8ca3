//! The client-facing API: gRPC services, the JSON gateway and plain HTTP
//! endpoints, all on one listener (HTTP/1.1 and HTTP/2 share the port, as in
//! etcd, so `etcdctl` and `curl` reach the same address).

#![deny(missing_docs)]

mod auth;
pub mod auth_scope;
mod cluster;
mod concurrency;
mod election;
mod flush_batch;
mod gateway;
mod gateway_admin;
pub mod h2_authority;
mod http;
mod kv;
mod lease;
mod lock;
mod maintenance;
pub mod metrics;
mod metrics_listener;
pub mod limits;
pub mod tls;
pub mod ui;
mod v2;
mod watch;

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode};
use etcd_proto::etcdserverpb::{
    cluster_server::ClusterServer, kv_server::KvServer, lease_server::LeaseServer, maintenance_server::MaintenanceServer,
    watch_server::WatchServer,
};
use etcd_proto::v3electionpb::election_server::ElectionServer;
use etcd_proto::v3lockpb::lock_server::LockServer;
use etcd_server::EtcdServer;

pub use http::ETCD_RS_VERSION;
pub use metrics_listener::{metrics_router, serve_metrics};

/// gRPC's own overhead allowed on top of `--max-request-bytes` (etcd's
/// `grpcOverheadBytes`).
const GRPC_OVERHEAD_BYTES: usize = 512 * 1024;

/// The router for one client listener.
pub fn client_router(server: Arc<EtcdServer>) -> axum::Router {
    let max_recv = server.config().max_request_bytes + GRPC_OVERHEAD_BYTES;
    let grpc = tonic::service::Routes::new(
        KvServer::new(kv::KvService(server.clone()))
            .max_decoding_message_size(max_recv)
            .max_encoding_message_size(usize::MAX),
    )
    .add_service(MaintenanceServer::new(maintenance::MaintenanceService(server.clone())).max_decoding_message_size(max_recv))
    .add_service(ClusterServer::new(cluster::ClusterService(server.clone())).max_decoding_message_size(max_recv))
    .add_service(LeaseServer::new(lease::LeaseService(server.clone())).max_decoding_message_size(max_recv))
    .add_service(WatchServer::new(watch::WatchService(server.clone())).max_decoding_message_size(max_recv))
    .add_service(LockServer::new(lock::LockService(server.clone())).max_decoding_message_size(max_recv))
    .add_service(etcd_proto::etcdserverpb::auth_server::AuthServer::new(auth::AuthService(server.clone())).max_decoding_message_size(max_recv))
    .add_service(ElectionServer::new(election::ElectionService(server.clone())).max_decoding_message_size(max_recv))
    .into_axum_router()
    .layer(axum::middleware::from_fn(metrics::track));
    let v2_routes = if server.config().enable_v2 { v2::routes() } else { axum::Router::new() };
    let web = gateway::routes()
        .merge(v2_routes)
        .merge(lease::gateway_routes())
        .merge(watch::gateway_routes())
        .merge(lock::gateway_routes())
        .merge(auth::gateway_routes())
        .merge(election::gateway_routes())
        .merge(http::routes())
        .merge(ui::routes(server.config().enable_ui))
        .method_not_allowed_fallback(|| async { plain_error(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n") })
        .with_state(server);
    grpc.merge(web)
        .fallback(not_found)
        .layer(axum::middleware::from_fn(auth_scope::layer))
        .layer(axum::middleware::map_response(cors))
}

/// Unknown paths: gRPC callers get `Unimplemented`, HTTP callers Go's 404.
async fn not_found(req: axum::extract::Request) -> axum::response::Response {
    let grpc = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    if grpc {
        return tonic::Status::unimplemented(format!("unknown method {}", req.uri().path()))
            .into_http::<axum::body::Body>();
    }
    plain_error(StatusCode::NOT_FOUND, "Not Found\n")
}

/// Go's `http.Error`: text/plain, nosniff.
fn plain_error(status: StatusCode, body: &'static str) -> axum::response::Response {
    let mut r = axum::response::IntoResponse::into_response((status, body));
    let h = r.headers_mut();
    h.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    r
}

/// etcd's client mux answers every HTTP request (gRPC ones too; harmless) with permissive CORS headers.
async fn cors(mut r: axum::response::Response) -> axum::response::Response {
    let h = r.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert("access-control-allow-methods", HeaderValue::from_static("POST, GET, OPTIONS, PUT, DELETE"));
    h.insert("access-control-allow-headers", HeaderValue::from_static("accept, content-type, authorization"));
    r
}

/// Serves clients on `listener` until the process ends.
///
/// HTTP/2 connections may carry any number of concurrent streams (etcd's
/// `--max-concurrent-streams` default is unlimited; hyper's own default of
/// 200 would stall a client holding many watch streams on one connection).
pub async fn serve_clients(listener: tokio::net::TcpListener, server: Arc<EtcdServer>) -> std::io::Result<()> {
    use axum::serve::Listener as _;
    let router = client_router(server);
    let mut listener = h2_authority::AuthorityFixListener::new(listener);
    loop {
        let (io, _addr) = listener.accept().await;
        tokio::spawn(serve_connection(io, router.clone()));
    }
}

/// Serves one accepted (and, for TLS, handshaken) client connection with
/// `router`, HTTP/1.1 or HTTP/2 as the client speaks, until it closes.
pub(crate) async fn serve_connection<I>(io: I, router: axum::Router)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper_util::service::TowerToHyperService::new(router);
    let mut builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    limits::client_limits().apply(&mut builder);
    let _ = builder.serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(flush_batch::FlushBatch::new(io)), service).await;
}
