//! The transaction dependency graph of an Elle-style check (Adya's
//! direct serialization graph plus real-time order), its strongly
//! connected components, and the smallest cycle of each anomaly class.
//!
//! Contract:
//! - Nodes are transactions known to have committed; an edge `a -> b`
//!   says `a` must be ordered before `b` in any serial order: `ww` (b
//!   overwrote a's version), `wr` (b read a's version), `rw` (a read a
//!   version b overwrote), `rt` (a completed before b was invoked; only
//!   strict serializability needs these). No self edges.
//! - The history is serializable iff the graph without `rt` edges is
//!   acyclic, strictly serializable iff the whole graph is (Adya 1999,
//!   §3; Elle, Kingsbury & Alvaro 2020, §4). Every cycle found is a real
//!   anomaly, provided the edges are.
//! - Real-time edges are added in a transitively reduced form (only from
//!   the "frontier" of latest completions, whose intervals pairwise
//!   overlap), so their number stays linear in the history times the
//!   concurrency; reachability, hence every cycle, is unchanged, though a
//!   cycle may take an extra `rt` hop.
//! - Cycle search is bounded by [`CYCLE_SEARCH_STEPS_MAX`] edge visits per
//!   component; when the bound is hit the cycles reported are still real,
//!   only perhaps not the smallest.

use std::collections::{BTreeMap, HashMap, VecDeque};

/// Upper bound on edge visits spent searching cycles in one component.
pub const CYCLE_SEARCH_STEPS_MAX: usize = 2_000_000;

/// Why one transaction precedes another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EdgeKind {
    /// Write-write: the target appended after the source on some key.
    Ww,
    /// Write-read: the target read the source's append.
    Wr,
    /// Read-write (anti-dependency): the source read a version the target
    /// then extended.
    Rw,
    /// Real time: the source completed before the target was invoked.
    Rt,
}

impl EdgeKind {
    const ALL: [EdgeKind; 4] = [EdgeKind::Ww, EdgeKind::Wr, EdgeKind::Rt, EdgeKind::Rw];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Short name: `ww`, `wr`, `rw`, `rt`.
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Ww => "ww",
            EdgeKind::Wr => "wr",
            EdgeKind::Rw => "rw",
            EdgeKind::Rt => "rt",
        }
    }
}

/// Every reason for one edge, with the key that witnesses each
/// (`u32::MAX`: none, for `rt`).
#[derive(Clone, Copy, Debug)]
struct Edge {
    kinds: u8,
    keys: [u32; 4],
}

/// The class of a cycle, by its edges (Adya's phenomena; `realtime` when
/// it needs an `rt` edge, so it breaks only strict serializability).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CycleClass {
    /// 0 `rw` edges and only `ww`: G0; 0 with a `wr`: G1c; 1: G-single; more: G2.
    pub rw_edges: usize,
    /// Whether every edge is `ww` (or `rt`).
    pub only_ww: bool,
    /// Whether it has an `rt` edge.
    pub realtime: bool,
}

impl CycleClass {
    /// Elle's name for the class: `G0`, `G1c`, `G-single`, `G2`, each with
    /// `-realtime` appended when it needs an `rt` edge.
    pub fn name(&self) -> &'static str {
        match (self.rw_edges, self.only_ww, self.realtime) {
            (0, true, false) => "G0",
            (0, false, false) => "G1c",
            (1, _, false) => "G-single",
            (_, _, false) => "G2",
            (0, true, true) => "G0-realtime",
            (0, false, true) => "G1c-realtime",
            (1, _, true) => "G-single-realtime",
            (_, _, true) => "G2-realtime",
        }
    }
}

/// One cycle: `nodes[i] -> nodes[i + 1]` (wrapping) through `hops[i]`,
/// each hop with its witnessing key index, if any.
#[derive(Clone, Debug)]
pub struct Cycle {
    /// Graph nodes in cycle order.
    pub nodes: Vec<usize>,
    /// The edge taken out of each node.
    pub hops: Vec<(EdgeKind, Option<u32>)>,
}

