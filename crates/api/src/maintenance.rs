//! The gRPC `etcdserverpb.Maintenance` service. Status and Alarm(GET) work
//! today; snapshot, defragment, hash and move-leader arrive with the
//! operations work and answer `Unimplemented` until then.

use std::pin::Pin;
use std::sync::Arc;

use etcd_proto::etcdserverpb::maintenance_server::Maintenance;
use etcd_proto::etcdserverpb::{
    alarm_request::AlarmAction, AlarmRequest, AlarmResponse, DefragmentRequest,
    DefragmentResponse, HashKvRequest, HashKvResponse, HashRequest, HashResponse,
    MoveLeaderRequest, MoveLeaderResponse, SnapshotRequest, SnapshotResponse, StatusRequest,
    StatusResponse,
};
use etcd_server::EtcdServer;
use futures::Stream;
use tonic::{Request, Response, Status};

/// Maintenance service over a server.
pub struct MaintenanceService(pub Arc<EtcdServer>);

type SnapshotStream = Pin<Box<dyn Stream<Item = Result<SnapshotResponse, Status>> + Send>>;

fn not_yet(what: &str) -> Status {
    Status::unimplemented(format!("etcd-rs: {what} is not implemented yet"))
}

#[tonic::async_trait]
impl Maintenance for MaintenanceService {
    async fn alarm(&self, req: Request<AlarmRequest>) -> Result<Response<AlarmResponse>, Status> {
        match req.into_inner().action() {
            // No alarm can be raised yet (quotas come later): the list is empty.
            AlarmAction::Get => Ok(Response::new(AlarmResponse {
                header: Some(self.0.header(0)),
                alarms: vec![],
            })),
            _ => Err(not_yet("alarm activate/deactivate")),
        }
    }

    async fn status(&self, _req: Request<StatusRequest>) -> Result<Response<StatusResponse>, Status> {
        Ok(Response::new(self.0.status()))
    }

    async fn defragment(
        &self,
        _req: Request<DefragmentRequest>,
    ) -> Result<Response<DefragmentResponse>, Status> {
        Err(not_yet("defragment"))
    }

    async fn hash(&self, _req: Request<HashRequest>) -> Result<Response<HashResponse>, Status> {
        Err(not_yet("hash"))
    }

    async fn hash_kv(&self, req: Request<HashKvRequest>) -> Result<Response<HashKvResponse>, Status> {
        Ok(Response::new(self.0.hash_kv(req.into_inner().revision)?))
    }

    type SnapshotStream = SnapshotStream;

    async fn snapshot(
        &self,
        _req: Request<SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        Err(not_yet("snapshot"))
    }

    async fn move_leader(
        &self,
        req: Request<MoveLeaderRequest>,
    ) -> Result<Response<MoveLeaderResponse>, Status> {
        self.0.move_leader(req.into_inner().target_id).await?;
        Ok(Response::new(MoveLeaderResponse { header: Some(self.0.header(0)) }))
    }
}
