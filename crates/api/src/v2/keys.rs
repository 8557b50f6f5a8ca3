//! `/v2/keys`: etcd 3.4's `keysHandler` (parse the form into a v2
//! `Request`, run it, write the event, the error or the watch).
//!
//! Keys live under `/1` in the store; the prefix is added here and removed
//! from every key and error cause in responses. A `ttl` becomes an absolute
//! expiration with this member's clock before the request is proposed, so
//! apply stays deterministic.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request as HttpRequest, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use etcd_proto::etcdserverpb::Request;
use etcd_server::{now_unix_ns, EtcdServer, V2Failure, V2Response};
use etcd_v2store::error::*;
use etcd_v2store::render::event_json;
use etcd_v2store::{V2Error, Watcher, KEYS_PREFIX};

use super::form::{unescape, Form};

/// Largest form body read (etcd bounds requests by `--max-request-bytes`).
const FORM_BYTES_MAX: usize = 10 * 1024 * 1024;

fn req_err(code: u32, cause: &str) -> V2Error {
    V2Error::new(code, cause, 0)
}

/// Handles one `/v2/keys` request.
pub(crate) async fn handle(
    State(server): State<Arc<EtcdServer>>,
    caller: super::auth::Caller,
    req: HttpRequest,
) -> Response {
    let method = req.method().clone();
    if ![
        Method::HEAD,
        Method::GET,
        Method::PUT,
        Method::POST,
        Method::DELETE,
    ]
    .contains(&method)
    {
        let mut r = Response::new(Body::from("Method Not Allowed\n"));
        *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        r.headers_mut().insert(
            "allow",
            HeaderValue::from_static("HEAD,GET,PUT,POST,DELETE"),
        );
        r.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        return r;
    }
    let cluster_id = format!("{:x}", server.cluster_id());
    let raw_path = req.uri().path().to_string();
    let parsed = parse(req).await;
    // etcd checks access once the request parsed (reading `/2/enabled`
    // and the caller's records, which `/v2/stats/store` counts).
    let allowed = match &parsed {
        Ok((r, _)) => {
            super::auth::may_access_key(&server, &caller, &raw_path, r.recursive(), &method).await
        }
        Err(_) => true,
    };
    let mut resp = match parsed {
        Ok(_) if !allowed => super::auth::key_no_auth(),
        Err(e) => error_response(&e),
        Ok((r, no_value)) => match server.v2_do(r).await {
            Ok(V2Response::Event(ev)) => {
                let mut resp = Response::new(Body::from(event_json(
                    &ev,
                    now_unix_ns(),
                    KEYS_PREFIX,
                    no_value,
                )));
                if ev.is_created() {
                    *resp.status_mut() = StatusCode::CREATED;
                }
                headers(&mut resp, ev.etcd_index, &server);
                resp
            }
            Ok(V2Response::Watcher(w)) => watch_response(w, &server),
            Err(V2Failure::Store(mut e)) => {
                if let Some(rest) = e.cause.strip_prefix(KEYS_PREFIX) {
                    e.cause = rest.to_string();
                }
                error_response(&e)
            }
            Err(V2Failure::Server(e)) => {
                error_response(&V2Error::new(RAFT_INTERNAL, e.to_string(), 0))
            }
        },
    };
    if let Ok(v) = HeaderValue::from_str(&cluster_id) {
        resp.headers_mut().insert("x-etcd-cluster-id", v);
    }
    resp
}

fn headers(resp: &mut Response, etcd_index: u64, server: &EtcdServer) {
    let h = resp.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("x-etcd-index", HeaderValue::from(etcd_index));
    h.insert("x-raft-index", HeaderValue::from(server.committed_index()));
    h.insert("x-raft-term", HeaderValue::from(server.term()));
}

