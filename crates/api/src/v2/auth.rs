//! `/v2/auth`: etcd 3.4's v2 auth handlers (`enable`, `users`, `roles`) on
//! [`etcd_server::v2auth`], and the credential checks `/v2/keys` and
//! `/v2/members` run first.
//!
//! What a client sees follows etcd: a method not allowed is Go's plain 405
//! with `Allow`; a caller without root access gets 401
//! `{"message":"Insufficient credentials"}` (no cluster id header, as
//! etcd writes it before setting headers); after that, answers carry
//! `X-Etcd-Cluster-Id` and JSON, successes one encoded value and a newline,
//! errors `{"message": ..}` without one (or a v2 store error as `/v2/keys`
//! writes it). Credentials: HTTP basic auth, or with `--client-cert-auth`
//! the verified certificate's common name.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use etcd_server::v2auth::model::{first_value, go_json};
use etcd_server::v2auth::{Permissions, Role, User, V2AuthError, V2AuthStore, V2Caller};
use etcd_server::EtcdServer;
use etcd_v2store::V2Error;

use super::form::unescape;

/// Largest user or role request body read.
const AUTH_BODY_BYTES_MAX: usize = 64 * 1024;

/// The v2 error code of a key request without access.
const UNAUTHORIZED: u32 = 110;

/// The credentials of a request, as an extractor.
pub(crate) struct Caller(pub(crate) V2Caller);

/// Go's `Request.BasicAuth`: `Basic ` (any case), base64, `user:password`.
fn basic_auth(header: &str) -> Option<(String, String)> {
    let prefix = header.get(..6)?;
    if !prefix.eq_ignore_ascii_case("basic ") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&header[6..])
        .ok()?;
    let text = String::from_utf8_lossy(&raw);
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Caller, Self::Rejection> {
        let header = parts
            .headers
            .get("authorization")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        Ok(Caller(V2Caller {
            has_authorization: !header.is_empty(),
            basic: basic_auth(&header),
            cert_cn: parts
                .extensions
                .get::<crate::tls::PeerCn>()
                .map(|c| c.0.clone()),
        }))
    }
}

