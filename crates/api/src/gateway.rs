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
    let mut r = crate::gateway_admin::routes();
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
pub(crate) async fn call<Q, A, F, Fut>(body: Bytes, f: F) -> Response
where
    Q: DeserializeOwned + Default,
    A: Serialize,
    F: FnOnce(Q) -> Fut,
    Fut: Future<Output = Result<A, EtcdError>>,
{
    let req = if body.iter().all(u8::is_ascii_whitespace) {
        Q::default()
    } else {
        // Like Go's json.Decoder, read one value and ignore what follows it.
        let mut de = serde_json::Deserializer::from_slice(&body);
        match Q::deserialize(&mut de) {
            Ok(q) => q,
            Err(e) => return error_response(Code::InvalidArgument, &go_json_error(&body, &e)),
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

/// Go's encoding/json (and jsonpb) wording for a decode error, so scripts
/// that match the gateway's errors see the same text as from etcd.
pub(crate) fn go_json_error(body: &[u8], e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = byte_offset(body, e.line(), e.column());
    let text = e.to_string();
    match e.classify() {
        Category::Eof => "unexpected EOF".to_string(),
        Category::Syntax => {
            // serde_json's column points at the offending character.
            let c = body.get(at.saturating_sub(1)).map(|b| *b as char).unwrap_or(' ');
            let context = if text.starts_with("expected `:`") {
                "after object key"
            } else if text.starts_with("expected `,` or `}`") {
                "after object key:value pair"
            } else if text.starts_with("expected `,` or `]`") {
                "after array element"
            } else if text.starts_with("key must be a string") {
                "looking for beginning of object key string"
            } else {
                "looking for beginning of value"
            };
            format!("invalid character {} {context}", go_quote_char(c))
        }
        Category::Data | Category::Io => {
            if let Some(offset) = base64_offset(&text) {
                return format!("illegal base64 data at input byte {offset}");
            }
            // A number given as a string that is not a number: jsonpb parses
            // the string's content as a JSON literal and names its first bad character.
            let value = quoted_value_before(body, at);
            if let Some(c) = value.chars().find(|c| !c.is_ascii_digit() && *c != '-') {
                return format!("invalid character {} looking for beginning of value", go_quote_char(c));
            }
            text.split(" at line ").next().unwrap_or(&text).to_string()
        }
    }
}

/// Go's `%q`-like quoting of one character, as encoding/json prints it.
fn go_quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".to_string(),
        c if c.is_control() => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    }
}

fn byte_offset(body: &[u8], line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (i, l) in body.split(|b| *b == b'\n').enumerate() {
        if i + 1 == line {
            return offset + column;
        }
        offset += l.len() + 1;
    }
    body.len()
}

/// The offset in a base64 decoding error (`Invalid byte 33, offset 0.`).
fn base64_offset(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    if !lower.contains("invalid byte") && !lower.contains("invalid symbol") && !lower.contains("invalid last symbol") && !lower.contains("invalid padding") && !lower.contains("invalid input length") {
        return None;
    }
    let rest = &lower[lower.find("offset")? + "offset".len()..];
    rest.trim_start().split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The content of the last JSON string that ends before `at`.
fn quoted_value_before(body: &[u8], at: usize) -> String {
    let head = &body[..at.min(body.len())];
    let Some(end) = head.iter().rposition(|b| *b == b'"') else { return String::new() };
    let Some(start) = head[..end].iter().rposition(|b| *b == b'"') else { return String::new() };
    String::from_utf8_lossy(&head[start + 1..end]).into_owned()
}

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

/// grpc-gateway's streaming answer: one `{"result":…}` JSON line per
/// message, sent as each arrives (watch, election observe).
pub(crate) fn json_lines<S, T>(messages: S) -> Response
where
    S: futures::Stream<Item = T> + Send + 'static,
    T: Serialize,
{
    use futures::StreamExt;
    let lines = messages.map(|m| {
        let json = serde_json::to_string(&m).unwrap_or_default();
        Ok::<_, std::convert::Infallible>(Bytes::from(format!("{{\"result\":{json}}}\n")))
    });
    let mut r = (StatusCode::OK, axum::body::Body::from_stream(lines)).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert("grpc-metadata-content-type", HeaderValue::from_static("application/grpc"));
    r
}

/// grpc-gateway's error body and status.
pub fn error_response(code: Code, msg: &str) -> Response {
    /// Field order matters to byte-for-byte comparisons: etcd's is error, message, code.
    #[derive(Serialize)]
    struct Body<'a> {
        error: &'a str,
        message: &'a str,
        code: i32,
    }
    let body = Body { error: msg, message: msg, code: code as i32 };
    json_response(http_status(code), serde_json::to_vec(&body).unwrap_or_default())
}

/// grpc-gateway's `HTTPStatusFromCode`.
pub fn http_status(code: Code) -> StatusCode {
    match code {
        Code::Ok => StatusCode::OK,
        Code::Cancelled => StatusCode::REQUEST_TIMEOUT,
        Code::Unknown | Code::Internal | Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::FailedPrecondition => StatusCode::PRECONDITION_FAILED,
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
