//! A concurrency session (etcd's `concurrency.Session`): a lease kept alive
//! in the background, used by `lock` and `elect`; plus waiting for
//! SIGINT/SIGTERM.

use etcd_client::{Client, KeepAlive};

use crate::exit::{fail, EXIT_ERROR};

/// A granted lease and its keep-alive.
pub struct Session {
    /// The lease id.
    pub lease: i64,
    keep_alive: KeepAlive,
}

impl Session {
    /// Grants a lease of `ttl_secs` and starts keeping it alive.
    pub async fn new(c: &Client, ttl_secs: i64) -> Session {
        let g = c
            .lease_grant(ttl_secs, 0)
            .await
            .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
        let keep_alive = c
            .lease_keep_alive(g.id)
            .await
            .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
        Session {
            lease: g.id,
            keep_alive,
        }
    }

    /// Resolves when the lease can no longer be kept alive.
    pub async fn done(&mut self) {
        loop {
            match self.keep_alive.next().await {
                Ok(Some(r)) if r.ttl > 0 => continue,
                _ => return,
            }
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
pub async fn signalled() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt()).expect("install SIGINT handler");
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
}