fn with_json(mut r: Response) -> Response {
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// etcd's `httptypes.HTTPError`: `{"message": ..}`, no newline.
fn http_error(status: u16, message: &str) -> Response {
    let mut r = Response::new(Body::from(go_json(
        &serde_json::json!({ "message": message }),
    )));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    with_json(r)
}

/// The 401 of `/v2/members` changes and `/v2/auth`.
pub(crate) fn no_auth() -> Response {
    http_error(401, "Insufficient credentials")
}

fn error(e: V2AuthError) -> Response {
    match e {
        V2AuthError::Auth { status, message } => http_error(status, &message),
        V2AuthError::Store(e) => super::keys::error_response(&e),
        other => {
            tracing::warn!(target: "etcdserver", error = %other, "unexpected v2 auth error");
            http_error(500, "Internal Server Error")
        }
    }
}

/// Go's `http.Error` for a method outside `allowed`.
fn method_not_allowed(allowed: &str) -> Response {
    let mut r = Response::new(Body::from("Method Not Allowed\n"));
    *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    let h = r.headers_mut();
    h.insert("allow", HeaderValue::from_str(allowed).expect("ascii"));
    h.insert(
        "content-type",
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn allowed(method: &Method, allowed: &str) -> Result<(), Response> {
    match allowed.split(',').any(|m| m == method.as_str()) {
        true => Ok(()),
        false => Err(method_not_allowed(allowed)),
    }
}

/// `status` with one JSON value and a newline.
fn encoded(status: StatusCode, json: String) -> Response {
    let mut r = Response::new(Body::from(json + "\n"));
    *r.status_mut() = status;
    with_json(r)
}

fn empty_ok() -> Response {
    with_json(Response::new(Body::empty()))
}

/// Adds the headers etcd sets once access is granted.
fn finish(s: &EtcdServer, out: Result<Response, V2AuthError>) -> Response {
    let mut r = out.unwrap_or_else(error);
    if let Ok(v) = HeaderValue::from_str(&format!("{:x}", s.cluster_id())) {
        r.headers_mut().insert("x-etcd-cluster-id", v);
    }
    with_json(r)
}

/// Whether the caller may do `method` on `raw_path` (a `/v2/keys` URL
/// path); checked after the request parsed, as etcd does.
pub(crate) async fn may_access_key(
    s: &Arc<EtcdServer>,
    caller: &Caller,
    raw_path: &str,
    recursive: bool,
    method: &Method,
) -> bool {
    let path = unescape(raw_path, false).unwrap_or_else(|| raw_path.to_string());
    let key = path.strip_prefix("/v2/keys").unwrap_or(&path);
    let write = !matches!(*method, Method::GET | Method::HEAD);
    V2AuthStore::new(s)
        .has_key_access(&caller.0, key, recursive, write)
        .await
}

/// Middleware for every v2 route: v2 requests carry no v3 credentials (an
/// `Authorization: Basic` header is v2 auth, not a v3 token), so the
/// server's own v3 checks see a client without a user, as etcd's v2
/// handlers, whose contexts hold no gRPC metadata, do.
pub(crate) async fn without_v3_credentials(req: Request, next: axum::middleware::Next) -> Response {
    etcd_server::Credentials::default()
        .scope(next.run(req))
        .await
}

/// The 401 of a key request (a v2 error, index 0).
pub(crate) fn key_no_auth() -> Response {
    super::keys::error_response(&V2Error::new(UNAUTHORIZED, "Insufficient credentials", 0))
}

/// Whether a `/v2/members` change may go on (etcd's `hasWriteRootAccess`
/// for `POST`, `PUT` and `DELETE`; member reads are not checked).
pub(crate) async fn may_change_members(s: &Arc<EtcdServer>, caller: &Caller) -> bool {
    V2AuthStore::new(s).has_root_access(&caller.0).await
}

/// `GET` (anyone), `PUT` (enable) and `DELETE` (disable) `/v2/auth/enable`.
pub(crate) async fn enable(
    State(s): State<Arc<EtcdServer>>,
    caller: Caller,
    method: Method,
) -> Response {
    if let Err(r) = allowed(&method, "GET,PUT,DELETE") {
        return r;
    }
    let store = V2AuthStore::new(&s);
    if !store
        .has_write_root_access(method.as_str(), &caller.0)
        .await
    {
        return no_auth();
    }
    let enabled = store.auth_enabled().await;
    let out = match method {
        Method::GET => Ok(encoded(
            StatusCode::OK,
            format!("{{\"enabled\":{enabled}}}"),
        )),
        Method::PUT => store.enable_auth().await.map(|_| empty_ok()),
        _ => store.disable_auth().await.map(|_| empty_ok()),
    };
    finish(&s, out)
}

/// The name in `/v2/auth/<kind>/<name>`: `Ok(None)` for the collection,
/// `Err` for a deeper path.
fn name_in(uri_path: &str) -> Result<Option<String>, Response> {
    let path = unescape(uri_path, false).unwrap_or_else(|| uri_path.to_string());
    let sub = etcd_v2store::store::clean_path(path.strip_prefix("/v2/auth").unwrap_or(&path));
    let pieces: Vec<&str> = sub.split('/').collect();
    match pieces.len() {
        2 => Ok(None),
        3 => Ok(Some(pieces[2].to_string())),
        _ => Err(http_error(400, "Invalid path")),
    }
}

async fn body_json(req: Request) -> Option<serde_json::Value> {
    let body = axum::body::to_bytes(req.into_body(), AUTH_BODY_BYTES_MAX)
        .await
        .ok()?;
    first_value(&body).ok()
}

fn invalid_json() -> V2AuthError {
    bad_request("Invalid JSON in request body.")
}

fn bad_request(message: &str) -> V2AuthError {
    // Not an `auth:` error, but written the same way.
    V2AuthError::Auth {
        status: 400,
        message: message.into(),
    }
}

/// A user with its roles spelled out (`roles` left out when none).
#[derive(serde::Serialize)]
struct UserWithRoles {
    user: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    roles: Vec<Role>,
}

/// What `/v2/auth/users[/<name>]` and `/v2/auth/roles[/<name>]` check
/// first, in etcd's order: the path, the method (a collection is GET
/// only), then root access. Gives the name (none for the collection).
async fn admit<'s>(
    s: &'s Arc<EtcdServer>,
    caller: &Caller,
    path: &str,
    method: &Method,
) -> Result<(Option<String>, Method, V2AuthStore<'s>), Response> {
    let name = name_in(path)?;
    allowed(
        method,
        if name.is_some() {
            "GET,PUT,DELETE"
        } else {
            "GET"
        },
    )?;
    let store = V2AuthStore::new(s);
    if !store.has_root_access(&caller.0).await {
        return Err(no_auth());
    }
    Ok((name, method.clone(), store))
}

/// `/v2/auth/users` and `/v2/auth/users/<name>`.
pub(crate) async fn users(
    State(s): State<Arc<EtcdServer>>,
    caller: Caller,
    req: Request,
) -> Response {
    let (name, method, store) = match admit(&s, &caller, req.uri().path(), req.method()).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let out = match (name, method) {
        (None, _) => list_users(&store).await,
        (Some(n), Method::GET) => get_user(&store, &n).await,
        (Some(n), Method::PUT) => put_user(&store, &n, req).await,
        (Some(n), _) => store.delete_user(&n).await.map(|_| empty_ok()),
    };
    finish(&s, out)
}

async fn list_users(store: &V2AuthStore<'_>) -> Result<Response, V2AuthError> {
    let mut users = Vec::new();
    for name in store.all_users().await? {
        let u = store.get_user(&name).await?;
        let mut roles = Vec::new();
        for r in u.roles.iter().flatten() {
            // A role that is gone is left out of listings.
            if let Ok(role) = store.get_role(r).await {
                roles.push(role);
            }
        }
        users.push(UserWithRoles {
            user: u.user,
            roles,
        });
    }
    #[derive(serde::Serialize)]
    struct Users {
        users: Option<Vec<UserWithRoles>>,
    }
    let users = Users {
        users: (!users.is_empty()).then_some(users),
    };
    Ok(encoded(StatusCode::OK, go_json(&users)))
}

async fn get_user(store: &V2AuthStore<'_>, name: &str) -> Result<Response, V2AuthError> {
    let u = store.get_user(name).await?;
    let mut roles = Vec::new();
    for r in u.roles.iter().flatten() {
        roles.push(store.get_role(r).await?);
    }
    Ok(encoded(
        StatusCode::OK,
        go_json(&UserWithRoles {
            user: u.user,
            roles,
        }),
    ))
}

async fn put_user(
    store: &V2AuthStore<'_>,
    name: &str,
    req: Request,
) -> Result<Response, V2AuthError> {
    let v = body_json(req).await.ok_or_else(invalid_json)?;
    let u = User::from_json(&v).map_err(|_| invalid_json())?;
    if u.user != name {
        return Err(bad_request(
            "User JSON name does not match the name in the URL",
        ));
    }
    let (mut out, created) = if !u.has_grant_or_revoke() {
        if u.has_roles() {
            (store.create_user(u).await?, false)
        } else {
            store.create_or_update_user(u).await?
        }
    } else {
        if u.has_roles() {
            return Err(bad_request(
                "User JSON contains both roles and grant/revoke",
            ));
        }
        (store.update_user(u).await?, false)
    };
    out.password.clear();
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(encoded(status, go_json(&out)))
}

/// `/v2/auth/roles` and `/v2/auth/roles/<name>`.
pub(crate) async fn roles(
    State(s): State<Arc<EtcdServer>>,
    caller: Caller,
    req: Request,
) -> Response {
    let (name, method, store) = match admit(&s, &caller, req.uri().path(), req.method()).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let out = match (name, method) {
        (None, _) => list_roles(&store).await,
        (Some(n), Method::GET) => {
            let role = store.get_role(&n).await;
            role.map(|r| encoded(StatusCode::OK, go_json(&r)))
        }
        (Some(n), Method::PUT) => put_role(&store, &n, req).await,
        (Some(n), _) => store.delete_role(&n).await.map(|_| empty_ok()),
    };
    finish(&s, out)
}

async fn list_roles(store: &V2AuthStore<'_>) -> Result<Response, V2AuthError> {
    let mut roles = Vec::new();
    for name in store.all_roles().await? {
        roles.push(store.get_role(&name).await?);
    }
    #[derive(serde::Serialize)]
    struct Roles {
        roles: Vec<Role>,
    }
    Ok(encoded(StatusCode::OK, go_json(&Roles { roles })))
}

async fn put_role(
    store: &V2AuthStore<'_>,
    name: &str,
    req: Request,
) -> Result<Response, V2AuthError> {
    let v = body_json(req).await.ok_or_else(invalid_json)?;
    let role = Role::from_json(&v).map_err(|_| invalid_json())?;
    if role.role != name {
        return Err(bad_request(
            "Role JSON name does not match the name in the URL",
        ));
    }
    if Permissions::is_empty(role.grant.as_ref()) && Permissions::is_empty(role.revoke.as_ref()) {
        store.create_role(&role).await?;
        return Ok(encoded(StatusCode::CREATED, go_json(&role)));
    }
    if !Permissions::is_empty(Some(&role.permissions)) {
        return Err(bad_request(
            "Role JSON contains both permissions and grant/revoke",
        ));
    }
    let out = store.update_role(&role).await?;
    Ok(encoded(StatusCode::OK, go_json(&out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_parses_like_go() {
        assert_eq!(
            basic_auth("Basic cm9vdDpwdw=="),
            Some(("root".into(), "pw".into()))
        );
        assert_eq!(
            basic_auth("bAsIc cm9vdDpwdw=="),
            Some(("root".into(), "pw".into()))
        );
        // "a:b:c": the password keeps its colons.
        assert_eq!(
            basic_auth("Basic YTpiOmM="),
            Some(("a".into(), "b:c".into()))
        );
        assert_eq!(basic_auth("Basic cm9vdA=="), None, "no colon");
        assert_eq!(basic_auth("Bearer x"), None);
        assert_eq!(basic_auth("Basic !!"), None);
        assert_eq!(basic_auth(""), None);
    }

    #[test]
    fn paths_name_a_record_or_the_collection() {
        assert!(matches!(name_in("/v2/auth/users"), Ok(None)));
        assert!(matches!(name_in("/v2/auth/users/"), Ok(None)));
        assert_eq!(
            name_in("/v2/auth/users/a/").ok().flatten().as_deref(),
            Some("a")
        );
        assert_eq!(
            name_in("/v2/auth/roles/a%20b").ok().flatten().as_deref(),
            Some("a b")
        );
        assert!(name_in("/v2/auth/users/a/b").is_err());
    }
}
