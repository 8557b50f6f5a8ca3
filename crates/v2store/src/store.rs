//! The v2 store: the tree, its index, the event history and the watchers.
//!
//! Every operation is etcd 3.4's (`v2store/store.go`) step for step, because
//! clients depend on the exact index each write takes and on the exact
//! error (code, cause, index) of each failure. One writer at a time: the
//! caller serialises access (the applier holds the lock).

use serde::{Deserialize, Serialize};

use crate::error::*;
use crate::event::{Action, Event};
use crate::history::EventHistory;
use crate::node::Node;
use crate::stats::{Op, Stats};
use crate::watcher::{Watcher, WatcherHub};

/// Expirations before 2000-01-01 mean "no TTL" (etcd's `minExpireTime`).
const MIN_EXPIRE_NS: i64 = 946_684_800 * 1_000_000_000;

/// TTL settings of a write.
#[derive(Clone, Copy, Debug, Default)]
pub struct TtlOptions {
    /// When the node expires, Unix ns; `None` (or before 2000) clears the TTL.
    pub expire_ns: Option<i64>,
    /// Only refresh the TTL: keep the value, record no watch event.
    pub refresh: bool,
}

/// The v2 store.
pub struct Store {
    root: Node,
    index: u64,
    history: EventHistory,
    hub: WatcherHub,
    stats: Stats,
    /// `(expiry, path)` of every node given a TTL, earliest first. Entries
    /// go stale when their node is deleted or its TTL changes; they are
    /// dropped when met (a live entry's node still has exactly that expiry),
    /// so the leader's SYNC check costs O(stale entries), not a tree scan.
    ttl_index: std::collections::BTreeSet<(i64, String)>,
}

#[derive(Serialize, Deserialize)]
struct Saved {
    root: Node,
    index: u64,
    history: EventHistory,
}

/// `path.Clean(path.Join("/", p))`: every key the store handles is this form.
pub use etcd_gotext::clean_rooted_path as clean_path;

fn split(p: &str) -> (&str, &str) {
    match p.rfind('/') {
        Some(i) => (&p[..=i], &p[i + 1..]),
        None => ("", p),
    }
}

