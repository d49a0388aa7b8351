//! Hierarchical navigable small world (HNSW) graph for approximate nearest-neighbour search.
//!
//! The graph stores only node numbers and adjacency. Every distance comes from a callback, because Selecta ranks
//! tracks by a combined similarity (a weighted mix of standardised distances over several vectors) whose vectors
//! live in the library's own tables. Such a distance may be negative and need not be a metric: only its order
//! matters here.
//!
//! Why hand-written: no crate we keep fits. `instant-distance` cannot insert after the build; `hnsw` (rust-cv)
//! needs integer metric units, stores the points inside the graph and cannot delete; `hnsw_rs` uses mmap and
//! threads; `usearch` is C++. This module has to run on wasm32 (no threads, clocks or files), insert one track at a
//! time, tombstone deleted tracks, and serialise compactly with serde.
//!
//! The algorithm follows Malkov & Yashunin, "Efficient and robust approximate nearest neighbor search using
//! Hierarchical Navigable Small World graphs" (2016): greedy descent through the upper layers, a beam search on
//! each layer the node lives on, and the neighbour-selection heuristic (algorithm 4) both for the new node's list
//! (with "keep pruned connections", so it starts full) and to shrink a neighbour's list that overflows after the
//! back-link (without, so the next back-links are cheap appends). The heuristic skips checks between links an
//! earlier selection already kept (`Pick::settled`): same result, and 1.6-2.8x fewer distance calls per build in
//! our benchmarks. Each node also remembers its distance to each of its layer-0 links, so a list that overflows
//! is selected again without measuring its old links anew (one in six of a build's distance calls before).
//!
//! Everything is deterministic: a node's level is drawn from a hash of (seed, node number), ties between equal
//! distances are broken by node number, and no hash-map iteration order is involved, so the same insertions with
//! the same distances give the same graph byte for byte, natively and on wasm32.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use serde::{Deserialize, Serialize};

/// Highest level a node can be drawn at. With m = 16 a level above 4 already needs ~10^6 nodes, so the cap only
/// bounds what a corrupt or hostile file can claim.
const MAX_LEVEL: usize = 16;

/// Largest `m` / `m0` accepted. Far above any useful value; it bounds the layer-0 table a file can make us walk.
const MAX_LINKS: usize = 1024;

/// Tuning parameters of an [`Hnsw`] graph.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HnswParams {
    /// Most links a node keeps on each layer above 0 (default 16). Also sets the level distribution
    /// (a node reaches level l with probability m^-l).
    pub m: usize,
    /// Most links a node keeps on layer 0 (default 32, the paper's 2·m).
    pub m0: usize,
    /// Beam width of the search that finds a new node's neighbours (default 100).
    pub ef_construction: usize,
    /// Seed of the level draw; the same seed and insertions give the same graph.
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        Self { m: 16, m0: 32, ef_construction: 100, seed: 0x5E1E_C7A0_0000_0001 }
    }
}

/// Structural problem found by [`Hnsw::validate`] in a graph read from an untrusted file.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum HnswError {
    /// Parameters outside the range [`Hnsw::new`] would produce.
    #[error("invalid parameters: m = {m}, m0 = {m0}, ef_construction = {ef_construction}")]
    InvalidParams {
        /// Links per node above layer 0.
        m: usize,
        /// Links per node on layer 0.
        m0: usize,
        /// Construction beam width.
        ef_construction: usize,
    },
    /// More nodes than `u32` node numbers can address.
    #[error("graph holds {len} nodes, more than u32 node numbers can address")]
    TooManyNodes {
        /// Number of nodes in the graph.
        len: usize,
    },
    /// The flat layer-0 table does not have one block of `m0 + 1` slots per node.
    #[error("layer-0 table has {actual} slots, expected {expected:?}")]
    Layer0Size {
        /// Slots the node count and `m0` call for (`None` if that overflows).
        expected: Option<usize>,
        /// Slots present.
        actual: usize,
    },
    /// The settled-prefix table does not have one entry per node.
    #[error("settled-link table has {actual} entries, expected {expected}")]
    SettledSize {
        /// Entries the node count calls for.
        expected: usize,
        /// Entries present.
        actual: usize,
    },
    /// A node claims more settled links than it has links.
    #[error("node {node} claims {settled} settled links but has {count} links")]
    SettledCount {
        /// The node.
        node: u32,
        /// Settled links claimed.
        settled: usize,
        /// Layer-0 links stored.
        count: usize,
    },
    /// A node claims a level above the cap.
    #[error("node {node} has level {level}, above the cap {max}")]
    LevelTooHigh {
        /// The node.
        node: u32,
        /// Its level.
        level: usize,
        /// The cap.
        max: usize,
    },
    /// A node has more neighbours on a layer than the parameters allow.
    #[error("node {node} has {count} neighbours on layer {layer}, more than the cap {cap}")]
    TooManyNeighbours {
        /// The node.
        node: u32,
        /// The layer.
        layer: usize,
        /// Neighbours stored.
        count: usize,
        /// Neighbours allowed.
        cap: usize,
    },
    /// A neighbour number is not a node.
    #[error("node {node} links on layer {layer} to {neighbour}, which is not a node (len {len})")]
    NeighbourOutOfRange {
        /// The node holding the link.
        node: u32,
        /// The layer.
        layer: usize,
        /// The bad neighbour number.
        neighbour: u32,
        /// Number of nodes.
        len: usize,
    },
    /// A link on a layer the neighbour does not live on.
    #[error("node {node} links on layer {layer} to {neighbour}, whose level is only {neighbour_level}")]
    NeighbourBelowLayer {
        /// The node holding the link.
        node: u32,
        /// The layer.
        layer: usize,
        /// The neighbour.
        neighbour: u32,
        /// The neighbour's level.
        neighbour_level: usize,
    },
    /// A non-empty graph without an entry point.
    #[error("entry point is missing in a graph of {len} nodes")]
    MissingEntryPoint {
        /// Number of nodes.
        len: usize,
    },
    /// An empty graph with an entry point.
    #[error("empty graph has entry point {entry}")]
    UnexpectedEntryPoint {
        /// The entry point stored.
        entry: u32,
    },
    /// The entry point is not a node.
    #[error("entry point {entry} is not a node (len {len})")]
    EntryPointOutOfRange {
        /// The entry point stored.
        entry: u32,
        /// Number of nodes.
        len: usize,
    },
    /// The entry point is not on the top level, so the descent would miss the upper layers.
    #[error("entry point {entry} has level {level} but the top level is {max_level}")]
    EntryPointNotTop {
        /// The entry point stored.
        entry: u32,
        /// Its level.
        level: usize,
        /// Highest level of any node.
        max_level: usize,
    },
    /// The tombstone bitset does not have one bit per node.
    #[error("tombstone bitset has {actual} words, expected {expected}")]
    TombstoneBitsSize {
        /// Words the node count calls for.
        expected: usize,
        /// Words present.
        actual: usize,
    },
    /// A tombstone bit is set past the last node.
    #[error("tombstone bit set for {node}, beyond the {len} nodes")]
    TombstoneBeyondLen {
        /// The bit's node number.
        node: usize,
        /// Number of nodes.
        len: usize,
    },
    /// The stored tombstone count disagrees with the bitset.
    #[error("tombstone count is {stored} but {counted} bits are set")]
    TombstoneCount {
        /// Count stored in the graph.
        stored: u32,
        /// Bits set in the bitset.
        counted: u32,
    },
}

