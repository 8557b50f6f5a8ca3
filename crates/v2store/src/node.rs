//! A node of the tree: a key with a value, or a directory with children.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::NodeExtern;

/// A key or a directory.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Node {
    pub path: String,
    pub created_index: u64,
    pub modified_index: u64,
    /// Unix ns; `None`: permanent.
    pub expire_ns: Option<i64>,
    pub value: String,
    /// `Some` for a directory.
    pub children: Option<BTreeMap<String, Node>>,
}

impl Node {
    pub fn new_kv(path: &str, value: &str, index: u64, expire_ns: Option<i64>) -> Node {
        Node {
            path: path.into(),
            created_index: index,
            modified_index: index,
            expire_ns,
            value: value.into(),
            children: None,
        }
    }

    pub fn new_dir(path: &str, index: u64, expire_ns: Option<i64>) -> Node {
        Node {
            path: path.into(),
            created_index: index,
            modified_index: index,
            expire_ns,
            value: String::new(),
            children: Some(BTreeMap::new()),
        }
    }

    pub fn is_dir(&self) -> bool {
        self.children.is_some()
    }

    pub fn is_hidden(&self) -> bool {
        self.path
            .rsplit('/')
            .next()
            .is_some_and(|n| n.starts_with('_'))
    }

    /// The node as a client sees it; a directory lists its visible children
    /// (all levels when `recursive`), sorted by key when `sorted` (always, here:
    /// the children are kept in key order).
    pub fn repr(&self, recursive: bool) -> NodeExtern {
        let mut n = NodeExtern {
            key: self.path.clone(),
            dir: self.is_dir(),
            expiration_ns: self.expire_ns,
            modified_index: self.modified_index,
            created_index: self.created_index,
            ..Default::default()
        };
        match &self.children {
            Some(children) if recursive => n.nodes = visible(children, true),
            Some(_) => {}
            None => n.value = Some(self.value.clone()),
        }
        n
    }

    /// `repr` of a directory listing its direct children (a `get`).
    pub fn listing(&self, recursive: bool) -> NodeExtern {
        let mut n = self.repr(false);
        if let Some(children) = &self.children {
            n.nodes = visible(children, recursive);
        }
        n
    }

    /// Paths of this node and everything below it, children first.
    pub fn paths_bottom_up(&self, out: &mut Vec<String>) {
        if let Some(children) = &self.children {
            for c in children.values() {
                c.paths_bottom_up(out);
            }
        }
        out.push(self.path.clone());
    }

    /// Every node with a TTL at or below this one: (expiration, path).
    pub fn ttl_nodes(&self, out: &mut Vec<(i64, String)>) {
        if let Some(e) = self.expire_ns {
            out.push((e, self.path.clone()));
        }
        if let Some(children) = &self.children {
            for c in children.values() {
                c.ttl_nodes(out);
            }
        }
    }
}

fn visible(children: &BTreeMap<String, Node>, recursive: bool) -> Vec<NodeExtern> {
    children
        .values()
        .filter(|c| !c.is_hidden())
        .map(|c| c.repr(recursive))
        .collect()
}
