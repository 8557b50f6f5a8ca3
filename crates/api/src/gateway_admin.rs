//! Gateway routes for the Maintenance and Cluster calls that the gRPC
//! services already implement (auth checks, headers and errors included):
//! each route decodes etcd's JSON, calls the service method and answers its
//! response or its status as etcd's gateway error.

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use etcd_proto::etcdserverpb::cluster_server::Cluster;
use etcd_proto::etcdserverpb::maintenance_server::Maintenance;
use etcd_server::EtcdServer;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cluster::ClusterService;
use crate::gateway::{call, error_response};
use crate::maintenance::MaintenanceService;

type Srv = State<Arc<EtcdServer>>;

/// Runs a gRPC service method behind the gateway's JSON codec.
async fn via_service<Q, A, F, Fut>(body: Bytes, f: F) -> Response
where
    Q: DeserializeOwned + Default,
    A: Serialize,
    F: FnOnce(tonic::Request<Q>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<A>, tonic::Status>>,
{
    let mut failed = None;
    let r = call(body, |q: Q| async {
        match f(tonic::Request::new(q)).await {
            Ok(a) => Ok(Some(a.into_inner())),
            Err(status) => {
                failed = Some(status);
                Ok(None)
            }
        }
    })
    .await;
    match failed {
        Some(status) => error_response(status.code(), status.message()),
        None => r,
    }
}

macro_rules! admin_route {
    ($router:expr, $path:expr, $svc:ident, $method:ident) => {
        $router.route(
            &$path,
            post(|State(s): Srv, b: Bytes| async move { via_service(b, |q| async move { $svc(s).$method(q).await }).await }),
        )
    };
}

/// `/v3/maintenance/{alarm,defragment,hash,transfer-leadership}`,
/// `/v3/cluster/member/{add,remove,update,promote}` (and under `/v3beta`).
pub fn routes() -> Router<Arc<EtcdServer>> {
    let mut r = Router::new();
    for prefix in ["/v3", "/v3beta"] {
        r = admin_route!(r, format!("{prefix}/maintenance/alarm"), MaintenanceService, alarm);
        r = admin_route!(r, format!("{prefix}/maintenance/defragment"), MaintenanceService, defragment);
        r = admin_route!(r, format!("{prefix}/maintenance/hash"), MaintenanceService, hash);
        r = admin_route!(r, format!("{prefix}/maintenance/transfer-leadership"), MaintenanceService, move_leader);
        r = admin_route!(r, format!("{prefix}/cluster/member/add"), ClusterService, member_add);
        r = admin_route!(r, format!("{prefix}/cluster/member/remove"), ClusterService, member_remove);
        r = admin_route!(r, format!("{prefix}/cluster/member/update"), ClusterService, member_update);
        r = admin_route!(r, format!("{prefix}/cluster/member/promote"), ClusterService, member_promote);
    }
    r
}