/// HNSW graph over nodes `0..len()`, numbered by the caller in insertion order.
///
/// Deleted nodes are tombstoned: they stay in the graph as waypoints, so it stays connected, and are never
/// returned; the owner rebuilds once [`Hnsw::tombstone_share`] passes its threshold.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hnsw {
    params: HnswParams,
    /// `upper[n][l - 1]`: neighbours of node n on layer l ≥ 1. `upper[n].len()` is n's level and `upper.len()` the
    /// node count. Most nodes live on layer 0 only, so this costs one empty Vec (one byte serialised) per node.
    upper: Vec<Vec<Vec<u32>>>,
    /// Layer 0, flat: node n owns the block `[n * (m0 + 1) ..][.. m0 + 1]`, holding its neighbour count and then its
    /// neighbours. One allocation and no pointer chasing in the hot loop; unused slots are zeros, one byte each in
    /// a varint encoding such as bincode's standard one.
    links0: Vec<u32>,
    /// How many of each node's layer-0 links (a prefix of its list) were kept by the rule when the list was last
    /// selected; see [`Pick::settled`]. Serialised (one byte per node) so a graph reloaded from a file grows
    /// exactly as one that never left memory.
    settled0: Vec<u16>,
    /// Distance from each node to each of its layer-0 links, slot for slot (`[n * m0 ..][.. m0]`), NaN where not
    /// known. When a list overflows, the owner's distances to its links are needed again; remembering them saves
    /// more than half of a build's distance calls. Not serialised: a graph read from a file measures each once,
    /// when it is first needed, and the distance is symmetric, so the graph grows the same either way.
    #[serde(skip)]
    dist0: Vec<f32>,
    /// Where every search starts: a node on the top level. Tombstoned entry points stay (they are waypoints).
    entry: Option<u32>,
    /// Tombstone bit per node, 64 to a word.
    removed: Vec<u64>,
    /// Bits set in `removed`, so `live()` is O(1).
    tombstones: u32,
}

/// A node with its distance to whatever is being searched for. Ordered by distance, then node number, so every
/// heap and sort is a total, deterministic order.
#[derive(Debug, Clone, Copy)]
struct Cand {
    d: f32,
    id: u32,
}

