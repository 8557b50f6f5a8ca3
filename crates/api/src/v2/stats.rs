//! `/v2/stats/store`, `/v2/stats/self`, `/v2/stats/leader`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use etcd_server::EtcdServer;

fn json(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// When this process first served v2 stats (approximates the member's start).
static START: std::sync::OnceLock<(i64, std::time::Instant)> = std::sync::OnceLock::new();

/// Records the start time used by `/v2/stats/self`.
pub(crate) fn mark_start() {
    START.get_or_init(|| (etcd_server::now_unix_ns(), std::time::Instant::now()));
}

/// The v2 store's counters.
pub(crate) async fn store(State(s): State<Arc<EtcdServer>>) -> Response {
    let stats = s.v2_store().lock().stats();
    json(serde_json::to_string(&stats).unwrap_or_default())
}

/// This member's identity and Raft state (a subset of etcd's `ServerStats`).
pub(crate) async fn self_stats(State(s): State<Arc<EtcdServer>>) -> Response {
    let name = s.config().name.clone();
    let leader = s.leader();
    let state = if s.is_leader() {
        "StateLeader"
    } else {
        "StateFollower"
    };
    #[derive(serde::Serialize)]
    struct LeaderInfo {
        leader: String,
        uptime: String,
        #[serde(rename = "startTime")]
        start_time: String,
    }
    #[derive(serde::Serialize)]
    struct SelfStats {
        name: String,
        id: String,
        state: &'static str,
        #[serde(rename = "startTime")]
        start_time: String,
        #[serde(rename = "leaderInfo")]
        leader_info: LeaderInfo,
        #[serde(rename = "recvAppendRequestCnt")]
        recv_append_request_cnt: u64,
        #[serde(rename = "sendAppendRequestCnt")]
        send_append_request_cnt: u64,
    }
    let (start_ns, started) =
        *START.get_or_init(|| (etcd_server::now_unix_ns(), std::time::Instant::now()));
    let start = etcd_v2store::render::rfc3339_nano(start_ns);
    let body = SelfStats {
        name,
        id: format!("{:x}", s.member_id()),
        state,
        start_time: start.clone(),
        leader_info: LeaderInfo {
            leader: format!("{leader:x}"),
            uptime: format!("{:?}", started.elapsed()),
            start_time: start,
        },
        recv_append_request_cnt: 0,
        send_append_request_cnt: 0,
    };
    json(serde_json::to_string(&body).unwrap_or_default())
}

/// Leader statistics; etcd answers 403 `not current leader` on followers.
pub(crate) async fn leader(State(s): State<Arc<EtcdServer>>) -> Response {
    if !s.is_leader() {
        let mut r = json("{\"message\":\"not current leader\"}".into());
        *r.status_mut() = StatusCode::FORBIDDEN;
        return r;
    }
    json(
        serde_json::json!({ "leader": format!("{:x}", s.member_id()), "followers": {} })
            .to_string(),
    )
}
