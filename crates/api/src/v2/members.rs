//! `/v2/members`: list (`GET`), the leader (`GET /v2/members/leader`), add
//! (`POST {"peerURLs":[..]}`), remove (`DELETE /<id>`) and update peer URLs
//! (`PUT /<id>`), on the server's member methods. Errors are etcd's
//! `{"message": ..}` with its status codes.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use etcd_proto::EtcdError;
use etcd_server::EtcdServer;

/// Largest member request body read.
const MEMBER_BODY_BYTES_MAX: usize = 64 * 1024;

#[derive(serde::Serialize)]
struct V2Member {
    id: String,
    name: String,
    #[serde(rename = "peerURLs")]
    peer_urls: Vec<String>,
    #[serde(rename = "clientURLs")]
    client_urls: Vec<String>,
}

impl V2Member {
    fn from(m: &etcd_server::membership::Member) -> V2Member {
        V2Member {
            id: format!("{:x}", m.id),
            name: m.name.clone(),
            peer_urls: m.peer_urls.clone(),
            client_urls: m.client_urls.clone(),
        }
    }
}

#[derive(serde::Deserialize)]
struct PeerUrls {
    #[serde(rename = "peerURLs")]
    peer_urls: Vec<String>,
}

fn json(s: &EtcdServer, status: StatusCode, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(&format!("{:x}", s.cluster_id())) {
        r.headers_mut().insert("x-etcd-cluster-id", v);
    }
    r
}

/// etcd's `httptypes.HTTPError`.
fn error(s: &EtcdServer, status: StatusCode, message: &str) -> Response {
    json(
        s,
        status,
        serde_json::json!({ "message": message }).to_string(),
    )
}

fn to_line<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialises") + "\n"
}

/// The member list.
pub(crate) async fn list(State(s): State<Arc<EtcdServer>>) -> Response {
    #[derive(serde::Serialize)]
    struct List {
        members: Vec<V2Member>,
    }
    let members = s
        .member_list()
        .members
        .iter()
        .filter_map(|m| s.member(m.id))
        .map(|m| V2Member::from(&m))
        .collect();
    json(&s, StatusCode::OK, to_line(&List { members }))
}

/// `GET /v2/members/leader` (and 404 for any other name).
pub(crate) async fn get_one(
    State(s): State<Arc<EtcdServer>>,
    Path(name): Path<String>,
) -> Response {
    if name != "leader" {
        return error(&s, StatusCode::NOT_FOUND, "Not found");
    }
    match s.member(s.leader()) {
        Some(m) if s.leader() != 0 => json(&s, StatusCode::OK, to_line(&V2Member::from(&m))),
        _ => error(&s, StatusCode::SERVICE_UNAVAILABLE, "During election"),
    }
}

async fn peer_urls(s: &EtcdServer, req: Request) -> Result<Vec<String>, Response> {
    let ctype = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let ctype = ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if ctype != "application/json" {
        let msg = format!("Bad Content-Type {ctype}, accept application/json");
        return Err(error(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, &msg));
    }
    let body = axum::body::to_bytes(req.into_body(), MEMBER_BODY_BYTES_MAX)
        .await
        .map_err(|e| error(s, StatusCode::BAD_REQUEST, &e.to_string()))?;
    let p: PeerUrls = serde_json::from_slice(&body)
        .map_err(|e| error(s, StatusCode::BAD_REQUEST, &e.to_string()))?;
    Ok(p.peer_urls)
}

fn server_error(s: &EtcdServer, e: EtcdError, id: &str) -> Response {
    match e {
        EtcdError::MemberNotFound => {
            error(s, StatusCode::NOT_FOUND, &format!("No such member: {id}"))
        }
        EtcdError::MemberExist => error(s, StatusCode::CONFLICT, "membership: ID exists"),
        EtcdError::MemberBadUrls => error(s, StatusCode::BAD_REQUEST, &e.to_string()),
        other => error(s, StatusCode::INTERNAL_SERVER_ERROR, &other.to_string()),
    }
}

/// `POST /v2/members`: adds a voter.
pub(crate) async fn add(
    State(s): State<Arc<EtcdServer>>,
    caller: super::auth::Caller,
    req: Request,
) -> Response {
    if !super::auth::may_change_members(&s, &caller).await {
        return super::auth::no_auth();
    }
    let urls = match peer_urls(&s, req).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if s.member_list()
        .members
        .iter()
        .any(|m| m.peer_ur_ls.iter().any(|u| urls.contains(u)))
    {
        return error(&s, StatusCode::CONFLICT, "membership: peerURL exists");
    }
    match s.member_add(urls, false).await {
        Ok((m, _)) => json(&s, StatusCode::CREATED, to_line(&V2Member::from(&m))),
        Err(e) => server_error(&s, e, ""),
    }
}

fn parse_id(s: &EtcdServer, id: &str) -> Result<u64, Response> {
    u64::from_str_radix(id, 16)
        .map_err(|_| error(s, StatusCode::NOT_FOUND, &format!("No such member: {id}")))
}

/// `DELETE /v2/members/<id>`.
pub(crate) async fn remove(
    State(s): State<Arc<EtcdServer>>,
    caller: super::auth::Caller,
    Path(id_str): Path<String>,
) -> Response {
    if !super::auth::may_change_members(&s, &caller).await {
        return super::auth::no_auth();
    }
    let id = match parse_id(&s, &id_str) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match s.member_remove(id).await {
        Ok(_) => json(&s, StatusCode::NO_CONTENT, String::new()),
        Err(e) => server_error(&s, e, &id_str),
    }
}

/// `PUT /v2/members/<id>`: new peer URLs.
pub(crate) async fn update(
    State(s): State<Arc<EtcdServer>>,
    caller: super::auth::Caller,
    Path(id_str): Path<String>,
    req: Request,
) -> Response {
    if !super::auth::may_change_members(&s, &caller).await {
        return super::auth::no_auth();
    }
    let id = match parse_id(&s, &id_str) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let urls = match peer_urls(&s, req).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    if s.member(id).is_none() {
        return error(
            &s,
            StatusCode::NOT_FOUND,
            &format!("No such member: {id_str}"),
        );
    }
    match s.member_update(id, urls).await {
        Ok(_) => json(&s, StatusCode::NO_CONTENT, String::new()),
        Err(e) => server_error(&s, e, &id_str),
    }
}
