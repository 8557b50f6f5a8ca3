//! Plain HTTP endpoints on the client port: `/version`, `/health`, `/metrics`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use etcd_server::{EtcdServer, CLUSTER_VERSION, ETCD_VERSION};

/// The etcd-rs release, reported beside the etcd version we reproduce.
pub const ETCD_RS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// `/version`, `/health`, `/metrics`.
pub fn routes() -> Router<Arc<EtcdServer>> {
    Router::new()
        .route("/version", get(version))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
}

async fn version() -> Response {
    // etcd's two fields in etcd's order, then ours.
    let body = format!(
        r#"{{"etcdserver":"{ETCD_VERSION}","etcdcluster":"{CLUSTER_VERSION}","etcd-rs":"{ETCD_RS_VERSION}"}}"#
    );
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// Healthy when there is a leader and a linearizable read completes (etcd
/// 3.4's `/health`: `{"health":"true"}`, 503 with `"false"` otherwise).
async fn health(State(s): State<Arc<EtcdServer>>) -> Response {
    let ok = s.leader() != 0
        && tokio::time::timeout(std::time::Duration::from_secs(1), s.linearizable_barrier())
            .await
            .map(|r| r.is_ok())
            .unwrap_or(false);
    let (status, body) = if ok {
        (StatusCode::OK, r#"{"health":"true"}"#)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, r#"{"health":"false"}"#)
    };
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// A first set of etcd's metrics, in Prometheus text format.
async fn metrics(State(s): State<Arc<EtcdServer>>) -> Response {
    let st = s.status();
    let leader = u8::from(st.leader != 0);
    let is_leader = u8::from(st.leader == s.member_id());
    let mut out = String::new();
    let mut metric = |name: &str, help: &str, kind: &str, sample: String| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{sample}\n"));
    };
    metric("etcd_server_version", "Which version is running. 1 for 'server_version' label with current version.", "gauge",
        format!("etcd_server_version{{server_version=\"{ETCD_VERSION}\"}} 1"));
    metric("etcd_cluster_version", "Which version is running. 1 for 'cluster_version' label with current cluster version", "gauge",
        "etcd_cluster_version{cluster_version=\"3.4\"} 1".to_string());
    metric("etcd_rs_version", "The etcd-rs release serving. 1 for 'version' label.", "gauge",
        format!("etcd_rs_version{{version=\"{ETCD_RS_VERSION}\"}} 1"));
    metric("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.", "gauge",
        format!("etcd_server_has_leader {leader}"));
    metric("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.", "gauge",
        format!("etcd_server_is_leader {is_leader}"));
    metric("etcd_server_proposals_committed_total", "The total number of consensus proposals committed.", "gauge",
        format!("etcd_server_proposals_committed_total {}", st.raft_index));
    metric("etcd_server_proposals_applied_total", "The total number of consensus proposals applied.", "gauge",
        format!("etcd_server_proposals_applied_total {}", st.raft_applied_index));
    metric("etcd_server_proposals_pending", "The current number of pending proposals to commit.", "gauge",
        format!("etcd_server_proposals_pending {}", s.pending_proposals()));
    metric("etcd_mvcc_db_total_size_in_bytes", "Total size of the underlying database physically allocated in bytes.", "gauge",
        format!("etcd_mvcc_db_total_size_in_bytes {}", st.db_size));
    metric("etcd_mvcc_db_total_size_in_use_in_bytes", "Total size of the underlying database logically in use in bytes.", "gauge",
        format!("etcd_mvcc_db_total_size_in_use_in_bytes {}", st.db_size_in_use));
    metric("etcd_debugging_mvcc_current_revision", "The current revision of store.", "gauge",
        format!("etcd_debugging_mvcc_current_revision {}", s.revision()));
    let mut r = out.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    r
}