impl Cycle {
    /// The cycle's class.
    pub fn class(&self) -> CycleClass {
        let count = |k| self.hops.iter().filter(|h| h.0 == k).count();
        CycleClass {
            rw_edges: count(EdgeKind::Rw),
            only_ww: self
                .hops
                .iter()
                .all(|h| matches!(h.0, EdgeKind::Ww | EdgeKind::Rt)),
            realtime: count(EdgeKind::Rt) > 0,
        }
    }
}

/// A directed graph over `0..n` with labelled edges.
#[derive(Debug, Default)]
pub struct Graph {
    adj: Vec<BTreeMap<usize, Edge>>,
}

/// The searches tried in each component, most severe first: the edge kinds
/// a path may use, and whether the cycle closes through exactly one `rw`.
const SEARCHES: [(&[EdgeKind], bool); 8] = [
    (&[EdgeKind::Ww], false),
    (&[EdgeKind::Ww, EdgeKind::Wr], false),
    (&[EdgeKind::Ww, EdgeKind::Wr], true),
    (&[EdgeKind::Ww, EdgeKind::Wr, EdgeKind::Rw], false),
    (&[EdgeKind::Ww, EdgeKind::Rt], false),
    (&[EdgeKind::Ww, EdgeKind::Wr, EdgeKind::Rt], false),
    (&[EdgeKind::Ww, EdgeKind::Wr, EdgeKind::Rt], true),
    (
        &[EdgeKind::Ww, EdgeKind::Wr, EdgeKind::Rw, EdgeKind::Rt],
        false,
    ),
];

fn mask(kinds: &[EdgeKind]) -> u8 {
    kinds.iter().fold(0, |m, k| m | k.bit())
}

impl Graph {
    /// A graph of `n` nodes and no edges.
    pub fn new(n: usize) -> Graph {
        Graph {
            adj: vec![BTreeMap::new(); n],
        }
    }

    /// Adds `a -> b` for `kind` (ignored when `a == b`); the first key
    /// given for a kind stays its witness.
    pub fn add(&mut self, a: usize, b: usize, kind: EdgeKind, key: Option<u32>) {
        if a == b {
            return;
        }
        let e = self.adj[a].entry(b).or_insert(Edge {
            kinds: 0,
            keys: [u32::MAX; 4],
        });
        if e.kinds & kind.bit() == 0 {
            e.kinds |= kind.bit();
            e.keys[kind as usize] = key.unwrap_or(u32::MAX);
        }
    }

    /// Number of edges (node pairs).
    pub fn edges(&self) -> usize {
        self.adj.iter().map(BTreeMap::len).sum()
    }

    /// Adds `rt` edges from `(node, invoke_ns, complete_ns)` spans (None:
    /// never completed, so it precedes nothing), transitively reduced.
    pub fn add_realtime(&mut self, spans: &[(usize, u64, Option<u64>)]) {
        // (time, 0 = invocation / 1 = completion, span): invocations sort
        // first at equal times, as `a` precedes `b` only if strictly earlier.
        let mut events: Vec<(u64, u8, usize)> = Vec::with_capacity(spans.len() * 2);
        for (i, s) in spans.iter().enumerate() {
            events.push((s.1, 0, i));
            if let Some(c) = s.2 {
                events.push((c, 1, i));
            }
        }
        events.sort_unstable();
        let mut frontier: Vec<usize> = Vec::new();
        for (t, what, i) in events {
            let (node, invoke_ns, _) = spans[i];
            if what == 0 {
                for &f in &frontier {
                    self.add(spans[f].0, node, EdgeKind::Rt, None);
                }
            } else {
                // Whatever completed before this op began now reaches later
                // ops through it.
                frontier.retain(|&f| spans[f].2.is_some_and(|c| c >= invoke_ns));
                assert!(invoke_ns <= t, "a span completes before it begins");
                frontier.push(i);
            }
        }
    }

