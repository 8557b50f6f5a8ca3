//! `benchmark lease-keepalive`: every client grants one lease (TTL 100 s)
//! and keeps a LeaseKeepAlive stream open; `--total` keep-alive round trips
//! (send one request, wait for its response) are shared among the clients.
//! etcd's tool opens a new stream per keep-alive; one stream per client keeps
//! the measurement on the keep-alive itself.

use std::sync::Arc;

use etcd_proto::etcdserverpb::lease_client::LeaseClient;
use etcd_proto::etcdserverpb::{LeaseGrantRequest, LeaseKeepAliveRequest, LeaseKeepAliveResponse};
use tokio::sync::{mpsc, Mutex};
use tonic::Streaming;

use crate::{conn, runner, Ctx, Outcome};

/// TTL of the leases the clients keep alive.
const LEASE_TTL_SECS: i64 = 100;

/// Flags of `lease-keepalive`.
#[derive(clap::Args)]
pub struct Args {
    /// Total number of lease keepalive requests
    #[arg(long, default_value_t = 10000)]
    total: u64,
}

struct KeepAlive {
    id: i64,
    tx: mpsc::Sender<LeaseKeepAliveRequest>,
    rx: Streaming<LeaseKeepAliveResponse>,
}

/// Runs the keep-alive benchmark and prints etcd's report.
pub async fn run(ctx: &Ctx, a: Args) -> anyhow::Result<Outcome> {
    let mut streams = Vec::with_capacity(ctx.clients);
    for c in 0..ctx.clients {
        let mut lease = LeaseClient::new(ctx.channel(c));
        let id = lease
            .lease_grant(LeaseGrantRequest {
                ttl: LEASE_TTL_SECS,
                id: 0,
            })
            .await
            .map_err(|s| anyhow::anyhow!(conn::grpc_error(&s)))?
            .into_inner()
            .id;
        // etcd sends the stream's headers only with its first response, so
        // one unmeasured keep-alive opens the stream.
        let (tx, rx) = mpsc::channel(1);
        tx.send(LeaseKeepAliveRequest { id }).await?;
        let mut rx = lease
            .lease_keep_alive(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .map_err(|s| anyhow::anyhow!(conn::grpc_error(&s)))?
            .into_inner();
        rx.message()
            .await
            .map_err(|s| anyhow::anyhow!(conn::grpc_error(&s)))?;
        streams.push(Arc::new(Mutex::new(KeepAlive { id, tx, rx })));
    }
    // Client `c` is the only user of stream `c`, so the lock never waits.
    let streams = Arc::new(streams);
    let report = runner::run_by_client(ctx, "lease-keepalive", a.total, 0, move |_, c, _| {
        let streams = streams.clone();
        async move {
            let ka = streams[c].clone();
            let mut ka = ka.lock().await;
            let id = ka.id;
            ka.tx
                .send(LeaseKeepAliveRequest { id })
                .await
                .map_err(|_| "keepalive stream closed".to_string())?;
            match ka.rx.message().await {
                Ok(Some(r)) if r.ttl > 0 => Ok(()),
                Ok(Some(_)) => Err("lease expired or revoked".to_string()),
                Ok(None) => Err("keepalive stream closed".to_string()),
                Err(s) => Err(conn::grpc_error(&s)),
            }
        }
    })
    .await;
    print!("{}", report.render());
    Ok(vec![report].into())
}
