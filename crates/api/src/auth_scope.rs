//! Carries each client request's credentials to the server's auth checks.
//!
//! [`layer`] wraps every request on a client listener: it reads the token
//! from the gRPC metadata `token` (or `authorization`, which the JSON
//! gateway and Swagger clients send), and a certificate common name the TLS
//! layer verified, and runs the request inside [`Credentials::scope`].
//!
//! The CN: the TLS acceptor puts the subject CN of the client certificate
//! into each request of the connection as a [`crate::tls::PeerCn`]
//! extension; it only asks for (and verifies) client certificates with
//! `--client-cert-auth`. Like etcd 3.4, the CN names the user only for gRPC
//! calls (content type `application/grpc*`) and only when no token is given
//! (the server decides the latter); JSON gateway and v2 requests never use
//! it (etcd's gateway reaches gRPC through its own client connection, so
//! the caller's certificate never gets there). [`VerifiedCn`] is the same
//! thing for callers that build requests by hand (tests). Server code
//! called from the handler then knows who is asking; work spawned for a
//! stream takes the credentials along explicitly.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use etcd_proto::etcdserverpb::{WatchCreateRequest, WatchResponse};
use etcd_server::{Credentials, EtcdServer};

/// The metadata key etcd's clients put the token under.
const TOKEN_METADATA: &str = "token";
/// The header the gateway (and Swagger) put the token under.
const AUTHORIZATION_METADATA: &str = "authorization";

/// A client certificate's common name, verified by the TLS layer; the TLS
/// acceptor inserts it into each request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCn(pub String);

/// The credentials a request carries.
pub fn credentials(req: &Request) -> Credentials {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    Credentials {
        token: header(TOKEN_METADATA).or_else(|| header(AUTHORIZATION_METADATA)),
        verified_cn: verified_cn(req),
    }
}

/// The certificate CN a gRPC request may run as (see the module docs).
fn verified_cn(req: &Request) -> Option<String> {
    let grpc = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"));
    if !grpc {
        return None;
    }
    let ext = req.extensions();
    ext.get::<crate::tls::PeerCn>()
        .map(|c| c.0.clone())
        .or_else(|| ext.get::<VerifiedCn>().map(|c| c.0.clone()))
}

/// Middleware: serves the request inside its credentials' scope.
pub async fn layer(req: Request, next: Next) -> Response {
    credentials(&req).scope(next.run(req)).await
}

/// For a watch create request: the canceled response etcd sends when the
/// caller may not read the watched range, or `None` when it may.
pub(crate) async fn watch_denied(
    server: &EtcdServer,
    creds: Option<&Credentials>,
    req: &WatchCreateRequest,
) -> Option<WatchResponse> {
    let err = server.check_watch(creds, &req.key, &req.range_end).await.err()?;
    Some(WatchResponse {
        header: Some(server.header(0)),
        watch_id: -1,
        created: true,
        canceled: true,
        // etcd puts the gRPC status's Go error text here.
        cancel_reason: format!("rpc error: code = {:?} desc = {}", err.code(), err.message()),
        ..Default::default()
    })
}