/// etcd's `Error.WriteTo`.
pub(crate) fn error_response(e: &V2Error) -> Response {
    let mut r = Response::new(Body::from(e.to_json()));
    *r.status_mut() = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    r.headers_mut()
        .insert("x-etcd-index", HeaderValue::from(e.index));
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// Headers at once, then the event (or every event with `stream`).
fn watch_response(w: Watcher, server: &EtcdServer) -> Response {
    let start = w.start_index();
    let body = futures::stream::unfold(Some(w), |w| async move {
        let mut w = w?;
        let ev = w.next().await?;
        let chunk = event_json(&ev, now_unix_ns(), KEYS_PREFIX, false);
        // A non-stream watcher's channel ends after its one event.
        Some((Ok::<_, std::convert::Infallible>(chunk), Some(w)))
    });
    let mut resp = Response::new(Body::from_stream(body));
    headers(&mut resp, start, server);
    resp
}

/// etcd's `parseKeyRequest`: the request and `noValueOnSuccess`.
async fn parse(req: HttpRequest) -> Result<(Request, bool), V2Error> {
    let method = req.method().as_str().to_string();
    let raw_path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let mut form = Form::default();
    if matches!(method.as_str(), "PUT" | "POST" | "PATCH") {
        let form_body = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let body = axum::body::to_bytes(req.into_body(), FORM_BYTES_MAX)
            .await
            .map_err(|e| req_err(INVALID_FORM, &e.to_string()))?;
        if form_body {
            form.extend(&String::from_utf8_lossy(&body))
                .map_err(|e| req_err(INVALID_FORM, &e))?;
        }
    }
    form.extend(&query).map_err(|e| req_err(INVALID_FORM, &e))?;
    let path =
        unescape(&raw_path, false).ok_or_else(|| req_err(INVALID_FORM, "invalid URL escape"))?;
    let Some(key) = path.strip_prefix("/v2/keys") else {
        return Err(req_err(INVALID_FORM, "incorrect key prefix"));
    };
    let p = etcd_v2store::store::clean_path(&format!("{KEYS_PREFIX}/{key}"));
    let prev_index = form
        .uint("prevIndex")
        .map_err(|_| req_err(INDEX_NAN, "invalid value for \"prevIndex\""))?;
    let wait_index = form
        .uint("waitIndex")
        .map_err(|_| req_err(INDEX_NAN, "invalid value for \"waitIndex\""))?;
    let flag = |name: &str| {
        form.bool(name)
            .map_err(|_| req_err(INVALID_FIELD, &format!("invalid value for \"{name}\"")))
    };
    let recursive = flag("recursive")?;
    let sorted = flag("sorted")?;
    let wait = flag("wait")?;
    let dir = flag("dir")?;
    let quorum = flag("quorum")?;
    let stream = flag("stream")?;
    if wait && method != "GET" {
        return Err(req_err(
            INVALID_FIELD,
            "\"wait\" can only be used with GET requests",
        ));
    }
    let prev_value = form.value("prevValue").to_string();
    if form.get("prevValue").is_some() && prev_value.is_empty() {
        return Err(req_err(
            PREV_VALUE_REQUIRED,
            "\"prevValue\" cannot be empty",
        ));
    }
    let no_value = flag("noValueOnSuccess")?;
    let ttl = if form.value("ttl").is_empty() {
        None
    } else {
        Some(
            form.uint("ttl")
                .map_err(|_| req_err(TTL_NAN, "invalid value for \"ttl\""))?,
        )
    };
    let prev_exist = match form.get("prevExist") {
        None => None,
        Some(_) => Some(
            form.bool("prevExist")
                .map_err(|_| req_err(INVALID_FIELD, "invalid value for prevExist"))?,
        ),
    };
    let refresh = match form.get("refresh") {
        None => None,
        Some(_) => Some(
            form.bool("refresh")
                .map_err(|_| req_err(INVALID_FIELD, "invalid value for refresh"))?,
        ),
    };
    if refresh == Some(true) {
        if form.get("value").is_some_and(|v| !v.is_empty()) {
            return Err(req_err(REFRESH_VALUE, "A value was provided on a refresh"));
        }
        if ttl.is_none() {
            return Err(req_err(REFRESH_TTL_REQUIRED, "No TTL value set"));
        }
    }
    let r = Request {
        method: Some(method),
        path: Some(p),
        val: Some(form.value("value").to_string()),
        dir: Some(dir),
        prev_value: Some(prev_value),
        prev_index: Some(prev_index),
        prev_exist,
        wait: Some(wait),
        since: Some(wait_index),
        recursive: Some(recursive),
        sorted: Some(sorted),
        quorum: Some(quorum),
        stream: Some(stream),
        refresh,
        expiration: ttl
            .map(|t| now_unix_ns().saturating_add((t as i64).saturating_mul(1_000_000_000))),
        ..Default::default()
    };
    Ok((r, no_value))
}
