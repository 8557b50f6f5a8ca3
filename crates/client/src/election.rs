//! Election service (`v3electionpb`): campaign, proclaim, leader, observe,
//! resign.

use etcd_proto::mvccpb::KeyValue;
use etcd_proto::v3electionpb::election_client::ElectionClient;
use etcd_proto::v3electionpb::{
    CampaignRequest, CampaignResponse, LeaderKey, LeaderRequest, LeaderResponse, ProclaimRequest,
    ProclaimResponse, ResignRequest, ResignResponse,
};
use tokio_stream::StreamExt;

use crate::client::{Client, Retry};
use crate::error::{Error, Result};

/// The stream of leaders of one election.
pub struct Observer {
    inner: tonic::Streaming<LeaderResponse>,
}

impl Observer {
    /// The next leader announcement, or None when the stream ended.
    pub async fn next(&mut self) -> Result<Option<LeaderResponse>> {
        match self.inner.next().await {
            None => Ok(None),
            Some(Ok(r)) => Ok(Some(r)),
            Some(Err(s)) => Err(Error::Status(s)),
        }
    }
}

impl Client {
    /// Waits until this client leads election `name` with `value`, holding
    /// `lease`. Not bounded by the command timeout.
    pub async fn campaign(
        &self,
        name: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
        lease: i64,
    ) -> Result<CampaignResponse> {
        let req = CampaignRequest {
            name: name.into(),
            lease,
            value: value.into(),
        };
        let (_, ch) = self.channel().await;
        Ok(ElectionClient::new(ch)
            .campaign(self.request(req))
            .await?
            .into_inner())
    }

    /// Updates the leader's value.
    pub async fn proclaim(
        &self,
        leader: LeaderKey,
        value: impl Into<Vec<u8>>,
    ) -> Result<ProclaimResponse> {
        let req = ProclaimRequest {
            leader: Some(leader),
            value: value.into(),
        };
        self.unary(Retry::NonRepeatable, req, |ch, r| async move {
            ElectionClient::new(ch).proclaim(r).await
        })
        .await
    }

    /// The current leader of election `name`.
    pub async fn leader(&self, name: impl Into<Vec<u8>>) -> Result<Option<KeyValue>> {
        let req = LeaderRequest { name: name.into() };
        let resp = self
            .unary(Retry::Repeatable, req, |ch, r| async move {
                ElectionClient::new(ch).leader(r).await
            })
            .await?;
        Ok(resp.kv)
    }

    /// Streams the leaders of election `name` as they change.
    pub async fn observe(&self, name: impl Into<Vec<u8>>) -> Result<Observer> {
        let req = LeaderRequest { name: name.into() };
        let inner = self
            .open_stream(req, |ch, r| async move {
                ElectionClient::new(ch).observe(r).await
            })
            .await?;
        Ok(Observer { inner })
    }

    /// Gives up leadership.
    pub async fn resign(&self, leader: LeaderKey) -> Result<ResignResponse> {
        let req = ResignRequest {
            leader: Some(leader),
        };
        self.unary(Retry::NonRepeatable, req, |ch, r| async move {
            ElectionClient::new(ch).resign(r).await
        })
        .await
    }
}
