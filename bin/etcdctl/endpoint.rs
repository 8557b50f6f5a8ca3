//! `endpoint health|status|hashkv [--cluster]`: one client per endpoint,
//! results printed together, failures reported the way etcdctl does.

use std::time::Instant;

use etcd_client::Error;

use crate::cli::Parsed;
use crate::exit::{exit, fail, EXIT_ERROR};
use crate::global::{connect, connect_to, endpoints, globals, Globals};
use crate::printer::EpHealth;

/// The endpoints to visit: `--endpoints`, or with `--cluster` the client
/// URLs of all members.
pub async fn endpoints_from_cluster(p: &Parsed, g: &Globals) -> Vec<String> {
    if !p.bool("cluster") {
        return endpoints(p);
    }
    let mut no_auth = g.clone();
    no_auth.credentials = None;
    let c = connect(&no_auth)
        .await
        .unwrap_or_else(|e| fail(EXIT_ERROR, &e.to_string()));
    let members = c.member_list().await.unwrap_or_else(|e| {
        fail(
            EXIT_ERROR,
            &format!("failed to fetch endpoints from etcd cluster member list: {e}"),
        )
    });
    members
        .members
        .into_iter()
        .flat_map(|m| m.client_ur_ls)
        .collect()
}

async fn probe(g: Globals, ep: String) -> EpHealth {
    let c = match connect_to(&g, vec![ep.clone()]).await {
        Ok(c) => c,
        Err(e) => {
            return EpHealth {
                ep,
                health: false,
                took: String::new(),
                error: e.to_string(),
            }
        }
    };
    let start = Instant::now();
    let res = c.get("health").await;
    let took = etcd_gotext::format_duration(start.elapsed());
    let error = match res {
        Ok(_) => String::new(),
        Err(Error::Status(s)) if s.message() == "etcdserver: permission denied" => String::new(),
        Err(e) => e.to_string(),
    };
    EpHealth {
        ep,
        health: error.is_empty(),
        took,
        error,
    }
}

/// `endpoint health`.
pub async fn health(p: &mut Parsed) {
    let g = globals(p);
    let eps = endpoints_from_cluster(p, &g).await;
    let mut set = tokio::task::JoinSet::new();
    for ep in eps {
        set.spawn(probe(g.clone(), ep));
    }
    let mut list = Vec::new();
    while let Some(Ok(h)) = set.join_next().await {
        list.push(h);
    }
    g.printer().endpoint_health(&list);
    if list.iter().any(|h| !h.error.is_empty()) {
        fail(EXIT_ERROR, "unhealthy cluster");
    }
}

/// `endpoint status`.
pub async fn status(p: &mut Parsed) {
    let g = globals(p);
    let eps = endpoints_from_cluster(p, &g).await;
    let mut list = Vec::new();
    let mut failed = false;
    for ep in eps {
        let res = match connect_to(&g, vec![ep.clone()]).await {
            Ok(c) => c.status().await,
            Err(e) => Err(e),
        };
        match res {
            Ok(r) => list.push((ep, r)),
            Err(e) => {
                failed = true;
                eprintln!("Failed to get the status of endpoint {ep} ({e})");
            }
        }
    }
    g.printer().endpoint_status(&list);
    if failed {
        exit(EXIT_ERROR);
    }
}

/// `endpoint hashkv [--rev]`.
pub async fn hashkv(p: &mut Parsed) {
    let g = globals(p);
    let rev = p.int("rev");
    let eps = endpoints_from_cluster(p, &g).await;
    let mut list = Vec::new();
    let mut last_err = None;
    for ep in eps {
        let res = match connect_to(&g, vec![ep.clone()]).await {
            Ok(c) => c.hash_kv(rev).await,
            Err(e) => Err(e),
        };
        match res {
            Ok(r) => list.push((ep, r)),
            Err(e) => {
                eprintln!("Failed to get the hash of endpoint {ep} ({e})");
                last_err = Some(e.to_string());
            }
        }
    }
    g.printer().endpoint_hashkv(&list);
    if let Some(e) = last_err {
        fail(EXIT_ERROR, &e);
    }
}
