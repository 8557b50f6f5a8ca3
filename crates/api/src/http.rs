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

/// Healthy when no alarm is raised (except those named by `?exclude=`),
/// there is a leader and a linearizable read completes (etcd 3.4's
/// `/health`: `{"health":"true"}`, 503 with `"false"` otherwise).
pub(crate) async fn health(State(s): State<Arc<EtcdServer>>, uri: axum::http::Uri) -> Response {
    let excluded: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.strip_prefix("exclude="))
        .collect();
    let alarm = s.alarms().into_iter().find(|a| {
        let name = etcd_proto::etcdserverpb::AlarmType::try_from(a.alarm).map(|t| t.as_str_name()).unwrap_or("");
        !excluded.contains(&name)
    });
    if let Some(a) = &alarm {
        tracing::warn!(target: "etcdserver/api/etcdhttp", "/health error due to {}", etcd_server::alarm_text(a));
    }
    let ok = alarm.is_none()
        && s.leader() != 0
        && tokio::time::timeout(std::time::Duration::from_secs(1), s.linearizable_barrier())
            .await
            .map(|r| r.is_ok())
            .unwrap_or(false);
    let m = etcd_server::metrics::metrics();
    if ok { m.health_success.inc() } else { m.health_failures.inc() }
    let (status, body) = if ok {
        (StatusCode::OK, r#"{"health":"true"}"#)
    } else {
        // etcd answers through http.Error, which ends the body with a newline.
        (StatusCode::SERVICE_UNAVAILABLE, "{\"health\":\"false\"}\n")
    };
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// etcd's metrics in Prometheus text format (see `etcd_server::metrics`).
pub(crate) async fn metrics(State(s): State<Arc<EtcdServer>>) -> Response {
    crate::metrics::init();
    let body = tokio::task::spawn_blocking(move || etcd_server::metrics::render(&s)).await.unwrap_or_default();
    let mut r = body.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(etcd_server::metrics::CONTENT_TYPE));
    r
}
