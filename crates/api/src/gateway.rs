//! The JSON gateway: `POST /v3/...` with etcd's grpc-gateway JSON (proto
//! field names, base64 bytes, 64-bit integers as strings, defaults omitted),
//! calling the same server methods as gRPC. Errors come back as etcd's
//! `{"error":…,"message":…,"code":N}` with the HTTP status grpc-gateway maps
//! the gRPC code to.

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use etcd_proto::EtcdError;
use etcd_server::EtcdServer;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::Code;

type Srv = State<Arc<EtcdServer>>;

/// The gateway routes.
pub fn routes() -> Router<Arc<EtcdServer>> {
    let mut r = Router::new();
    // etcd 3.4 serves the same gateway under /v3 and the older /v3beta.
    for prefix in ["/v3", "/v3beta"] {
        r = r
            .route(&format!("{prefix}/kv/range"), post(|State(s): Srv, b: Bytes| async move { call(b, |q| async move { s.range(q).await }).await }))
            .route(&format!("{prefix}/kv/put"), post(|State(s): Srv, b: Bytes| async move { call(b, |q| async move { s.put(q).await }).await }))
            .route(&format!("{prefix}/kv/deleterange"), post(|State(s): Srv, b: Bytes| async move { call(b, |q| async move { s.delete_range(q).await }).await }))
            .route(&format!("{prefix}/kv/txn"), post(|State(s): Srv, b: Bytes| async move { call(b, |q| async move { s.txn(q).await }).await }))
            .route(&format!("{prefix}/kv/compaction"), post(|State(s): Srv, b: Bytes| async move { call(b, |q| async move { s.compact(q).await }).await }))
            .route(&format!("{prefix}/maintenance/status"), post(|State(s): Srv, b: Bytes| async move {
                call(b, |_: etcd_proto::etcdserverpb::StatusRequest| async move { Ok(s.status()) }).await
            }))
            .route(&format!("{prefix}/cluster/member/list"), post(|State(s): Srv, b: Bytes| async move {
                call(b, |_: etcd_proto::etcdserverpb::MemberListRequest| async move { Ok(s.member_list()) }).await
            }));
    }
    r
}

/// Decodes the body (empty means an empty request, as grpc-gateway allows),
/// runs `f`, encodes the answer.
async fn call<Q, A, F, Fut>(body: Bytes, f: F) -> Response
where
    Q: DeserializeOwned + Default,
    A: Serialize,
    F: FnOnce(Q) -> Fut,
    Fut: Future<Output = Result<A, EtcdError>>,
{
    let req = if body.iter().all(u8::is_ascii_whitespace) {
        Q::default()
    } else {
        match serde_json::from_slice::<Q>(&body) {
            Ok(q) => q,
            Err(e) => return error_response(Code::InvalidArgument, &json_error_text(&e)),
        }
    };
    match f(req).await {
        Ok(resp) => {
            let mut r = json_response(StatusCode::OK, serde_json::to_vec(&resp).unwrap_or_default());
            r.headers_mut().insert("grpc-metadata-content-type", HeaderValue::from_static("application/grpc"));
            r
        }
        Err(e) => error_response(e.code(), e.message()),
    }
}

/// Go's encoding/json wording for the common cases, so scripts that grep
/// the gateway's errors see the same text.
fn json_error_text(e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Eof => "unexpected EOF".to_string(),
        _ => format!("{e}"),
    }
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// grpc-gateway's error body and status.
pub fn error_response(code: Code, msg: &str) -> Response {
    let body = serde_json::json!({ "error": msg, "message": msg, "code": code as i32 });
    json_response(http_status(code), serde_json::to_vec(&body).unwrap_or_default())
}

/// grpc-gateway's `HTTPStatusFromCode`.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::REQUEST_TIMEOUT,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => StatusCode::CONFLICT,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}