fn join(dir: &str, name: &str) -> String {
    clean_path(&format!("{dir}/{name}"))
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Store {
    /// An empty store with the `/0` and `/1` namespaces.
    pub fn new() -> Store {
        let mut root = Node::new_dir("/", 0, None);
        for ns in [crate::CLUSTER_PREFIX, crate::KEYS_PREFIX] {
            root.children
                .as_mut()
                .expect("dir")
                .insert(ns[1..].to_string(), Node::new_dir(ns, 0, None));
        }
        Store {
            root,
            index: 0,
            history: EventHistory::default(),
            hub: WatcherHub::default(),
            stats: Stats::default(),
            ttl_index: Default::default(),
        }
    }

    /// The current store index.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The counters for `/v2/stats/store`.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.watchers = self.hub.count() as u64;
        s
    }

    /// The node at `p` without counting a read: `None` when there is none,
    /// `Some(None)` for a directory, `Some(Some(value))` for a key. For
    /// bookkeeping that etcd does not do through `Get` (stats stay etcd's).
    pub fn peek(&self, p: &str) -> Option<Option<&str>> {
        let n = self.lookup(&clean_path(p)).ok()?;
        Some(if n.is_dir() { None } else { Some(n.value.as_str()) })
    }

    /// The names of the children of directory `p` (none for a key or a
    /// missing node), without counting a read.
    pub fn child_names(&self, p: &str) -> Vec<String> {
        match self.lookup(&clean_path(p)) {
            Ok(Node { children: Some(c), .. }) => c.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// True when some node has a TTL (the leader then proposes `SYNC`).
    /// Drops the stale index entries it meets on the way.
    pub fn has_ttl_keys(&mut self) -> bool {
        while let Some((t, p)) = self.ttl_index.first().cloned() {
            if self.ttl_live(t, &p) {
                return true;
            }
            self.ttl_index.pop_first();
        }
        false
    }

    /// Whether the index entry `(t, p)` still describes a node.
    fn ttl_live(&self, t: i64, p: &str) -> bool {
        self.lookup(p).is_ok_and(|n| n.expire_ns == Some(t))
    }

    /// Records that the node at `p` now expires at `expire_ns`.
    fn track_ttl(&mut self, p: &str, expire_ns: Option<i64>) {
        if let Some(t) = expire_ns {
            self.ttl_index.insert((t, p.to_string()));
        }
    }

    fn read_only(p: &str) -> bool {
        p == "/" || p == crate::CLUSTER_PREFIX || p == crate::KEYS_PREFIX
    }

    fn lookup(&self, p: &str) -> Result<&Node, V2Error> {
        let mut cur = &self.root;
        for name in p.split('/').filter(|s| !s.is_empty()) {
            let Some(children) = &cur.children else {
                return Err(V2Error::new(NOT_DIR, cur.path.clone(), self.index));
            };
            cur = children
                .get(name)
                .ok_or_else(|| V2Error::new(KEY_NOT_FOUND, join(&cur.path, name), self.index))?;
        }
        Ok(cur)
    }

    fn lookup_mut(&mut self, p: &str) -> Option<&mut Node> {
        let mut cur = &mut self.root;
        for name in p.split('/').filter(|s| !s.is_empty()) {
            cur = cur.children.as_mut()?.get_mut(name)?;
        }
        Some(cur)
    }

    /// Removes the node at `p` from its parent and returns it.
    fn detach(&mut self, p: &str) -> Option<Node> {
        let (dir, name) = split(p);
        self.lookup_mut(dir)?.children.as_mut()?.remove(name)
    }

    /// A read of a key or a directory (one level, or all when `recursive`).
    pub fn get(&mut self, p: &str, recursive: bool, _sorted: bool) -> Result<Event, V2Error> {
        let p = clean_path(p);
        let r = self.lookup(&p).map(|n| {
            let mut e = Event::new(Action::Get, &p, n.modified_index, n.created_index);
            let mut listed = n.listing(recursive);
            listed.key = p.clone();
            e.node = listed;
            e
        });
        self.stats.record(Op::Get, r.as_ref().err().map(|e| e.code));
        r.map(|mut e| {
            e.etcd_index = self.index;
            e
        })
    }

    /// Creates a key or directory; `unique` appends an in-order name
    /// (`%020d` of the next index) under `p`.
    pub fn create(
        &mut self,
        p: &str,
        dir: bool,
        value: &str,
        unique: bool,
        ttl: TtlOptions,
    ) -> Result<Event, V2Error> {
        let r = self.internal_create(p, dir, value, unique, false, ttl.expire_ns, Action::Create);
        self.stats.record(Op::Create, r.as_ref().err().map(|e| e.code));
        r.map(|mut e| {
            e.etcd_index = self.index;
            self.notify(&e);
            e
        })
    }

    /// Creates or replaces a key (or creates a directory).
    pub fn set(
        &mut self,
        p: &str,
        dir: bool,
        value: &str,
        ttl: TtlOptions,
    ) -> Result<Event, V2Error> {
        let r = self.set_inner(p, dir, value, ttl);
        self.stats.record(Op::Set, r.as_ref().err().map(|e| e.code));
        r
    }

    fn set_inner(
        &mut self,
        p: &str,
        dir: bool,
        value: &str,
        ttl: TtlOptions,
    ) -> Result<Event, V2Error> {
        let existing = match self.lookup(&clean_path(p)) {
            Ok(n) => Some(n.clone()),
            Err(e) if e.code == KEY_NOT_FOUND => {
                if ttl.refresh {
                    return Err(e);
                }
                None
            }
            Err(e) => return Err(e),
        };
        let value = match (&existing, ttl.refresh) {
            (Some(n), true) => n.value.clone(),
            _ => value.to_string(),
        };
        let mut e =
            self.internal_create(p, dir, &value, false, true, ttl.expire_ns, Action::Set)?;
        e.etcd_index = self.index;
        if let Some(n) = existing {
            e.prev_node = Some(n.repr(false));
        }
        self.finish_write(&mut e, ttl.refresh);
        Ok(e)
    }

    fn finish_write(&mut self, e: &mut Event, refresh: bool) {
        if refresh {
            e.refresh = true;
            self.history.add(e.clone());
        } else {
            self.notify(e);
        }
    }

    fn compare_fail(n: &Node, prev_value: &str, prev_index: u64) -> Option<String> {
        let index_ok = prev_index == 0 || n.modified_index == prev_index;
        let value_ok = prev_value.is_empty() || n.value == prev_value;
        match (value_ok, index_ok) {
            (true, true) => None,
            (false, true) => Some(format!("[{} != {}]", prev_value, n.value)),
            (true, false) => Some(format!("[{} != {}]", prev_index, n.modified_index)),
            (false, false) => Some(format!(
                "[{} != {}] [{} != {}]",
                prev_value, n.value, prev_index, n.modified_index
            )),
        }
    }

    /// Replaces a key's value if it matches `prev_value` / `prev_index`.
    pub fn compare_and_swap(
        &mut self,
        p: &str,
        prev_value: &str,
        prev_index: u64,
        value: &str,
        ttl: TtlOptions,
    ) -> Result<Event, V2Error> {
        let r = self.cas_inner(p, prev_value, prev_index, value, ttl);
        self.stats.record(Op::CompareAndSwap, r.as_ref().err().map(|e| e.code));
        r
    }

    fn cas_inner(
        &mut self,
        p: &str,
        prev_value: &str,
        prev_index: u64,
        value: &str,
        ttl: TtlOptions,
    ) -> Result<Event, V2Error> {
        let p = clean_path(p);
        if Self::read_only(&p) {
            return Err(V2Error::new(ROOT_READ_ONLY, "/", self.index));
        }
        let n = self.lookup(&p)?;
        if n.is_dir() {
            return Err(V2Error::new(NOT_FILE, p, self.index));
        }
        if let Some(cause) = Self::compare_fail(n, prev_value, prev_index) {
            return Err(V2Error::new(TEST_FAILED, cause, self.index));
        }
        let value = if ttl.refresh {
            n.value.clone()
        } else {
            value.to_string()
        };
        let index = self.index + 1;
        let mut e = Event::new(Action::CompareAndSwap, &p, index, n.created_index);
        e.etcd_index = index;
        e.prev_node = Some(n.repr(false));
        self.index = index;
        let n = self.lookup_mut(&p).expect("node exists");
        n.value = value.clone();
        n.modified_index = index;
        n.expire_ns = ttl.expire_ns.filter(|t| *t >= MIN_EXPIRE_NS);
        e.node.value = Some(value);
        e.node.expiration_ns = n.expire_ns;
        self.track_ttl(&p, e.node.expiration_ns);
        self.finish_write(&mut e, ttl.refresh);
        Ok(e)
    }

    /// Changes an existing key's value (or a directory's TTL).
    pub fn update(&mut self, p: &str, value: &str, ttl: TtlOptions) -> Result<Event, V2Error> {
        let r = self.update_inner(p, value, ttl);
        self.stats.record(Op::Update, r.as_ref().err().map(|e| e.code));
        r
    }

    fn update_inner(&mut self, p: &str, value: &str, ttl: TtlOptions) -> Result<Event, V2Error> {
        let p = clean_path(p);
        if Self::read_only(&p) {
            return Err(V2Error::new(ROOT_READ_ONLY, "/", self.index));
        }
        let next = self.index + 1;
        let n = self.lookup(&p)?;
        if n.is_dir() && !value.is_empty() {
            return Err(V2Error::new(NOT_FILE, p, self.index));
        }
        let value = if ttl.refresh {
            n.value.clone()
        } else {
            value.to_string()
        };
        let mut e = Event::new(Action::Update, &p, next, n.created_index);
        e.etcd_index = next;
        e.prev_node = Some(n.repr(false));
        let n = self.lookup_mut(&p).expect("node exists");
        if n.is_dir() {
            // etcd leaves a directory's modifiedIndex unchanged here.
            e.node.dir = true;
        } else {
            n.value = value.clone();
            n.modified_index = next;
            e.node.value = Some(value);
        }
        n.expire_ns = ttl.expire_ns.filter(|t| *t >= MIN_EXPIRE_NS);
        e.node.expiration_ns = n.expire_ns;
        self.track_ttl(&p, e.node.expiration_ns);
        self.finish_write(&mut e, ttl.refresh);
        self.index = next;
        Ok(e)
    }

    #[allow(clippy::too_many_arguments)]
    fn internal_create(
        &mut self,
        p: &str,
        dir: bool,
        value: &str,
        unique: bool,
        replace: bool,
        expire_ns: Option<i64>,
        action: Action,
    ) -> Result<Event, V2Error> {
        let cur = self.index;
        let next = cur + 1;
        let p = if unique {
            clean_path(&format!("{p}/{next:020}"))
        } else {
            clean_path(p)
        };
        if Self::read_only(&p) {
            return Err(V2Error::new(ROOT_READ_ONLY, "/", cur));
        }
        let expire_ns = expire_ns.filter(|t| *t >= MIN_EXPIRE_NS);
        let (dir_name, name) = split(&p);
        // Walk to the parent, creating missing directories on the way.
        let mut parent = &mut self.root;
        for comp in dir_name.split('/').filter(|s| !s.is_empty()) {
            let ppath = parent.path.clone();
            let children = parent
                .children
                .as_mut()
                .expect("walk only enters directories");
            let child = children
                .entry(comp.to_string())
                .or_insert_with(|| Node::new_dir(&join(&ppath, comp), next, None));
            if !child.is_dir() {
                return Err(V2Error::new(NOT_DIR, child.path.clone(), cur));
            }
            parent = child;
        }
        let children = parent.children.as_mut().expect("parent is a directory");
        let mut e = Event::new(action, &p, next, next);
        if let Some(old) = children.get(name) {
            if !replace {
                return Err(V2Error::new(NODE_EXIST, p, cur));
            }
            if old.is_dir() {
                return Err(V2Error::new(NOT_FILE, p, cur));
            }
            e.prev_node = Some(old.repr(false));
        }
        let node = if dir {
            e.node.dir = true;
            Node::new_dir(&p, next, expire_ns)
        } else {
            e.node.value = Some(value.to_string());
            Node::new_kv(&p, value, next, expire_ns)
        };
        e.node.expiration_ns = expire_ns;
        children.insert(name.to_string(), node);
        self.index = next;
        self.track_ttl(&p, expire_ns);
        Ok(e)
    }

    /// Deletes a key, or a directory with `dir` (empty) or `recursive`.
    pub fn delete(&mut self, p: &str, dir: bool, recursive: bool) -> Result<Event, V2Error> {
        let r = self.delete_inner(p, dir, recursive);
        self.stats.record(Op::Delete, r.as_ref().err().map(|e| e.code));
        r
    }

    fn delete_inner(&mut self, p: &str, dir: bool, recursive: bool) -> Result<Event, V2Error> {
        let p = clean_path(p);
        if Self::read_only(&p) {
            return Err(V2Error::new(ROOT_READ_ONLY, "/", self.index));
        }
        let dir = dir || recursive;
        let n = self.lookup(&p)?;
        let next = self.index + 1;
        let mut e = Event::new(Action::Delete, &p, next, n.created_index);
        e.etcd_index = next;
        e.prev_node = Some(n.repr(false));
        if let Some(children) = &n.children {
            e.node.dir = true;
            if !dir {
                return Err(V2Error::new(NOT_FILE, p, self.index));
            }
            if !children.is_empty() && !recursive {
                return Err(V2Error::new(DIR_NOT_EMPTY, p, self.index));
            }
        }
        self.remove_notifying(&p, &e);
        self.index = next;
        self.notify(&e);
        Ok(e)
    }

    /// Detaches `p` and wakes the watchers of everything removed.
    fn remove_notifying(&mut self, p: &str, e: &Event) {
        let node = self.detach(p).expect("node exists");
        let mut paths = Vec::new();
        node.paths_bottom_up(&mut paths);
        for path in paths {
            self.hub.notify_path(e, &path, true);
        }
    }

    /// Deletes a key if it matches `prev_value` / `prev_index`.
    pub fn compare_and_delete(
        &mut self,
        p: &str,
        prev_value: &str,
        prev_index: u64,
    ) -> Result<Event, V2Error> {
        let r = self.cad_inner(p, prev_value, prev_index);
        self.stats.record(Op::CompareAndDelete, r.as_ref().err().map(|e| e.code));
        r
    }

    fn cad_inner(&mut self, p: &str, prev_value: &str, prev_index: u64) -> Result<Event, V2Error> {
        let p = clean_path(p);
        let n = self.lookup(&p)?;
        if n.is_dir() {
            return Err(V2Error::new(NOT_FILE, p, self.index));
        }
        if let Some(cause) = Self::compare_fail(n, prev_value, prev_index) {
            return Err(V2Error::new(TEST_FAILED, cause, self.index));
        }
        let next = self.index + 1;
        let mut e = Event::new(Action::CompareAndDelete, &p, next, n.created_index);
        e.etcd_index = next;
        e.prev_node = Some(n.repr(false));
        self.index = next;
        self.remove_notifying(&p, &e);
        self.notify(&e);
        Ok(e)
    }

    /// Expires every node whose expiration is at or before `cutoff_ns`
    /// (the leader's time in a `SYNC` request), earliest first, each at its
    /// own index. Returns the expire events.
    pub fn delete_expired(&mut self, cutoff_ns: i64) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some((t, p)) = self.ttl_index.first().cloned() {
            if t > cutoff_ns {
                break;
            }
            self.ttl_index.pop_first();
            let Ok(n) = self.lookup(&p) else { continue };
            if n.expire_ns != Some(t) {
                continue;
            }
            let index = self.index + 1;
            let mut e = Event::new(Action::Expire, &p, index, n.created_index);
            e.etcd_index = index;
            e.prev_node = Some(n.repr(false));
            e.node.dir = n.is_dir();
            self.index = index;
            self.remove_notifying(&p, &e);
            self.stats.expire_count += 1;
            self.notify(&e);
            events.push(e);
        }
        events
    }

    fn notify(&mut self, e: &Event) {
        self.history.add(e.clone());
        self.hub.notify(e);
    }

    /// Starts a watch on `p`; `since_index` 0 means the next index. An event
    /// already in history is delivered at once; errorCode 401 when
    /// `since_index` fell out of the history.
    pub fn watch(
        &self,
        p: &str,
        recursive: bool,
        stream: bool,
        since_index: u64,
    ) -> Result<Watcher, V2Error> {
        let p = clean_path(p);
        let since = if since_index == 0 {
            self.index + 1
        } else {
            since_index
        };
        match self.history.scan(&p, recursive, since) {
            Err(mut e) => {
                e.index = self.index;
                Err(e)
            }
            Ok(Some(mut ev)) => {
                ev.etcd_index = self.index;
                Ok(WatcherHub::ready(ev, self.index))
            }
            Ok(None) => Ok(self.hub.register(&p, recursive, stream, since, self.index)),
        }
    }

    /// The tree, index and history as JSON, for Raft snapshots.
    pub fn save(&self) -> serde_json::Value {
        serde_json::to_value(Saved {
            root: self.root.clone(),
            index: self.index,
            history: self.history.clone(),
        })
        .expect("store serialises")
    }

    /// Replaces the tree, index and history with a saved state; watchers
    /// stay registered (etcd keeps its watcher hub across a recovery).
    pub fn recover(&mut self, saved: &serde_json::Value) -> Result<(), serde_json::Error> {
        let s: Saved = serde_json::from_value(saved.clone())?;
        self.root = s.root;
        self.index = s.index;
        self.history = s.history;
        let mut ttl = Vec::new();
        self.root.ttl_nodes(&mut ttl);
        self.ttl_index = ttl.into_iter().collect();
        Ok(())
    }
}
