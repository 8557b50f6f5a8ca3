//! The v2 API on the server: requests go through Raft (writes and quorum
//! reads) or are served from the local v2 store (reads and watches); the
//! leader proposes `SYNC` with its clock every [`V2_SYNC_INTERVAL`] while
//! keys with a TTL exist, so every member expires them at the same index.

use std::sync::Arc;
use std::time::Duration;

use etcd_proto::etcdserverpb::{InternalRaftRequest, Request};
use etcd_proto::EtcdError;
use etcd_v2store::{Event, V2Error, Watcher};

use crate::apply::ApplyResponse;
use crate::EtcdServer;

/// How often the leader proposes `SYNC` (etcd 3.4: 500 ms).
pub const V2_SYNC_INTERVAL: Duration = Duration::from_millis(500);

/// What a v2 request produced.
pub enum V2Response {
    /// An event (reads and writes).
    Event(Event),
    /// A watch (`wait=true`).
    Watcher(Watcher),
}

/// Why a v2 request failed.
#[derive(Debug)]
pub enum V2Failure {
    /// The store refused it (errorCode etc.).
    Store(V2Error),
    /// Raft did not answer in time, or the server stops.
    Server(EtcdError),
}

/// Unix time in ns from the system clock.
pub fn now_unix_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

impl EtcdServer {
    /// The v2 store (the applier writes it; reads lock it briefly).
    pub fn v2_store(&self) -> &Arc<parking_lot::Mutex<etcd_v2store::Store>> {
        &self.v2
    }

    /// The committed Raft index (`X-Raft-Index`).
    pub fn committed_index(&self) -> u64 {
        self.node
            .status()
            .commit
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// etcd's `Do`: `GET` (local, or a watch with `wait`), `GET` with
    /// `quorum` (through Raft as `QGET`), `PUT`/`POST`/`DELETE` through Raft.
    pub async fn v2_do(&self, mut r: Request) -> Result<V2Response, V2Failure> {
        if r.method() == "GET" && r.quorum() {
            r.method = Some("QGET".into());
        }
        match r.method() {
            "GET" | "HEAD" => {
                let mut st = self.v2.lock();
                if r.wait() {
                    st.watch(r.path(), r.recursive(), r.stream(), r.since())
                        .map(V2Response::Watcher)
                } else {
                    st.get(r.path(), r.recursive(), r.sorted())
                        .map(V2Response::Event)
                }
                .map_err(V2Failure::Store)
            }
            "PUT" | "POST" | "DELETE" | "QGET" => {
                r.id = Some(self.ids.next());
                match self
                    .propose(InternalRaftRequest {
                        v2: Some(r),
                        ..Default::default()
                    })
                    .await
                {
                    Ok(ApplyResponse::V2(Ok(ev))) => Ok(V2Response::Event(ev)),
                    Ok(ApplyResponse::V2(Err(e))) => Err(V2Failure::Store(e)),
                    Ok(_) => Err(V2Failure::Server(EtcdError::Stopped)),
                    Err(e) => Err(V2Failure::Server(e)),
                }
            }
            _ => Err(V2Failure::Server(EtcdError::Stopped)),
        }
    }
}

/// Starts the leader's `SYNC` loop; it ends when the server is dropped.
pub(crate) fn spawn_sync(server: &Arc<EtcdServer>) {
    let weak = Arc::downgrade(server);
    // At most one SYNC in flight: a slow Raft must not pile them up.
    let in_flight = Arc::new(tokio::sync::Semaphore::new(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(V2_SYNC_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(s) = weak.upgrade() else { return };
            if !s.is_leader() || !s.v2.lock().has_ttl_keys() {
                continue;
            }
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                continue;
            };
            let req = Request {
                method: Some("SYNC".into()),
                time: Some(now_unix_ns()),
                ..Default::default()
            };
            let s2 = s.clone();
            drop(s);
            // Not awaited in the loop: a slow proposal must not stall the ticks.
            tokio::spawn(async move {
                let _ = s2
                    .propose(InternalRaftRequest {
                        v2: Some(req),
                        ..Default::default()
                    })
                    .await;
                drop(permit);
            });
        }
    });
}