impl Ord for Cand {
    fn cmp(&self, other: &Self) -> Ordering {
        self.d.total_cmp(&other.d).then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Cand {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Cand {}

/// Buffers of one beam search, reused across the layers of an insert so the inner loop does not allocate.
struct Scratch {
    /// Visited bit per node. A bitset allocated per search beats a hash set (no hashing, 6 KiB at 50 000 nodes,
    /// zeroed in well under a microsecond) and keeps `search` on `&self`.
    visited: Vec<u64>,
    /// Nodes still to expand, nearest first.
    cands: BinaryHeap<Reverse<Cand>>,
    /// Best acceptable nodes so far, worst on top so it can be evicted.
    results: BinaryHeap<Cand>,
}

impl Scratch {
    fn new() -> Self {
        Self { visited: Vec::new(), cands: BinaryHeap::new(), results: BinaryHeap::new() }
    }

    fn reset(&mut self, len: usize) {
        self.visited.clear();
        self.visited.resize(len.div_ceil(64), 0);
        self.cands.clear();
        self.results.clear();
    }

    /// Whether `node` was visited (true for a node outside the bitset).
    fn seen(&self, node: u32) -> bool {
        self.visited.get(node as usize / 64).is_none_or(|word| word & (1u64 << (node % 64)) != 0)
    }

    /// Marks `node` visited; true if it was not already (false too for a node outside the bitset).
    fn visit(&mut self, node: u32) -> bool {
        let Some(word) = self.visited.get_mut(node as usize / 64) else { return false };
        let bit = 1u64 << (node % 64);
        let fresh = *word & bit == 0;
        *word |= bit;
        fresh
    }
}

/// The distance callbacks may return NaN; it sorts last, as if infinitely far, instead of poisoning comparisons.
fn clean(d: f32) -> f32 {
    if d.is_nan() { f32::INFINITY } else { d }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Level of `node`: floor(-ln(u) / ln(m)) for u uniform in (0, 1], capped at [`MAX_LEVEL`].
///
/// Computed as "how many powers m^-l are ≥ u" with multiplications only, because `ln` is not guaranteed to round
/// identically on every platform, and a level that differed between native and wasm32 would break determinism.
fn draw_level(seed: u64, node: u32, m: usize) -> usize {
    let h = splitmix64(seed ^ splitmix64(u64::from(node)));
    // 53 random bits, shifted into (0, 1] so u = 0 (level infinity) cannot happen.
    let u = ((h >> 11) + 1) as f64 / (1u64 << 53) as f64;
    let p = 1.0 / m.max(2) as f64;
    let mut level = 0;
    let mut threshold = p;
    while level < MAX_LEVEL && u <= threshold {
        level += 1;
        threshold *= p;
    }
    level
}

/// A candidate for a neighbour list of some base node.
#[derive(Debug, Clone, Copy)]
struct Pick {
    /// The candidate and its distance to the base.
    c: Cand,
    /// The candidate was kept by the rule in the base's previous selection and the list has not been re-selected
    /// since. No settled candidate dominates another (each was checked against every nearer one), so the heuristic
    /// can skip checks between two settled candidates: the result is the same, minus most distance calls.
    settled: bool,
}

/// The paper's neighbour-selection heuristic (algorithm 4): walking `cands` nearest first, keep a candidate only
/// if it is closer to the base than to every neighbour kept so far, so links spread in different directions
/// instead of all pointing into one cluster. With `keep_pruned`, top up with the nearest pruned ones until `cap`.
///
/// `cands` must be sorted by `c` (ascending); `pair(a, b)` is the distance between two candidates. Leaves the
/// selection in `kept`, kept-by-rule first, each group nearest first, and returns how many were kept by the rule.
fn select_neighbours(
    cands: &[Pick],
    cap: usize,
    keep_pruned: bool,
    pair: &impl Fn(u32, u32) -> f32,
    kept: &mut Vec<Pick>,
    pruned: &mut Vec<Pick>,
) -> usize {
    kept.clear();
    pruned.clear();
    for &p in cands {
        if kept.len() >= cap {
            break;
        }
        // `kept` is nearest first, and near neighbours are the likeliest to dominate, so `any` stops early.
        if kept.iter().any(|r| !(p.settled && r.settled) && pair(p.c.id, r.c.id) < p.c.d) {
            pruned.push(p);
        } else {
            kept.push(p);
        }
    }
    let by_rule = kept.len();
    if keep_pruned {
        let room = cap.saturating_sub(by_rule);
        kept.extend(pruned.iter().take(room));
    }
    by_rule
}

impl Hnsw {
    /// An empty graph. `m` is raised to at least 2 (the level distribution needs ln m > 0), `m0` and
    /// `ef_construction` to at least 1, and `m`, `m0` capped at 1024; [`Hnsw::params`] returns the values used.
    pub fn new(params: HnswParams) -> Self {
        let params = HnswParams {
            m: params.m.clamp(2, MAX_LINKS),
            m0: params.m0.clamp(1, MAX_LINKS),
            ef_construction: params.ef_construction.max(1),
            seed: params.seed,
        };
        Self {
            params,
            upper: Vec::new(),
            links0: Vec::new(),
            settled0: Vec::new(),
            dist0: Vec::new(),
            entry: None,
            removed: Vec::new(),
            tombstones: 0,
        }
    }

    /// The parameters in force (after the adjustments [`Hnsw::new`] makes).
    pub fn params(&self) -> HnswParams {
        self.params
    }

    /// Nodes ever inserted (live + tombstoned); the next insert gets this number.
    pub fn len(&self) -> usize {
        self.upper.len()
    }

    /// True if nothing was ever inserted.
    pub fn is_empty(&self) -> bool {
        self.upper.is_empty()
    }

    /// Nodes inserted and not removed.
    pub fn live(&self) -> usize {
        self.len().saturating_sub(self.tombstones as usize)
    }

    /// Share of inserted nodes that are tombstoned, 0 for an empty graph. The owner rebuilds past a threshold,
    /// because tombstones still cost traversal time and link slots.
    pub fn tombstone_share(&self) -> f32 {
        if self.is_empty() { 0.0 } else { self.tombstones as f32 / self.len() as f32 }
    }

    /// True if `node` was removed; false for live and unknown nodes.
    pub fn is_removed(&self, node: u32) -> bool {
        self.removed.get(node as usize / 64).is_some_and(|w| w & (1u64 << (node % 64)) != 0)
    }

    /// Marks `node` deleted: it is never returned again but stays in the graph as a waypoint, so the graph stays
    /// connected, until the owner rebuilds. Returns false if the node is unknown or already removed.
    pub fn remove(&mut self, node: u32) -> bool {
        if node as usize >= self.len() {
            return false;
        }
        let Some(word) = self.removed.get_mut(node as usize / 64) else { return false };
        let bit = 1u64 << (node % 64);
        if *word & bit != 0 {
            return false;
        }
        *word |= bit;
        self.tombstones += 1;
        true
    }

    /// Inserts the next node; its number is the current [`Hnsw::len`], which is returned.
    ///
    /// `to_new(x)` is the distance from the new node to existing node x. `between(a, b)` is the distance between
    /// two existing nodes; it is used by the neighbour-selection heuristic and when a neighbour's list overflows
    /// after the back-link and has to be shrunk. It is never called with the new node's number. NaN counts as
    /// infinitely far. The distance should be symmetric, and `to_new(x)` equal to what `between(new, x)` returns
    /// once the new node exists: the heuristic's shortcuts (see `Pick::settled`) rely on it.
    ///
    /// # Panics
    ///
    /// If the graph already holds `u32::MAX` nodes, or (allocation failure) if a graph read from a file claims an
    /// absurd `m0`: run [`Hnsw::validate`] before inserting into one.
    pub fn insert(&mut self, to_new: &dyn Fn(u32) -> f32, between: &dyn Fn(u32, u32) -> f32) -> u32 {
        self.insert_prefetching(to_new, between, &|_| {})
    }

    /// [`Hnsw::insert`] that calls `prefetch(x)` for the nodes a beam search is about to measure, all of a node's
    /// neighbours before the first of them, so that the caller can ask for their vectors from memory at once (a
    /// walk over a large graph is bound by those reads, one after the other otherwise).
    pub fn insert_prefetching(
        &mut self,
        to_new: &dyn Fn(u32) -> f32,
        between: &dyn Fn(u32, u32) -> f32,
        prefetch: &dyn Fn(u32),
    ) -> u32 {
        let node = u32::try_from(self.len()).ok().filter(|&n| n < u32::MAX).expect("HNSW holds at most 2^32-1 nodes");
        let level = draw_level(self.params.seed, node, self.params.m);

        // Room for the new node first: its lists are written and its back-links pruned below.
        let block = self.params.m0.saturating_add(1);
        self.links0.resize(self.links0.len().saturating_add(block), 0);
        self.upper.push(vec![Vec::new(); level]);
        self.settled0.push(0);
        // A graph read from a file starts with no distances known.
        self.dist0.resize(self.len().saturating_mul(self.params.m0), f32::NAN);
        if self.removed.len() < self.len().div_ceil(64) {
            self.removed.push(0);
        }

        let Some(entry) = self.entry.filter(|&e| e < node) else {
            self.entry = Some(node);
            return node;
        };

        let to_new = |x: u32| clean(to_new(x));
        // `between` must never see the new node (the caller may not have stored it yet), so pairs involving it
        // are answered by `to_new`.
        let pair = |a: u32, b: u32| {
            if a == node {
                to_new(b)
            } else if b == node {
                to_new(a)
            } else {
                clean(between(a, b))
            }
        };

        let top = self.level_of(entry);
        let mut cur = Cand { d: to_new(entry), id: entry };
        for layer in (level + 1..=top).rev() {
            cur = self.greedy(layer, cur, &to_new);
        }

        let mut scratch = Scratch::new();
        let mut entries = vec![cur];
        let mut found = Vec::new();
        let mut picks = Vec::new();
        let mut chosen = Vec::new();
        let mut kept = Vec::new();
        let mut pruned = Vec::new();
        for layer in (0..=level.min(top)).rev() {
            let cap = self.cap(layer);
            self.search_layer(
                layer,
                &entries,
                self.params.ef_construction,
                &to_new,
                prefetch,
                &|_| true,
                &mut scratch,
                &mut found,
            );
            picks.clear();
            picks.extend(found.iter().map(|&c| Pick { c, settled: false }));
            // The new node's own list keeps pruned candidates, so it starts full and well connected.
            let by_rule = select_neighbours(&picks, cap, true, &pair, &mut chosen, &mut pruned);
            self.set_links(node, layer, chosen.iter().map(|p| p.c), by_rule);

            for p in &chosen {
                let e = p.c.id;
                if self.push_link(e, layer, Cand { d: p.c.d, id: node }) {
                    continue;
                }
                // Overflow: re-select among the old links plus the new node, as seen from the neighbour. Pruned
                // links are dropped here rather than kept (unlike for the new node's own list): the list then has
                // room, so the next back-links are plain appends. Keeping them leaves every list full, so this
                // selection runs on every back-link: measured 1.5-3x the distance calls of a whole build, for
                // under one point of recall@10 at the same ef.
                let settled = self.settled(e, layer);
                for &x in self.links(e, layer) {
                    prefetch(x);
                }
                picks.clear();
                picks.extend(self.links(e, layer).iter().enumerate().map(|(i, &x)| {
                    let d = self.link_distance(e, layer, i).unwrap_or_else(|| pair(e, x));
                    Pick { c: Cand { d, id: x }, settled: i < settled }
                }));
                picks.push(Pick { c: Cand { d: p.c.d, id: node }, settled: false });
                picks.sort_unstable_by_key(|p| p.c);
                let by_rule = select_neighbours(&picks, cap, false, &pair, &mut kept, &mut pruned);
                self.set_links(e, layer, kept.iter().map(|k| k.c), by_rule);
            }
            // The whole beam, not just the nearest node, seeds the next layer down: a better start for free.
            std::mem::swap(&mut entries, &mut found);
        }

        if level > top {
            self.entry = Some(node);
        }
        node
    }

    /// The `k` nearest live nodes for which `accept(node)` holds, best first (ties by node number), with their
    /// distances. Layer 0 is searched with a beam of max(`ef`, `k`); `to_query(x)` is the distance from the query
    /// to node x (NaN counts as infinitely far).
    ///
    /// Tombstoned nodes and nodes `accept` rejects are still traversed, as waypoints, but never returned. While
    /// fewer than the beam's width of acceptable nodes have been found the search keeps expanding, so a filter
    /// that accepts few nodes costs up to a walk over the whole graph.
    pub fn search(
        &self,
        to_query: &dyn Fn(u32) -> f32,
        k: usize,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        self.search_prefetching(to_query, &|_| {}, k, ef, accept)
    }

    /// [`Hnsw::search`] that calls `prefetch(x)` for the nodes it is about to measure (see
    /// [`Hnsw::insert_prefetching`]).
    pub fn search_prefetching(
        &self,
        to_query: &dyn Fn(u32) -> f32,
        prefetch: &dyn Fn(u32),
        k: usize,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<(u32, f32)> {
        let Some(entry) = self.entry.filter(|&e| (e as usize) < self.len()) else { return Vec::new() };
        if k == 0 || self.live() == 0 {
            return Vec::new();
        }
        let dist = |x: u32| clean(to_query(x));
        let mut cur = Cand { d: dist(entry), id: entry };
        for layer in (1..=self.level_of(entry)).rev() {
            cur = self.greedy(layer, cur, &dist);
        }
        let ok = |x: u32| !self.is_removed(x) && accept(x);
        let mut scratch = Scratch::new();
        let mut found = Vec::new();
        self.search_layer(0, &[cur], ef.max(k), &dist, prefetch, &ok, &mut scratch, &mut found);
        found.truncate(k);
        found.into_iter().map(|c| (c.id, c.d)).collect()
    }

    /// Checks structural soundness, as after deserialising from an untrusted file: parameters in range, one
    /// layer-0 block and one tombstone bit per node, levels under the cap, neighbour counts within the caps,
    /// every neighbour a node living on that layer, the entry point a node on the top level, and the tombstone
    /// count matching the bits. Returns the first problem found.
    ///
    /// `search` does not panic on an unvalidated graph (bad links are skipped), but its results are only
    /// meaningful on a valid one; validate before inserting into a graph read from a file.
    pub fn validate(&self) -> Result<(), HnswError> {
        let HnswParams { m, m0, ef_construction, .. } = self.params;
        if !(2..=MAX_LINKS).contains(&m) || !(1..=MAX_LINKS).contains(&m0) || ef_construction == 0 {
            return Err(HnswError::InvalidParams { m, m0, ef_construction });
        }
        let len = self.len();
        if len > u32::MAX as usize {
            return Err(HnswError::TooManyNodes { len });
        }
        let expected = len.checked_mul(m0 + 1);
        if expected != Some(self.links0.len()) {
            return Err(HnswError::Layer0Size { expected, actual: self.links0.len() });
        }

        if self.settled0.len() != len {
            return Err(HnswError::SettledSize { expected: len, actual: self.settled0.len() });
        }

        let words = len.div_ceil(64);
        if self.removed.len() != words {
            return Err(HnswError::TombstoneBitsSize { expected: words, actual: self.removed.len() });
        }
        if let Some(&last) = self.removed.last() {
            let used = len - (words - 1) * 64;
            if used < 64 && last >> used != 0 {
                let node = (words - 1) * 64 + used + (last >> used).trailing_zeros() as usize;
                return Err(HnswError::TombstoneBeyondLen { node, len });
            }
        }
        let counted: u32 = self.removed.iter().map(|w| w.count_ones()).sum();
        if counted != self.tombstones {
            return Err(HnswError::TombstoneCount { stored: self.tombstones, counted });
        }

        let mut max_level = 0;
        for (n, lists) in self.upper.iter().enumerate() {
            let node = n as u32;
            let level = lists.len();
            if level > MAX_LEVEL {
                return Err(HnswError::LevelTooHigh { node, level, max: MAX_LEVEL });
            }
            max_level = max_level.max(level);
            let stored0 = self.links0[n * (m0 + 1)] as usize;
            if stored0 > m0 {
                return Err(HnswError::TooManyNeighbours { node, layer: 0, count: stored0, cap: m0 });
            }
            let settled = usize::from(self.settled0[n]);
            if settled > stored0 {
                return Err(HnswError::SettledCount { node, settled, count: stored0 });
            }
            for layer in 0..=level {
                let links = self.links(node, layer);
                if layer > 0 && links.len() > m {
                    return Err(HnswError::TooManyNeighbours { node, layer, count: links.len(), cap: m });
                }
                for &neighbour in links {
                    if neighbour as usize >= len {
                        return Err(HnswError::NeighbourOutOfRange { node, layer, neighbour, len });
                    }
                    let neighbour_level = self.level_of(neighbour);
                    if neighbour_level < layer {
                        return Err(HnswError::NeighbourBelowLayer { node, layer, neighbour, neighbour_level });
                    }
                }
            }
        }

        match self.entry {
            None if len > 0 => Err(HnswError::MissingEntryPoint { len }),
            None => Ok(()),
            Some(entry) if len == 0 => Err(HnswError::UnexpectedEntryPoint { entry }),
            Some(entry) if entry as usize >= len => Err(HnswError::EntryPointOutOfRange { entry, len }),
            Some(entry) => {
                let level = self.level_of(entry);
                if level == max_level { Ok(()) } else { Err(HnswError::EntryPointNotTop { entry, level, max_level }) }
            }
        }
    }

    /// Level of `node` (0 for unknown nodes).
    fn level_of(&self, node: u32) -> usize {
        self.upper.get(node as usize).map_or(0, Vec::len)
    }

    /// Most links a node keeps on `layer`.
    fn cap(&self, layer: usize) -> usize {
        if layer == 0 { self.params.m0 } else { self.params.m }
    }

    /// Neighbours of `node` on `layer`; empty for unknown nodes or layers, and never past the block, so a corrupt
    /// count cannot make it read out of bounds.
    fn links(&self, node: u32, layer: usize) -> &[u32] {
        if layer == 0 {
            let block = self.params.m0.saturating_add(1);
            let Some(start) = (node as usize).checked_mul(block) else { return &[] };
            let Some((&count, rest)) =
                self.links0.get(start..start.saturating_add(block)).and_then(|b| b.split_first())
            else {
                return &[];
            };
            rest.get(..count as usize).unwrap_or(rest)
        } else {
            self.upper.get(node as usize).and_then(|lists| lists.get(layer - 1)).map_or(&[], Vec::as_slice)
        }
    }

    /// How many of the first links of `node` on `layer` are settled (see [`Pick::settled`]); only tracked on
    /// layer 0, where nearly all the work is.
    fn settled(&self, node: u32, layer: usize) -> usize {
        if layer == 0 { self.settled0.get(node as usize).map_or(0, |&s| usize::from(s)) } else { 0 }
    }

    /// The remembered distance from `node` to its `slot`-th link on `layer` (only layer 0 remembers them).
    fn link_distance(&self, node: u32, layer: usize, slot: usize) -> Option<f32> {
        if layer != 0 {
            return None;
        }
        let at = (node as usize).checked_mul(self.params.m0)?.checked_add(slot)?;
        self.dist0.get(at).copied().filter(|d| !d.is_nan())
    }

    /// Remembers `d` as the distance from `node` to its `slot`-th layer-0 link.
    fn remember_distance(&mut self, node: u32, slot: usize, d: f32) {
        let at = (node as usize).checked_mul(self.params.m0).and_then(|a| a.checked_add(slot));
        if let Some(cell) = at.and_then(|a| self.dist0.get_mut(a)) {
            *cell = d;
        }
    }

    /// Replaces the neighbours of `node` on `layer` (at most the layer's cap are kept; unknown nodes are ignored),
    /// each with its distance to `node`, the first `settled` of them kept by the rule.
    fn set_links(&mut self, node: u32, layer: usize, links: impl Iterator<Item = Cand>, settled: usize) {
        let cap = self.cap(layer);
        if layer == 0 {
            if let Some(s) = self.settled0.get_mut(node as usize) {
                // `MAX_LINKS` fits a u16.
                *s = u16::try_from(settled.min(cap)).unwrap_or(u16::MAX);
            }
            let block = self.params.m0.saturating_add(1);
            let Some(start) = (node as usize).checked_mul(block) else { return };
            let Some((count, rest)) =
                self.links0.get_mut(start..start.saturating_add(block)).and_then(|b| b.split_first_mut())
            else {
                return;
            };
            let at = (node as usize).saturating_mul(self.params.m0);
            let distances = self.dist0.get_mut(at..at.saturating_add(self.params.m0)).unwrap_or_default();
            distances.fill(f32::NAN);
            *count = 0;
            for (i, (slot, link)) in rest.iter_mut().zip(links).enumerate() {
                *slot = link.id;
                *count += 1;
                if let Some(d) = distances.get_mut(i) {
                    *d = link.d;
                }
            }
        } else if let Some(list) = self.upper.get_mut(node as usize).and_then(|lists| lists.get_mut(layer - 1)) {
            list.clear();
            list.extend(links.take(cap).map(|c| c.id));
        }
    }

    /// Appends `link` (with its distance to `node`) to the neighbours of `node` on `layer` if there is room; false
    /// if the list is full (or the node unknown).
    fn push_link(&mut self, node: u32, layer: usize, link: Cand) -> bool {
        let cap = self.cap(layer);
        if layer == 0 {
            let block = self.params.m0.saturating_add(1);
            let Some(start) = (node as usize).checked_mul(block) else { return false };
            let Some((count, rest)) =
                self.links0.get_mut(start..start.saturating_add(block)).and_then(|b| b.split_first_mut())
            else {
                return false;
            };
            let at = *count as usize;
            let Some(slot) = rest.get_mut(at) else { return false };
            *slot = link.id;
            *count += 1;
            self.remember_distance(node, at, link.d);
            true
        } else {
            match self.upper.get_mut(node as usize).and_then(|lists| lists.get_mut(layer - 1)) {
                Some(list) if list.len() < cap => {
                    list.push(link.id);
                    true
                }
                _ => false,
            }
        }
    }

    /// Greedy walk on an upper layer: move to the nearest neighbour while that improves. Strict improvement in
    /// the total (distance, node) order guarantees it ends.
    fn greedy(&self, layer: usize, mut cur: Cand, dist: &impl Fn(u32) -> f32) -> Cand {
        let len = self.len();
        loop {
            let mut moved = false;
            for &n in self.links(cur.id, layer) {
                if n as usize >= len {
                    continue;
                }
                let c = Cand { d: dist(n), id: n };
                if c < cur {
                    cur = c;
                    moved = true;
                }
            }
            if !moved {
                return cur;
            }
        }
    }

    /// Beam search on one layer (the paper's algorithm 2): returns in `out`, nearest first, up to `ef` nodes for
    /// which `ok` holds. Nodes failing `ok` are expanded like any other, so they still lead the way.
    #[allow(clippy::too_many_arguments)]
    fn search_layer(
        &self,
        layer: usize,
        entries: &[Cand],
        ef: usize,
        dist: &impl Fn(u32) -> f32,
        prefetch: &dyn Fn(u32),
        ok: &impl Fn(u32) -> bool,
        s: &mut Scratch,
        out: &mut Vec<Cand>,
    ) {
        let len = self.len();
        let ef = ef.max(1);
        s.reset(len);
        for &e in entries {
            if s.visit(e.id) {
                s.cands.push(Reverse(e));
                if ok(e.id) {
                    s.results.push(e);
                    if s.results.len() > ef {
                        s.results.pop();
                    }
                }
            }
        }
        let mut worst = s.results.peek().map_or(f32::INFINITY, |c| c.d);
        while let Some(Reverse(c)) = s.cands.pop() {
            // Stop once the beam is full and nothing left to expand can improve it. While it is not full (a
            // filter rejects most nodes) keep going: better a longer walk than fewer results than asked for.
            if s.results.len() >= ef && c.d > worst {
                break;
            }
            let links = self.links(c.id, layer);
            for &n in links {
                if (n as usize) < len && !s.seen(n) {
                    prefetch(n);
                }
            }
            for &n in links {
                if n as usize >= len || !s.visit(n) {
                    continue;
                }
                let d = dist(n);
                if s.results.len() < ef || d < worst {
                    let cand = Cand { d, id: n };
                    s.cands.push(Reverse(cand));
                    if ok(n) {
                        s.results.push(cand);
                        if s.results.len() > ef {
                            s.results.pop();
                        }
                        worst = s.results.peek().map_or(f32::INFINITY, |c| c.d);
                    }
                }
            }
        }
        out.clear();
        out.extend(s.results.drain());
        out.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::sync::OnceLock;

    const DIM: usize = 32;
    const N: usize = 5_000;
    const QUERIES: usize = 200;

    /// Counter-based splitmix64 stream: deterministic, and no rand crate.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(1);
            splitmix64(self.0)
        }

        /// Uniform in (0, 1).
        fn unit(&mut self) -> f32 {
            ((self.next_u64() >> 40) as f32 + 0.5) / (1u64 << 24) as f32
        }

        fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
            lo + (hi - lo) * self.unit()
        }

        /// Standard normal (Box–Muller).
        fn gauss(&mut self) -> f32 {
            let (u, v) = (self.unit(), self.unit());
            (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
        }
    }

    /// Points and queries drawn alike: 20 Gaussian clusters plus 10 % uniform noise.
    struct Data {
        points: Vec<f32>,
        queries: Vec<f32>,
    }

    fn clustered(n: usize, queries: usize, seed: u64) -> Data {
        let mut rng = Rng(seed);
        let centers: Vec<f32> = (0..20 * DIM).map(|_| rng.uniform(-1.0, 1.0)).collect();
        let mut draw = |count: usize| -> Vec<f32> {
            let mut out = Vec::with_capacity(count * DIM);
            for _ in 0..count {
                if rng.unit() < 0.1 {
                    out.extend((0..DIM).map(|_| rng.uniform(-1.5, 1.5)));
                } else {
                    let c = (rng.next_u64() % 20) as usize;
                    for d in 0..DIM {
                        out.push(centers[c * DIM + d] + 0.25 * rng.gauss());
                    }
                }
            }
            out
        };
        let points = draw(n);
        let queries = draw(queries);
        Data { points, queries }
    }

    fn row(v: &[f32], i: usize) -> &[f32] {
        &v[i * DIM..][..DIM]
    }

    fn sq_l2(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
    }

    fn neg_cos(a: &[f32], b: &[f32]) -> f32 {
        let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
        -dot / (na * nb)
    }

    /// Inserts every point in order. `between` asserts it only ever sees existing nodes.
    fn build(points: &[f32], dist: &dyn Fn(&[f32], &[f32]) -> f32, params: HnswParams) -> Hnsw {
        let mut h = Hnsw::new(params);
        for i in 0..points.len() / DIM {
            let p = row(points, i);
            let to_new = |x: u32| dist(p, row(points, x as usize));
            let between = |a: u32, b: u32| {
                assert!((a as usize) < i && (b as usize) < i, "between({a}, {b}) while inserting {i}");
                dist(row(points, a as usize), row(points, b as usize))
            };
            assert_eq!(h.insert(&to_new, &between) as usize, i);
        }
        h
    }

    /// Exact k nearest among nodes passing `keep`, ties by node number.
    fn brute(
        points: &[f32],
        q: &[f32],
        dist: &dyn Fn(&[f32], &[f32]) -> f32,
        k: usize,
        keep: &dyn Fn(u32) -> bool,
    ) -> Vec<u32> {
        let mut all: Vec<Cand> = (0..(points.len() / DIM) as u32)
            .filter(|&i| keep(i))
            .map(|i| Cand { d: clean(dist(q, row(points, i as usize))), id: i })
            .collect();
        all.sort_unstable();
        all.into_iter().take(k).map(|c| c.id).collect()
    }

    /// recall@10 over the queries for `search(k = 10, ef)`, against brute force over live nodes passing `accept`.
    /// Also checks what every result must satisfy.
    fn recall(
        h: &Hnsw,
        data: &Data,
        dist: &dyn Fn(&[f32], &[f32]) -> f32,
        ef: usize,
        accept: &dyn Fn(u32) -> bool,
    ) -> f64 {
        let (mut hits, mut total) = (0, 0);
        for qi in 0..data.queries.len() / DIM {
            let q = row(&data.queries, qi);
            let found = h.search(&|x| dist(q, row(&data.points, x as usize)), 10, ef, accept);
            for w in found.windows(2) {
                assert!(Cand { d: w[0].1, id: w[0].0 } < Cand { d: w[1].1, id: w[1].0 }, "not best first: {w:?}");
            }
            for &(id, d) in &found {
                assert!(accept(id) && !h.is_removed(id), "returned {id}, which is filtered out or removed");
                assert_eq!(d, dist(q, row(&data.points, id as usize)));
            }
            let truth = brute(&data.points, q, dist, 10, &|i| !h.is_removed(i) && accept(i));
            hits += found.iter().filter(|(id, _)| truth.contains(id)).count();
            total += truth.len();
        }
        hits as f64 / total as f64
    }

    /// The squared-Euclidean graph over the clustered data, built once and shared by the tests that only read it.
    fn fixture() -> &'static (Data, Hnsw) {
        static FIXTURE: OnceLock<(Data, Hnsw)> = OnceLock::new();
        FIXTURE.get_or_init(|| {
            let data = clustered(N, QUERIES, 7);
            let h = build(&data.points, &sq_l2, HnswParams::default());
            (data, h)
        })
    }

    #[test]
    fn recall_clustered_squared_euclidean() {
        let (data, h) = fixture();
        assert_eq!(h.validate(), Ok(()));
        assert_eq!((h.len(), h.live()), (N, N));
        let r = recall(h, data, &sq_l2, 64, &|_| true);
        println!("recall@10, squared Euclidean, ef 64: {r:.4}");
        assert!(r >= 0.95, "recall {r}");
    }

    #[test]
    fn recall_non_metric_negative_distance() {
        let data = clustered(N, QUERIES, 11);
        // Standardise -cosine and squared Euclidean over random pairs and mix them, like the engine's combined
        // similarity: negative for close pairs, and no triangle inequality.
        let mut rng = Rng(3);
        let pairs: Vec<(usize, usize)> =
            (0..4000).map(|_| ((rng.next_u64() % N as u64) as usize, (rng.next_u64() % N as u64) as usize)).collect();
        let stats = |f: &dyn Fn(&[f32], &[f32]) -> f32| {
            let v: Vec<f32> = pairs.iter().map(|&(a, b)| f(row(&data.points, a), row(&data.points, b))).collect();
            let mean = v.iter().sum::<f32>() / v.len() as f32;
            let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / v.len() as f32;
            (mean, var.sqrt())
        };
        let (mc, sc) = stats(&neg_cos);
        let (ml, sl) = stats(&sq_l2);
        let dist = move |a: &[f32], b: &[f32]| 0.6 * (neg_cos(a, b) - mc) / sc + 0.4 * (sq_l2(a, b) - ml) / sl;

        let h = build(&data.points, &dist, HnswParams::default());
        assert_eq!(h.validate(), Ok(()));
        let q = row(&data.queries, 0);
        let best = h.search(&|x| dist(q, row(&data.points, x as usize)), 1, 64, &|_| true);
        assert!(best[0].1 < 0.0, "the nearest neighbour should have a negative distance: {best:?}");
        let r = recall(&h, &data, &dist, 64, &|_| true);
        println!("recall@10, standardised mix of -cosine and squared Euclidean, ef 64: {r:.4}");
        assert!(r >= 0.95, "recall {r}");
    }

    #[test]
    fn filter_returns_only_accepted_nodes() {
        let (data, h) = fixture();
        let even = |x: u32| x.is_multiple_of(2);
        // `recall` asserts every result passes the filter.
        let r = recall(h, data, &sq_l2, 64, &even);
        println!("recall@10, even nodes only, ef 64: {r:.4}");
        assert!(r >= 0.9, "recall {r}");
    }

    #[test]
    fn tombstones_are_skipped_but_traversed() {
        let (data, h) = fixture();
        let mut h = h.clone();
        let entry = h.entry.expect("non-empty graph has an entry point");
        assert!(h.remove(entry));
        let mut removed = 1;
        for i in (0..N as u32).step_by(5) {
            if removed < N / 5 && h.remove(i) {
                removed += 1;
            }
        }
        assert_eq!(removed, N / 5);
        assert!(h.is_removed(entry) && h.is_removed(5) && !h.is_removed(1));
        assert!(!h.remove(entry), "second removal must report false");
        assert!(!h.remove(N as u32), "unknown node");
        assert_eq!(h.live(), N - N / 5);
        assert!((h.tombstone_share() - 0.2).abs() < 1e-6, "share {}", h.tombstone_share());
        assert_eq!(h.validate(), Ok(()));

        // `recall` asserts no removed node comes back and measures against brute force over live nodes.
        let r = recall(&h, data, &sq_l2, 64, &|_| true);
        println!("recall@10 with 20 % tombstones (entry point included), ef 64: {r:.4}");
        assert!(r >= 0.9, "recall {r}");

        // The graph still grows after removals.
        let mut points = data.points.clone();
        points.extend_from_slice(row(&data.queries, 0));
        let p = row(&points, N);
        let node = h.insert(&|x| sq_l2(p, row(&points, x as usize)), &|a, b| {
            sq_l2(row(&points, a as usize), row(&points, b as usize))
        });
        assert_eq!(node as usize, N);
        assert_eq!(h.validate(), Ok(()));
        let found = h.search(&|x| sq_l2(p, row(&points, x as usize)), 1, 32, &|_| true);
        assert_eq!(found.first().map(|f| f.0), Some(node));
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let (data, h) = fixture();
        let config = bincode::config::standard();
        let bytes = bincode::serde::encode_to_vec(h, config).expect("encode");
        println!("{} nodes serialise to {} bytes", h.len(), bytes.len());
        let (back, read): (Hnsw, usize) = bincode::serde::decode_from_slice(&bytes, config).expect("decode");
        assert_eq!(read, bytes.len());
        assert_eq!(back.validate(), Ok(()));
        assert_eq!(back.params(), h.params());
        assert_eq!(bincode::serde::encode_to_vec(&back, config).expect("encode"), bytes);
        for qi in 0..20 {
            let q = row(&data.queries, qi);
            let to_query = |x: u32| sq_l2(q, row(&data.points, x as usize));
            assert_eq!(back.search(&to_query, 10, 64, &|_| true), h.search(&to_query, 10, 64, &|_| true));
        }

        // A truncated file is an error, not a panic.
        assert!(bincode::serde::decode_from_slice::<Hnsw, _>(&bytes[..bytes.len() / 2], config).is_err());

        let len = back.len();
        let q = row(&data.queries, 0);
        let to_query = |x: u32| sq_l2(q, row(&data.points, x as usize));

        let mut bad = back.clone();
        bad.links0[1] = len as u32 + 5; // node 0's first neighbour
        assert!(matches!(bad.validate(), Err(HnswError::NeighbourOutOfRange { node: 0, layer: 0, .. })));
        assert_eq!(bad.search(&to_query, 10, 64, &|_| true).len(), 10, "search skips the bad link");

        let mut bad = back.clone();
        bad.links0[0] = bad.params.m0 as u32 + 1; // node 0's neighbour count
        assert!(matches!(bad.validate(), Err(HnswError::TooManyNeighbours { node: 0, layer: 0, .. })));

        let mut bad = back.clone();
        bad.entry = Some(len as u32);
        assert_eq!(bad.validate(), Err(HnswError::EntryPointOutOfRange { entry: len as u32, len }));
        assert!(bad.search(&to_query, 10, 64, &|_| true).is_empty());

        let mut bad = back.clone();
        let low = (0..len as u32).find(|&n| bad.level_of(n) == 0).expect("most nodes live on layer 0 only");
        bad.entry = Some(low);
        assert!(matches!(bad.validate(), Err(HnswError::EntryPointNotTop { .. })));

        let mut bad = back.clone();
        bad.entry = None;
        assert_eq!(bad.validate(), Err(HnswError::MissingEntryPoint { len }));

        let mut bad = back.clone();
        bad.tombstones = 3;
        assert_eq!(bad.validate(), Err(HnswError::TombstoneCount { stored: 3, counted: 0 }));

        let mut bad = back.clone();
        bad.links0.pop();
        assert!(matches!(bad.validate(), Err(HnswError::Layer0Size { .. })));

        let mut bad = back.clone();
        bad.params.m = 1;
        assert!(matches!(bad.validate(), Err(HnswError::InvalidParams { m: 1, .. })));
    }

    #[test]
    fn same_inputs_give_identical_bytes() {
        let data = clustered(2000, 0, 5);
        let config = bincode::config::standard();
        let encode = |h: &Hnsw| bincode::serde::encode_to_vec(h, config).expect("encode");
        let a = encode(&build(&data.points, &sq_l2, HnswParams::default()));
        let b = encode(&build(&data.points, &sq_l2, HnswParams::default()));
        assert!(a == b, "two builds from the same inputs differ");
        let other = HnswParams { seed: 99, ..HnswParams::default() };
        assert!(encode(&build(&data.points, &sq_l2, other)) != a, "the seed should change the levels drawn");
    }

    #[test]
    fn settled_links_only_save_distance_calls() {
        // Skipping the checks between settled links must not change the result: forget all settled marks half
        // way (forcing full re-selections) and the links must come out the same.
        let data = clustered(2000, 0, 9);
        let full = build(&data.points, &sq_l2, HnswParams::default());
        let calls = Cell::new(0u64);
        let mut h = Hnsw::new(HnswParams::default());
        for i in 0..2000 {
            if i == 1000 {
                h.settled0.iter_mut().for_each(|s| *s = 0);
            }
            let p = row(&data.points, i);
            h.insert(&|x| sq_l2(p, row(&data.points, x as usize)), &|a, b| {
                calls.set(calls.get() + 1);
                sq_l2(row(&data.points, a as usize), row(&data.points, b as usize))
            });
        }
        assert!(h.links0 == full.links0 && h.upper == full.upper, "forgetting settled marks changed the graph");
        assert!(calls.get() > 0);
    }

    #[test]
    fn remembered_link_distances_only_save_distance_calls() {
        // A graph whose remembered distances are lost half way (as when it is read back from its file) must grow
        // exactly as one that kept them, and keeping them must save distance calls.
        let data = clustered(2000, 0, 11);
        let insert_all = |forget: &dyn Fn(&mut Hnsw, usize)| {
            let calls = Cell::new(0u64);
            let mut h = Hnsw::new(HnswParams::default());
            for i in 0..2000 {
                forget(&mut h, i);
                let p = row(&data.points, i);
                h.insert(&|x| sq_l2(p, row(&data.points, x as usize)), &|a, b| {
                    calls.set(calls.get() + 1);
                    sq_l2(row(&data.points, a as usize), row(&data.points, b as usize))
                });
            }
            (h, calls.get())
        };
        let (kept, kept_calls) = insert_all(&|_, _| {});
        let (reloaded, _) = insert_all(&|h, i| {
            if i == 1000 {
                let config = bincode::config::standard();
                let bytes = bincode::serde::encode_to_vec(&*h, config).expect("encode");
                *h = bincode::serde::decode_from_slice(&bytes, config).expect("decode").0;
                assert!(h.dist0.is_empty(), "distances are not in the file");
            }
        });
        let (forgetful, forgetful_calls) = insert_all(&|h, _| h.dist0.fill(f32::NAN));
        for other in [&reloaded, &forgetful] {
            assert!(other.links0 == kept.links0 && other.upper == kept.upper, "remembered distances changed the graph");
        }
        // Measured: 596 807 calls against 710 855.
        assert!(
            kept_calls * 10 < forgetful_calls * 9,
            "remembering saved too few calls: {kept_calls} against {forgetful_calls}"
        );
    }

    #[test]
    fn edge_cases() {
        let mut h = Hnsw::new(HnswParams::default());
        assert!(h.is_empty() && h.live() == 0 && h.tombstone_share() == 0.0);
        assert!(h.search(&|_| 0.0, 10, 64, &|_| true).is_empty());
        assert!(!h.remove(0) && !h.is_removed(0));
        assert_eq!(h.validate(), Ok(()));

        // A single node; `between` has nothing to compare yet.
        assert_eq!(h.insert(&|_| unreachable!("no existing node"), &|_, _| unreachable!("no existing nodes")), 0);
        assert_eq!(h.validate(), Ok(()));
        assert_eq!(h.search(&|_| 2.5, 10, 64, &|_| true), vec![(0, 2.5)]);
        assert!(h.search(&|_| 2.5, 0, 64, &|_| true).is_empty(), "k = 0");
        assert!(h.search(&|_| 2.5, 10, 64, &|_| false).is_empty(), "nothing accepted");
        assert!(h.remove(0));
        assert!(h.search(&|_| 2.5, 10, 64, &|_| true).is_empty());
        assert_eq!((h.len(), h.live(), h.tombstone_share()), (1, 0, 1.0));

        // All nodes removed from a real graph.
        let (data, built) = fixture();
        let mut all_gone = built.clone();
        for i in 0..N as u32 {
            assert!(all_gone.remove(i));
        }
        let q = row(&data.queries, 0);
        assert!(all_gone.search(&|x| sq_l2(q, row(&data.points, x as usize)), 10, 64, &|_| true).is_empty());
        assert_eq!(all_gone.validate(), Ok(()));

        // k larger than the graph, ef smaller than k.
        let mut small = Hnsw::new(HnswParams::default());
        for i in 0..5u32 {
            small.insert(&|x| (i as f32 - x as f32).abs(), &|a, b| (a as f32 - b as f32).abs());
        }
        let found = small.search(&|x| x as f32, 10, 1, &|_| true);
        assert_eq!(found.iter().map(|f| f.0).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);

        // Ties are broken by node number.
        let found = small.search(&|_| 1.0, 3, 8, &|_| true);
        assert_eq!(found, vec![(0, 1.0), (1, 1.0), (2, 1.0)]);

        // NaN distances count as infinitely far and never panic.
        let mut nan = Hnsw::new(HnswParams::default());
        for i in 0..200u32 {
            nan.insert(&|x| if (x + i) % 7 == 0 { f32::NAN } else { (i as f32 - x as f32).abs() }, &|a, b| {
                if (a * b) % 5 == 0 { f32::NAN } else { (a as f32 - b as f32).abs() }
            });
        }
        assert_eq!(nan.validate(), Ok(()));
        let found = nan.search(&|x| if x == 3 { f32::NAN } else { (x as f32 - 50.0).abs() }, 5, 32, &|_| true);
        assert_eq!(found.first(), Some(&(50, 0.0)));
        let found = nan.search(&|_| f32::NAN, 3, 32, &|_| true);
        assert_eq!(found.len(), 3);
        assert!(found.iter().all(|f| f.1 == f32::INFINITY));

        // Parameters are brought into range.
        let p = Hnsw::new(HnswParams { m: 0, m0: 0, ef_construction: 0, seed: 1 }).params();
        assert_eq!((p.m, p.m0, p.ef_construction), (2, 1, 1));
    }

    #[test]
    fn levels_follow_the_distribution() {
        // About 1/m of the nodes reach level 1 and 1/m² level 2; the level is a pure function of (seed, node).
        let m = 16;
        let levels: Vec<usize> = (0..100_000).map(|n| draw_level(42, n, m)).collect();
        let at_least = |l: usize| levels.iter().filter(|&&x| x >= l).count();
        assert!((5_500..7_000).contains(&at_least(1)), "{}", at_least(1));
        assert!((250..550).contains(&at_least(2)), "{}", at_least(2));
        assert!(levels.iter().all(|&l| l <= MAX_LEVEL));
        assert_eq!(draw_level(42, 17, m), levels[17]);
    }
}
