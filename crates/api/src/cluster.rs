//! The gRPC `etcdserverpb.Cluster` service: membership at runtime.

use std::sync::Arc;

use etcd_proto::etcdserverpb::cluster_client::ClusterClient;
use etcd_proto::etcdserverpb::cluster_server::Cluster;
use etcd_proto::etcdserverpb::{
    MemberAddRequest, MemberAddResponse, MemberListRequest, MemberListResponse,
    MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse,
    MemberUpdateRequest, MemberUpdateResponse, ResponseHeader,
};
use etcd_proto::EtcdError;
use etcd_server::membership::Member;
use etcd_server::EtcdServer;
use tonic::{Request, Response, Status};

/// Cluster service over a server.
pub struct ClusterService(pub Arc<EtcdServer>);

impl ClusterService {
    /// etcd's cluster service answers with a header without a revision.
    fn header(&self) -> Option<ResponseHeader> {
        Some(ResponseHeader { revision: 0, ..self.0.header(0) })
    }

    fn members(list: &[Member]) -> Vec<etcd_proto::etcdserverpb::Member> {
        list.iter().map(Member::to_proto).collect()
    }

    /// Promotion is decided by the leader; a follower passes the request on
    /// to it over gRPC (etcd forwards it over the peer port).
    async fn promote_on_leader(&self, id: u64) -> Result<MemberPromoteResponse, Status> {
        let leader = self.0.leader();
        let member = self.0.member(leader).ok_or_else(|| EtcdError::NoLeader.to_status())?;
        let url = member.client_urls.first().cloned().ok_or_else(|| EtcdError::NoLeader.to_status())?;
        let mut client = ClusterClient::connect(url)
            .await
            .map_err(|_| EtcdError::NoLeader.to_status())?;
        Ok(client.member_promote(MemberPromoteRequest { id }).await?.into_inner())
    }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn member_add(&self, r: Request<MemberAddRequest>) -> Result<Response<MemberAddResponse>, Status> {
        let r = r.into_inner();
        let (m, list) = self.0.member_add(r.peer_ur_ls, r.is_learner).await?;
        Ok(Response::new(MemberAddResponse {
            header: self.header(),
            member: Some(m.to_proto()),
            members: Self::members(&list),
        }))
    }

    async fn member_remove(
        &self,
        r: Request<MemberRemoveRequest>,
    ) -> Result<Response<MemberRemoveResponse>, Status> {
        let list = self.0.member_remove(r.into_inner().id).await?;
        Ok(Response::new(MemberRemoveResponse { header: self.header(), members: Self::members(&list) }))
    }

    async fn member_update(
        &self,
        r: Request<MemberUpdateRequest>,
    ) -> Result<Response<MemberUpdateResponse>, Status> {
        let r = r.into_inner();
        let list = self.0.member_update(r.id, r.peer_ur_ls).await?;
        Ok(Response::new(MemberUpdateResponse { header: self.header(), members: Self::members(&list) }))
    }

    async fn member_list(
        &self,
        _r: Request<MemberListRequest>,
    ) -> Result<Response<MemberListResponse>, Status> {
        Ok(Response::new(self.0.member_list()))
    }

    async fn member_promote(
        &self,
        r: Request<MemberPromoteRequest>,
    ) -> Result<Response<MemberPromoteResponse>, Status> {
        let id = r.into_inner().id;
        match self.0.member_promote(id).await {
            Ok(list) => Ok(Response::new(MemberPromoteResponse { header: self.header(), members: Self::members(&list) })),
            Err(EtcdError::NotLeader) => Ok(Response::new(self.promote_on_leader(id).await?)),
            Err(e) => Err(e.into()),
        }
    }
}
