//! Maintenance service: status, hashes, alarms, defragment, move-leader,
//! snapshot stream.

use etcd_proto::etcdserverpb::maintenance_client::MaintenanceClient;
use etcd_proto::etcdserverpb::{
    AlarmRequest, AlarmResponse, DefragmentRequest, DefragmentResponse, HashKvRequest,
    HashKvResponse, HashRequest, HashResponse, MoveLeaderRequest, MoveLeaderResponse,
    SnapshotRequest, SnapshotResponse, StatusRequest, StatusResponse,
};
use tokio_stream::StreamExt;

use crate::client::{Client, Retry};
use crate::error::{Error, Result};

/// The chunks of a `Snapshot` stream, in order.
pub struct SnapshotStream {
    inner: tonic::Streaming<SnapshotResponse>,
}

impl SnapshotStream {
    /// The next chunk, or None at the end of the snapshot.
    pub async fn next(&mut self) -> Result<Option<SnapshotResponse>> {
        match self.inner.next().await {
            None => Ok(None),
            Some(Ok(r)) => Ok(Some(r)),
            Some(Err(s)) => Err(Error::Status(s)),
        }
    }
}

impl Client {
    /// `Status` of the member this client is connected to.
    pub async fn status(&self) -> Result<StatusResponse> {
        self.unary(Retry::Repeatable, StatusRequest {}, |ch, r| async move {
            MaintenanceClient::new(ch).status(r).await
        })
        .await
    }

    /// `HashKV` at `revision` (0: latest).
    pub async fn hash_kv(&self, revision: i64) -> Result<HashKvResponse> {
        self.unary(
            Retry::Repeatable,
            HashKvRequest { revision },
            |ch, r| async move { MaintenanceClient::new(ch).hash_kv(r).await },
        )
        .await
    }

    /// `Hash` of the whole backend.
    pub async fn hash(&self) -> Result<HashResponse> {
        self.unary(Retry::Repeatable, HashRequest {}, |ch, r| async move {
            MaintenanceClient::new(ch).hash(r).await
        })
        .await
    }

    /// `Alarm` (get, activate or deactivate).
    pub async fn alarm(&self, req: AlarmRequest) -> Result<AlarmResponse> {
        self.unary(Retry::Repeatable, req, |ch, r| async move {
            MaintenanceClient::new(ch).alarm(r).await
        })
        .await
    }

    /// `Defragment` the member this client is connected to.
    pub async fn defragment(&self) -> Result<DefragmentResponse> {
        self.unary(
            Retry::NonRepeatable,
            DefragmentRequest {},
            |ch, r| async move { MaintenanceClient::new(ch).defragment(r).await },
        )
        .await
    }

    /// `MoveLeader` to `target_id` (must be sent to the leader).
    pub async fn move_leader(&self, target_id: u64) -> Result<MoveLeaderResponse> {
        self.unary(
            Retry::Repeatable,
            MoveLeaderRequest { target_id },
            |ch, r| async move { MaintenanceClient::new(ch).move_leader(r).await },
        )
        .await
    }

    /// Opens the `Snapshot` stream (not bounded by the command timeout once open).
    pub async fn snapshot(&self) -> Result<SnapshotStream> {
        let inner = self
            .open_stream(SnapshotRequest {}, |ch, r| async move {
                MaintenanceClient::new(ch).snapshot(r).await
            })
            .await?;
        Ok(SnapshotStream { inner })
    }
}
