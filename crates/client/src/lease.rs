//! Lease service: grant, revoke, time-to-live, list, keep-alive.
//!
//! [`KeepAlive`] refreshes one lease on a background task every third of its
//! TTL (etcd's Go client does the same) and hands every answer to the
//! caller through a bounded channel; dropping it stops the task.

use std::time::Duration;

use etcd_proto::etcdserverpb::lease_client::LeaseClient;
use etcd_proto::etcdserverpb::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

use crate::client::{Client, Retry};
use crate::error::{Error, Result};

/// Capacity of the keep-alive answer channel.
pub const KEEPALIVE_BUFFER: usize = 16;
/// Shortest interval between two refreshes of one lease.
pub const KEEPALIVE_MIN_INTERVAL: Duration = Duration::from_millis(500);

/// A running keep-alive of one lease.
pub struct KeepAlive {
    answers: mpsc::Receiver<Result<LeaseKeepAliveResponse>>,
    task: tokio::task::JoinHandle<()>,
}

impl KeepAlive {
    /// The next answer; `Ok(None)` once the stream ended. An answer with
    /// `ttl <= 0` means the lease is gone, after which the task stops.
    pub async fn next(&mut self) -> Result<Option<LeaseKeepAliveResponse>> {
        match self.answers.recv().await {
            None => Ok(None),
            Some(r) => r.map(Some),
        }
    }
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Client {
    /// Grants a lease of `ttl_secs` (`id` 0: the server picks one).
    pub async fn lease_grant(&self, ttl_secs: i64, id: i64) -> Result<LeaseGrantResponse> {
        let req = LeaseGrantRequest { ttl: ttl_secs, id };
        self.unary(Retry::Repeatable, req, |ch, r| async move {
            LeaseClient::new(ch).lease_grant(r).await
        })
        .await
    }

    /// Revokes a lease, deleting its keys.
    pub async fn lease_revoke(&self, id: i64) -> Result<LeaseRevokeResponse> {
        self.unary(
            Retry::Repeatable,
            LeaseRevokeRequest { id },
            |ch, r| async move { LeaseClient::new(ch).lease_revoke(r).await },
        )
        .await
    }

    /// Remaining and granted TTL of a lease, with its keys when `keys`.
    pub async fn lease_time_to_live(&self, id: i64, keys: bool) -> Result<LeaseTimeToLiveResponse> {
        let req = LeaseTimeToLiveRequest { id, keys };
        self.unary(Retry::Repeatable, req, |ch, r| async move {
            LeaseClient::new(ch).lease_time_to_live(r).await
        })
        .await
    }

    /// All leases.
    pub async fn lease_leases(&self) -> Result<LeaseLeasesResponse> {
        self.unary(
            Retry::Repeatable,
            LeaseLeasesRequest {},
            |ch, r| async move { LeaseClient::new(ch).lease_leases(r).await },
        )
        .await
    }

    /// Refreshes a lease once. A lease that does not exist answers with
    /// `ttl <= 0`; that is reported as etcd's `requested lease not found`.
    pub async fn lease_keep_alive_once(&self, id: i64) -> Result<LeaseKeepAliveResponse> {
        let fut = async {
            let (tx, rx) = mpsc::channel(1);
            tx.send(LeaseKeepAliveRequest { id })
                .await
                .map_err(|_| Error::Stream("keep-alive request channel closed".into()))?;
            let (_, ch) = self.channel().await;
            let mut answers = LeaseClient::new(ch)
                .lease_keep_alive(self.request(ReceiverStream::new(rx)))
                .await?
                .into_inner();
            match answers.next().await {
                Some(Ok(r)) if r.ttl <= 0 => Err(Error::Status(tonic::Status::not_found(
                    "etcdserver: requested lease not found",
                ))),
                Some(Ok(r)) => Ok(r),
                Some(Err(s)) => Err(Error::Status(s)),
                None => Err(Error::Stream("keep-alive stream closed".into())),
            }
        };
        self.bounded(fut).await
    }

    /// Starts refreshing a lease until the returned handle is dropped.
    pub async fn lease_keep_alive(&self, id: i64) -> Result<KeepAlive> {
        let (req_tx, req_rx) = mpsc::channel(1);
        let (_, ch) = self.channel().await;
        let mut stream = LeaseClient::new(ch)
            .lease_keep_alive(self.request(ReceiverStream::new(req_rx)))
            .await?
            .into_inner();
        let (tx, answers) = mpsc::channel(KEEPALIVE_BUFFER);
        let task = tokio::spawn(async move {
            loop {
                if req_tx.send(LeaseKeepAliveRequest { id }).await.is_err() {
                    return;
                }
                let answer = match stream.next().await {
                    Some(Ok(r)) => r,
                    Some(Err(s)) => {
                        let _ = tx.send(Err(Error::Status(s))).await;
                        return;
                    }
                    None => return,
                };
                let ttl = answer.ttl;
                if tx.send(Ok(answer)).await.is_err() || ttl <= 0 {
                    return;
                }
                let wait = Duration::from_secs((ttl as u64) / 3).max(KEEPALIVE_MIN_INTERVAL);
                tokio::time::sleep(wait).await;
            }
        });
        Ok(KeepAlive { answers, task })
    }
}
