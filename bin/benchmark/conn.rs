//! gRPC connections: `--conns` HTTP/2 connections shared round-robin by
//! `--clients` clients (client `i` uses connection `i % conns`), spread over
//! `--endpoints`; with `--target-leader` every connection goes to the member
//! that the endpoints' Status calls name as leader.

use std::time::Duration;

use anyhow::{bail, Context as _};
use etcd_proto::etcdserverpb::maintenance_client::MaintenanceClient;
use etcd_proto::etcdserverpb::StatusRequest;
use tonic::transport::{Channel, Endpoint};

/// Default bound for dialing one connection.
const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(5);

fn url(ep: &str) -> String {
    let ep = ep.trim();
    if ep.contains("://") {
        ep.to_string()
    } else {
        format!("http://{ep}")
    }
}

async fn dial(ep: &str, timeout: Duration) -> anyhow::Result<Channel> {
    let timeout = if timeout.is_zero() {
        DEFAULT_DIAL_TIMEOUT
    } else {
        timeout
    };
    Endpoint::from_shared(url(ep))?
        .connect_timeout(timeout)
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("dial error: {ep}"))
}

async fn leader_endpoint(endpoints: &[String], timeout: Duration) -> anyhow::Result<String> {
    for ep in endpoints {
        let Ok(ch) = dial(ep, timeout).await else {
            continue;
        };
        let Ok(resp) = MaintenanceClient::new(ch).status(StatusRequest {}).await else {
            continue;
        };
        let resp = resp.into_inner();
        let member = resp.header.map(|h| h.member_id).unwrap_or_default();
        if resp.leader != 0 && resp.leader == member {
            return Ok(ep.clone());
        }
    }
    bail!("no leader found among endpoints {endpoints:?}")
}

/// Opens `conns` connections (at least one).
pub async fn open(
    endpoints: &[String],
    conns: usize,
    target_leader: bool,
    dial_timeout: Duration,
) -> anyhow::Result<Vec<Channel>> {
    if endpoints.is_empty() {
        bail!("no endpoints given");
    }
    let endpoints = if target_leader {
        vec![leader_endpoint(endpoints, dial_timeout).await?]
    } else {
        endpoints.to_vec()
    };
    let mut out = Vec::with_capacity(conns.max(1));
    for i in 0..conns.max(1) {
        out.push(dial(&endpoints[i % endpoints.len()], dial_timeout).await?);
    }
    Ok(out)
}

/// etcd's client-side spelling of a gRPC error.
pub fn grpc_error(s: &tonic::Status) -> String {
    format!("rpc error: code = {:?} desc = {}", s.code(), s.message())
}
