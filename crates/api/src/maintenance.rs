//! The gRPC `etcdserverpb.Maintenance` service. Alarm goes through Raft;
//! Defragment copies the backend online; Hash covers the whole backend,
//! HashKV the key space; Snapshot streams the backend as an etcd bbolt file.

use std::pin::Pin;
use std::sync::Arc;

use etcd_proto::etcdserverpb::maintenance_server::Maintenance;
use etcd_proto::etcdserverpb::{
    AlarmRequest, AlarmResponse, DefragmentRequest,
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

#[tonic::async_trait]
impl Maintenance for MaintenanceService {
    async fn alarm(&self, req: Request<AlarmRequest>) -> Result<Response<AlarmResponse>, Status> {
        // Proposed through Raft, answered without a header (as etcd).
        Ok(Response::new(self.0.alarm(req.into_inner()).await?))
    }

    async fn status(&self, _req: Request<StatusRequest>) -> Result<Response<StatusResponse>, Status> {
        Ok(Response::new(self.0.status()))
    }

    async fn defragment(
        &self,
        _req: Request<DefragmentRequest>,
    ) -> Result<Response<DefragmentResponse>, Status> {
        self.0.check_maintenance_admin().await?;
        match self.0.defragment().await {
            Ok(_) => Ok(Response::new(DefragmentResponse { header: None })),
            Err(e) => Err(Status::unknown(e)),
        }
    }

    async fn hash(&self, _req: Request<HashRequest>) -> Result<Response<HashResponse>, Status> {
        self.0.check_maintenance_admin().await?;
        Ok(Response::new(self.0.hash()?))
    }

    async fn hash_kv(&self, req: Request<HashKvRequest>) -> Result<Response<HashKvResponse>, Status> {
        self.0.check_maintenance_admin().await?;
        Ok(Response::new(self.0.hash_kv(req.into_inner().revision)?))
    }

    type SnapshotStream = SnapshotStream;

    async fn snapshot(
        &self,
        _req: Request<SnapshotRequest>,
    ) -> Result<Response<Self::SnapshotStream>, Status> {
        self.0.check_maintenance_admin().await?;
        // Chunks of the bbolt file, then its sha256 (etcd_server's backup.rs).
        let rx = self.0.snapshot_stream();
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            let item = rx.recv().await?.map(|c| SnapshotResponse {
                header: None,
                remaining_bytes: c.remaining_bytes,
                blob: c.blob,
            });
            Some((item.map_err(Status::unknown), rx))
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn move_leader(
        &self,
        req: Request<MoveLeaderRequest>,
    ) -> Result<Response<MoveLeaderResponse>, Status> {
        self.0.move_leader(req.into_inner().target_id).await?;
        Ok(Response::new(MoveLeaderResponse { header: Some(self.0.header(0)) }))
    }
}
