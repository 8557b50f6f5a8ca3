//! The v2 HTTP API (served with `--enable-v2`): `/v2/keys`, `/v2/stats/*`,
//! `/v2/members` and `/v2/auth`, with etcd 3.4's headers, status codes and JSON.

mod auth;
mod form;
mod keys;
mod members;
mod stats;

use std::sync::Arc;

use axum::routing::{any, get, post};
use etcd_server::EtcdServer;

/// The v2 routes.
pub(crate) fn routes() -> axum::Router<Arc<EtcdServer>> {
    stats::mark_start();
    axum::Router::new()
        .route("/v2/keys", any(keys::handle))
        .route("/v2/keys/", any(keys::handle))
        .route("/v2/keys/{*path}", any(keys::handle))
        .route("/v2/auth/enable", any(auth::enable))
        .route("/v2/auth/users", any(auth::users))
        .route("/v2/auth/users/", any(auth::users))
        .route("/v2/auth/users/{*rest}", any(auth::users))
        .route("/v2/auth/roles", any(auth::roles))
        .route("/v2/auth/roles/", any(auth::roles))
        .route("/v2/auth/roles/{*rest}", any(auth::roles))
        .route("/v2/stats/store", get(stats::store))
        .route("/v2/stats/self", get(stats::self_stats))
        .route("/v2/stats/leader", get(stats::leader))
        .route("/v2/members", get(members::list).merge(post(members::add)))
        .route(
            "/v2/members/{id}",
            get(members::get_one)
                .delete(members::remove)
                .put(members::update),
        )
        .layer(axum::middleware::from_fn(auth::without_v3_credentials))
}
