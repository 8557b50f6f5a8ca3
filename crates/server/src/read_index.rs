//! Linearizable reads through Raft's ReadIndex (Raft thesis §6.4), batched:
//! every read that arrives while a round is in flight joins the next round,
//! so one ReadIndex request serves many reads. A read may only use an index
//! obtained *after* it arrived; the round loop guarantees it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use etcd_proto::EtcdError;
use etcd_raft_node::{Input, NodeHandle};
use parking_lot::Mutex;
use tokio::sync::oneshot;

type Reply = oneshot::Sender<Result<u64, EtcdError>>;

#[derive(Default)]
struct Batch {
    waiting: Vec<Reply>,
    round_running: bool,
}

/// Hands out read indexes; shared by every request handler.
pub struct ReadIndexer {
    member_id: u64,
    node: NodeHandle,
    timeout: Duration,
    batch: Mutex<Batch>,
    next_ctx: AtomicU64,
    answers: Arc<Mutex<HashMap<u64, oneshot::Sender<u64>>>>,
}

impl ReadIndexer {
    /// A reader over `node`; the Raft thread's events deliver read states
    /// into `answers` (ctx → index).
    pub fn new(
        member_id: u64,
        node: NodeHandle,
        timeout: Duration,
        answers: Arc<Mutex<HashMap<u64, oneshot::Sender<u64>>>>,
    ) -> Arc<ReadIndexer> {
        Arc::new(ReadIndexer {
            member_id,
            node,
            timeout,
            batch: Mutex::new(Batch::default()),
            next_ctx: AtomicU64::new(1),
            answers,
        })
    }

    /// Waits for a read index taken after this call began.
    pub async fn read_index(self: &Arc<Self>) -> Result<u64, EtcdError> {
        if unsafe_stale_reads() {
            // Deliberately broken (test-only): no ReadIndex, read locally.
            return Ok(0);
        }
        let (tx, rx) = oneshot::channel();
        let start_round = {
            let mut b = self.batch.lock();
            b.waiting.push(tx);
            !std::mem::replace(&mut b.round_running, true)
        };
        if start_round {
            let me = self.clone();
            tokio::spawn(async move { me.rounds().await });
        }
        rx.await.unwrap_or(Err(EtcdError::Stopped))
    }

    async fn rounds(self: Arc<Self>) {
        loop {
            let waiting = {
                let mut b = self.batch.lock();
                if b.waiting.is_empty() {
                    b.round_running = false;
                    return;
                }
                std::mem::take(&mut b.waiting)
            };
            let result = self.one_round().await;
            for w in waiting {
                let _ = w.send(result);
            }
        }
    }

    async fn one_round(&self) -> Result<u64, EtcdError> {
        let ctx = self.next_ctx.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.answers.lock().insert(ctx, tx);
        // The leader keys pending reads by context, so contexts must be
        // unique across members: this member's id, then the round counter.
        let mut rctx = self.member_id.to_be_bytes().to_vec();
        rctx.extend_from_slice(&ctx.to_be_bytes());
        if self.node.send(Input::ReadIndex(rctx)).is_err() {
            self.answers.lock().remove(&ctx);
            return Err(EtcdError::Stopped);
        }
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(index)) => Ok(index),
            Ok(Err(_)) => Err(EtcdError::Stopped),
            Err(_) => {
                self.answers.lock().remove(&ctx);
                Err(EtcdError::Timeout)
            }
        }
    }
}

/// Env knob for the robustness suite only: `ETCD_RS_UNSAFE_STALE_READS=1`
/// makes linearizable reads skip ReadIndex and serve whatever this member
/// has applied, i.e. possibly stale data. It exists to prove the suite
/// catches stale reads (tests/robustness.rs); never set it in production.
pub const UNSAFE_STALE_READS_ENV: &str = "ETCD_RS_UNSAFE_STALE_READS";

fn unsafe_stale_reads() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var(UNSAFE_STALE_READS_ENV).is_ok_and(|v| v == "1"))
}
