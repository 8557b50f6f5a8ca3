//! Cluster service: member list, add, remove, update, promote.

use etcd_proto::etcdserverpb::cluster_client::ClusterClient;
use etcd_proto::etcdserverpb::{
    MemberAddRequest, MemberAddResponse, MemberListRequest, MemberListResponse,
    MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse,
    MemberUpdateRequest, MemberUpdateResponse,
};

use crate::client::{Client, Retry};
use crate::error::Result;

impl Client {
    /// Lists the members.
    pub async fn member_list(&self) -> Result<MemberListResponse> {
        self.unary(
            Retry::Repeatable,
            MemberListRequest {},
            |ch, r| async move { ClusterClient::new(ch).member_list(r).await },
        )
        .await
    }

    /// Adds a member (a learner when `is_learner`).
    pub async fn member_add(
        &self,
        peer_urls: Vec<String>,
        is_learner: bool,
    ) -> Result<MemberAddResponse> {
        let req = MemberAddRequest {
            peer_ur_ls: peer_urls,
            is_learner,
        };
        self.unary(Retry::NonRepeatable, req, |ch, r| async move {
            ClusterClient::new(ch).member_add(r).await
        })
        .await
    }

    /// Removes a member.
    pub async fn member_remove(&self, id: u64) -> Result<MemberRemoveResponse> {
        self.unary(
            Retry::NonRepeatable,
            MemberRemoveRequest { id },
            |ch, r| async move { ClusterClient::new(ch).member_remove(r).await },
        )
        .await
    }

    /// Replaces a member's peer URLs.
    pub async fn member_update(
        &self,
        id: u64,
        peer_urls: Vec<String>,
    ) -> Result<MemberUpdateResponse> {
        let req = MemberUpdateRequest {
            id,
            peer_ur_ls: peer_urls,
        };
        self.unary(Retry::NonRepeatable, req, |ch, r| async move {
            ClusterClient::new(ch).member_update(r).await
        })
        .await
    }

    /// Promotes a learner to a voting member.
    pub async fn member_promote(&self, id: u64) -> Result<MemberPromoteResponse> {
        self.unary(
            Retry::NonRepeatable,
            MemberPromoteRequest { id },
            |ch, r| async move { ClusterClient::new(ch).member_promote(r).await },
        )
        .await
    }
}