    /// Strongly connected components with more than one node (there are no
    /// self edges), by Tarjan's algorithm without recursion.
    pub fn cyclic_components(&self) -> Vec<Vec<usize>> {
        let n = self.adj.len();
        let succ: Vec<Vec<usize>> = self
            .adj
            .iter()
            .map(|m| m.keys().copied().collect())
            .collect();
        let mut index = vec![usize::MAX; n];
        let mut low = vec![0usize; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut next = 0usize;
        let mut out = Vec::new();
        for root in 0..n {
            if index[root] != usize::MAX {
                continue;
            }
            let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
            index[root] = next;
            low[root] = next;
            next += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some(top) = calls.len().checked_sub(1) {
                let (v, i) = calls[top];
                if let Some(&w) = succ[v].get(i) {
                    calls[top].1 += 1;
                    if index[w] == usize::MAX {
                        index[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        calls.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(u, _)) = calls.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    loop {
                        let w = stack.pop().expect("tarjan stack holds the component");
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if comp.len() > 1 {
                        comp.sort_unstable();
                        out.push(comp);
                    }
                }
            }
        }
        out
    }

    /// The smallest cycle of each class found in component `comp`, most
    /// severe class first, one per class.
    pub fn cycles_in(&self, comp: &[usize]) -> Vec<Cycle> {
        let inside: HashMap<usize, ()> = comp.iter().map(|&v| (v, ())).collect();
        let mut budget = CYCLE_SEARCH_STEPS_MAX;
        let mut found: Vec<Cycle> = Vec::new();
        for (kinds, one_rw) in SEARCHES {
            let allowed = mask(kinds);
            let cycle = if one_rw {
                self.single_rw_cycle(comp, &inside, allowed, &mut budget)
            } else {
                self.shortest_cycle(comp, &inside, allowed, &mut budget)
            };
            if let Some(c) = cycle {
                if !found.iter().any(|f| f.class().name() == c.class().name()) {
                    found.push(c);
                }
            }
        }
        if found.is_empty() {
            // The budget ran out: any cycle will do (one search always finds one).
            let mut unbounded = usize::MAX;
            let all = mask(&EdgeKind::ALL);
            let path = self
                .shortest_path(comp[0], comp[0], &inside, all, &mut unbounded)
                .expect("a strongly connected component has a cycle through each node");
            found.push(self.label(path, all, None));
        }
        found
    }

    /// The shortest cycle using only `allowed` edges.
    fn shortest_cycle(
        &self,
        comp: &[usize],
        inside: &HashMap<usize, ()>,
        allowed: u8,
        budget: &mut usize,
    ) -> Option<Cycle> {
        let mut best: Option<Vec<usize>> = None;
        for &s in comp {
            if *budget == 0 || best.as_ref().is_some_and(|b| b.len() == 2) {
                break;
            }
            if let Some(p) = self.shortest_path(s, s, inside, allowed, budget) {
                if best.as_ref().is_none_or(|b| p.len() < b.len()) {
                    best = Some(p);
                }
            }
        }
        best.map(|p| self.label(p, allowed, None))
    }

    /// The shortest cycle with exactly one `rw` edge, the rest `allowed`.
    fn single_rw_cycle(
        &self,
        comp: &[usize],
        inside: &HashMap<usize, ()>,
        allowed: u8,
        budget: &mut usize,
    ) -> Option<Cycle> {
        let mut best: Option<Vec<usize>> = None;
        'outer: for &v in comp {
            for (&w, e) in &self.adj[v] {
                if *budget == 0 || best.as_ref().is_some_and(|b| b.len() == 2) {
                    break 'outer;
                }
                // An rw edge that is also an allowed kind closes a cycle of
                // a milder class, found by an earlier search.
                if e.kinds & EdgeKind::Rw.bit() == 0
                    || e.kinds & allowed != 0
                    || !inside.contains_key(&w)
                {
                    continue;
                }
                // v -rw-> w, then back from w to v.
                if let Some(back) = self.shortest_path(w, v, inside, allowed, budget) {
                    let mut p = vec![v];
                    p.extend(&back[..back.len() - 1]);
                    if best.as_ref().is_none_or(|b| p.len() < b.len()) {
                        best = Some(p);
                    }
                }
            }
        }
        best.map(|p| self.label(p, allowed, Some(0)))
    }

    /// BFS from `from` to `to` over `allowed` edges inside the component:
    /// the path's nodes from `from` up to and including `to` (for
    /// `from == to`, a cycle: the nodes without the repeated end).
    fn shortest_path(
        &self,
        from: usize,
        to: usize,
        inside: &HashMap<usize, ()>,
        allowed: u8,
        budget: &mut usize,
    ) -> Option<Vec<usize>> {
        let mut parent: HashMap<usize, usize> = HashMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(v) = queue.pop_front() {
            for (&w, e) in &self.adj[v] {
                if *budget == 0 {
                    return None;
                }
                *budget -= 1;
                if e.kinds & allowed == 0 || !inside.contains_key(&w) {
                    continue;
                }
                if w == to {
                    let mut path = vec![v];
                    let mut cur = v;
                    while cur != from {
                        cur = parent[&cur];
                        path.push(cur);
                    }
                    path.reverse();
                    if from != to {
                        path.push(to);
                    }
                    return Some(path);
                }
                if w != from && !parent.contains_key(&w) {
                    parent.insert(w, v);
                    queue.push_back(w);
                }
            }
        }
        None
    }

    /// Names each hop of the cycle through `nodes`: hop `rw_hop` is `rw`,
    /// the others the least severe allowed kind the edge has.
    fn label(&self, nodes: Vec<usize>, allowed: u8, rw_hop: Option<usize>) -> Cycle {
        let hops = (0..nodes.len())
            .map(|i| {
                let e = &self.adj[nodes[i]][&nodes[(i + 1) % nodes.len()]];
                let kind = if rw_hop == Some(i) {
                    EdgeKind::Rw
                } else {
                    *EdgeKind::ALL
                        .iter()
                        .find(|k| e.kinds & allowed & k.bit() != 0)
                        .expect("the search used an allowed edge")
                };
                let key = e.keys[kind as usize];
                (kind, (key != u32::MAX).then_some(key))
            })
            .collect();
        Cycle { nodes, hops }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_and_smallest_cycles() {
        // 0 -ww-> 1 -wr-> 2 -rw-> 0, plus a shortcut 1 -ww-> 0; 3 is alone.
        let mut g = Graph::new(4);
        g.add(0, 1, EdgeKind::Ww, Some(0));
        g.add(1, 2, EdgeKind::Wr, Some(0));
        g.add(2, 0, EdgeKind::Rw, Some(1));
        g.add(1, 0, EdgeKind::Ww, Some(1));
        g.add(2, 3, EdgeKind::Ww, Some(1));
        assert_eq!(g.cyclic_components(), vec![vec![0, 1, 2]]);
        let cycles = g.cycles_in(&[0, 1, 2]);
        assert_eq!(cycles[0].nodes.len(), 2, "G0 through the shortcut first");
        assert_eq!(cycles[0].class().rw_edges, 0);
        assert!(cycles[0].class().only_ww);
        assert!(cycles.iter().any(|c| c.class().rw_edges == 1));
    }

    #[test]
    fn an_rw_edge_that_is_also_ww_is_not_called_g_single() {
        let mut g = Graph::new(2);
        g.add(0, 1, EdgeKind::Ww, Some(0));
        g.add(0, 1, EdgeKind::Rw, Some(0));
        g.add(1, 0, EdgeKind::Wr, Some(1));
        let names: Vec<&str> = g
            .cycles_in(&[0, 1])
            .iter()
            .map(|c| c.class().name())
            .collect();
        assert_eq!(names, vec!["G1c"]);
    }

    #[test]
    fn realtime_edges_are_reduced_but_keep_reachability() {
        // a [0,10], b [20,30], c [40,50] in sequence; d [5, never].
        let mut g = Graph::new(4);
        g.add_realtime(&[
            (0, 0, Some(10)),
            (1, 20, Some(30)),
            (2, 40, Some(50)),
            (3, 5, None),
        ]);
        assert!(g.adj[0].contains_key(&1) && g.adj[1].contains_key(&2));
        assert!(!g.adj[0].contains_key(&2), "implied through b");
        assert!(
            g.adj[3].is_empty(),
            "an op that never completed precedes nothing"
        );
        assert_eq!(g.edges(), 2);
        // Completion and invocation at the same instant are not ordered.
        let mut g = Graph::new(2);
        g.add_realtime(&[(0, 0, Some(10)), (1, 10, Some(20))]);
        assert_eq!(g.edges(), 0);
    }
}
