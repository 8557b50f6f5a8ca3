//! `--listen-metrics-urls`: extra listeners that serve only `/metrics` and
//! `/health` (HTTP/1.1 and HTTP/2 on one port, like the client listeners);
//! every other path is Go's 404, as etcd's metrics mux answers.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::routing::get;
use etcd_server::EtcdServer;

/// The routes of a metrics listener.
pub fn metrics_router(server: Arc<EtcdServer>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", get(crate::http::metrics))
        .route("/health", get(crate::http::health))
        .fallback(|| async { crate::plain_error(StatusCode::NOT_FOUND, "404 page not found\n") })
        .with_state(server)
}

/// Serves `/metrics` and `/health` on `listener` until the process ends.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    server: Arc<EtcdServer>,
) -> std::io::Result<()> {
    crate::metrics::init();
    let router = metrics_router(server);
    loop {
        let (io, _addr) = listener.accept().await?;
        tokio::spawn(crate::serve_connection(io, router.clone()));
    }
}
