//! What the Raft thread reports back to the server: read states, leader
//! changes, outgoing messages, fatal storage errors.

use std::collections::HashMap;
use std::sync::Arc;

use etcd_raft_node::raft::eraftpb::{Message, MessageType};
use etcd_raft_node::raft::{ReadState, StateRole};
use etcd_raft_node::{NodeError, NodeEvents};
use parking_lot::Mutex;
use tokio::sync::oneshot;

pub(crate) struct ServerEvents {
    pub(crate) member_id: u64,
    pub(crate) transport: Arc<etcd_transport::Transport>,
    pub(crate) read_answers: Arc<Mutex<HashMap<u64, oneshot::Sender<u64>>>>,
    pub(crate) leader_tx: tokio::sync::watch::Sender<u64>,
    /// When the current leader was elected (etcd's `leadElectedTime`).
    pub(crate) lead_elected: Arc<Mutex<Option<std::time::Instant>>>,
    /// Late leader heartbeats, for etcd's warning and counter.
    pub(crate) heartbeats: crate::warnings::HeartbeatWatch,
}

impl NodeEvents for ServerEvents {
    fn send(&mut self, msgs: Vec<Message>) {
        let now = std::time::Instant::now();
        for m in msgs.iter().filter(|m| m.get_msg_type() == MessageType::MsgHeartbeat) {
            self.heartbeats.sent(m.to, now);
        }
        self.transport.send(msgs);
    }

    fn read_states(&mut self, states: Vec<ReadState>) {
        let mut answers = self.read_answers.lock();
        for rs in states {
            // Context: member id, then the read round (see read_index.rs).
            let Ok(ctx) = <[u8; 16]>::try_from(rs.request_ctx.as_slice()) else { continue };
            let round = u64::from_be_bytes(ctx[8..].try_into().expect("8 bytes"));
            if let Some(tx) = answers.remove(&round) {
                let _ = tx.send(rs.index);
            }
        }
    }

    fn role_changed(&mut self, leader: u64, role: StateRole, term: u64) {
        if leader != 0 && *self.leader_tx.borrow() != leader {
            *self.lead_elected.lock() = Some(std::time::Instant::now());
            crate::metrics::metrics().leader_changes.inc();
            self.heartbeats.reset();
            tracing::info!(target: "raft", "raft.node: {:x} elected leader {:x} at term {}",
                self.member_id, leader, term);
        } else if leader == 0 && *self.leader_tx.borrow() != 0 {
            tracing::info!(target: "raft", "raft.node: {:x} lost leader {:x} at term {}",
                self.member_id, *self.leader_tx.borrow(), term);
        }
        let _ = role;
        self.leader_tx.send_replace(leader);
    }

    fn fatal(&mut self, err: NodeError) {
        crate::apply::fatal(&format!("raft storage failed: {err}"));
    }
}
