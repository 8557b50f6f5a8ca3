//! What a store operation produced: an action on a node, with the node
//! before it (`prevNode`) and the store index after it.

use serde::{Deserialize, Serialize};

/// etcd's v2 actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// A read.
    Get,
    /// Created, failing if it existed.
    Create,
    /// Created or replaced.
    Set,
    /// Changed, failing if it did not exist.
    Update,
    /// Deleted.
    Delete,
    /// Changed after a successful comparison.
    CompareAndSwap,
    /// Deleted after a successful comparison.
    CompareAndDelete,
    /// Removed because its TTL ran out.
    Expire,
}

impl Action {
    /// The action's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Get => "get",
            Action::Create => "create",
            Action::Set => "set",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::CompareAndSwap => "compareAndSwap",
            Action::CompareAndDelete => "compareAndDelete",
            Action::Expire => "expire",
        }
    }
}

/// A node as a client sees it. Times are Unix nanoseconds; the remaining
/// `ttl` is computed when it is rendered.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeExtern {
    /// Full path in the store.
    pub key: String,
    /// The value of a key; `None` for a directory.
    pub value: Option<String>,
    /// True for a directory.
    pub dir: bool,
    /// When it expires (Unix ns), if it has a TTL.
    pub expiration_ns: Option<i64>,
    /// Children of a listed directory.
    pub nodes: Vec<NodeExtern>,
    /// Index of its last change.
    pub modified_index: u64,
    /// Index of its creation.
    pub created_index: u64,
}

/// One store event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What happened.
    pub action: Action,
    /// The node after it.
    pub node: NodeExtern,
    /// The node before it, for writes that replaced or removed one.
    pub prev_node: Option<NodeExtern>,
    /// The store index when the event was produced (`X-Etcd-Index`).
    pub etcd_index: u64,
    /// A TTL refresh: kept in history, never sent to watchers.
    pub refresh: bool,
}

impl Event {
    pub(crate) fn new(action: Action, key: &str, modified_index: u64, created_index: u64) -> Event {
        Event {
            action,
            node: NodeExtern {
                key: key.to_string(),
                modified_index,
                created_index,
                ..Default::default()
            },
            prev_node: None,
            etcd_index: 0,
            refresh: false,
        }
    }

    /// The index the event happened at (its node's `modifiedIndex`).
    pub fn index(&self) -> u64 {
        self.node.modified_index
    }

    /// True when the event created its node (HTTP 201).
    pub fn is_created(&self) -> bool {
        self.action == Action::Create || (self.action == Action::Set && self.prev_node.is_none())
    }
}
