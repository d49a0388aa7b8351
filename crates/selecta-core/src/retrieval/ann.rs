//! The approximate similar-track index for large libraries: an HNSW graph ([`super::hnsw`]) over
//! the tracks of a [`SearchIndex`], kept in the library folder between runs (sealed; a file of
//! another format or analysis version, or one that is damaged, is built again, never trusted).
//!
//! The graph is laid out and walked by the full similarity, timbre included, computed on compact
//! 8-bit copies of the tracks' views ([`super::walk_rows`]); the best of the beam it finds are
//! then ranked by the exact score, as the exact search ranks. (Laid out and walked by the embedding and tags
//! alone, the beam missed a tenth of the true top 10 at any width: the timbre is a third of the
//! total.)
//!
//! It follows the library incrementally ([`AnnIndex::sync`]): songs the graph lacks are
//! inserted; a node whose song was removed or analysed again (its stamp changed) is tombstoned —
//! never returned, but still a waypoint while its song is in the library. The graph is built
//! again when tombstones pass [`REBUILD_TOMBSTONE_SHARE`] of its nodes, or when the library has
//! grown to more than twice the tracks of the last build: the graph was laid out under the
//! standardisation of the library as it was then, distances always use today's, and a small drift
//! only makes the navigation less direct.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::hnsw::{Hnsw, HnswError, HnswParams};
use super::walk_rows::WalkRows;
use super::{Hit, SearchIndex};
use crate::ANALYSIS_VERSION;
use crate::sealed::{SealError, open, seal};
use crate::similar::PreparedView;

/// Name of the kept index in the library folder's index store.
pub const ANN_FILE: &str = "similar";
/// Share of tombstoned nodes from which the graph is built again.
pub const REBUILD_TOMBSTONE_SHARE: f32 = 0.2;
/// Beam width of a search (at least `k`): how many tracks the graph walk finds for the exact
/// score to rank. Chosen with `selecta bench --search` on 50 000 synthetic tracks: recall@10
/// against the exact search 0.98 at 64 (p95 0.65 ms), 0.995 at 128 (p95 1.4 ms).
pub const DEFAULT_EF: usize = 64;
/// How many of the beam's best (by the walk's distance), per result asked for, the exact score
/// ranks. The walk's distance is within a few hundredths of the exact one, so the true top k sit
/// near the beam's head: with `selecta bench --search` at 50 000 tracks (400 queries), ranking
/// the best 20 of a beam of 64 for k = 10 found the same recall@10 (0.9838) as ranking all 64,
/// and each exact score reads 2.8 KB of f32 rows.
const RERANKED_PER_RESULT: usize = 2;

const MAGIC: &[u8; 8] = b"SELANN01";
/// 2: laid out by the full similarity (1 was by the embedding and tags only).
/// Format 3 keeps each song's stamp as its 64-bit digest ([`SearchIndex::stamp`]).
const FORMAT: u32 = 3;
/// Marks a node or position that has no counterpart.
const NONE: u32 = u32::MAX;

/// Why a kept index cannot be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AnnError {
    /// Not a similar-track index, damaged, or not decodable.
    #[error(transparent)]
    Sealed(#[from] SealError),
    /// Written by another format or analysis version.
    #[error(
        "similar-track index of format {format}, analysis version {analysis} (this build: {FORMAT}, {ANALYSIS_VERSION})"
    )]
    Version {
        /// Format of the file.
        format: u32,
        /// Analysis version of the file.
        analysis: u32,
    },
    /// The graph is not sound.
    #[error("similar-track index graph: {0}")]
    Graph(#[from] HnswError),
    /// The song list does not match the graph.
    #[error("similar-track index lists {songs} songs for {nodes} nodes")]
    Songs {
        /// Songs listed.
        songs: usize,
        /// Graph nodes.
        nodes: usize,
    },
}

/// What the file holds.
#[derive(Serialize, Deserialize)]
struct Kept {
    format: u32,
    analysis_version: u32,
    built_nodes: u32,
    songs: Vec<(String, u64)>,
    graph: Hnsw,
}

/// What [`AnnIndex::sync`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncSummary {
    /// Songs inserted.
    pub inserted: usize,
    /// Nodes tombstoned.
    pub removed: usize,
    /// Whether the graph was built again.
    pub rebuilt: bool,
}

impl SyncSummary {
    /// Whether anything changed (the kept file is then out of date).
    pub fn changed(&self) -> bool {
        self.inserted > 0 || self.removed > 0 || self.rebuilt
    }
}

/// The graph with, for every node, its song and stamp, bound to one [`SearchIndex`] (node ↔
/// position maps) by [`AnnIndex::sync`].
#[derive(Debug, Clone)]
pub struct AnnIndex {
    songs: Vec<(String, u64)>,
    built_nodes: u32,
    graph: Hnsw,
    position_of_node: Vec<u32>,
    live_node_of_position: Vec<u32>,
    /// The bound index's tracks as the walk compares them.
    rows: WalkRows,
}

impl AnnIndex {
    /// Build the graph over every track of `index`.
    pub fn build(index: &SearchIndex) -> Self {
        let mut ann = Self {
            songs: Vec::new(),
            built_nodes: 0,
            graph: Hnsw::new(HnswParams::default()),
            position_of_node: Vec::new(),
            live_node_of_position: vec![NONE; index.len()],
            rows: WalkRows::build(index),
        };
        for position in 0..index.len() {
            ann.insert(index, position);
        }
        ann.built_nodes = ann.graph.len() as u32;
        ann
    }

    fn insert(&mut self, index: &SearchIndex, position: usize) {
        let positions = &self.position_of_node;
        let to_position = |node: u32| positions.get(node as usize).copied().filter(|&p| p != NONE);
        let rows = &self.rows;
        let new = rows.query_at(position);
        let to_new = |node: u32| to_position(node).map_or(f32::INFINITY, |p| rows.distance(index, &new, p as usize));
        let between = |a: u32, b: u32| match (to_position(a), to_position(b)) {
            (Some(a), Some(b)) => rows.distance_between(index, a as usize, b as usize),
            _ => f32::INFINITY,
        };
        let prefetch = |node: u32| {
            if let Some(p) = to_position(node) {
                rows.prefetch(p as usize);
            }
        };
        let node = self.graph.insert_prefetching(&to_new, &between, &prefetch);
        self.songs.push((index.id(position).to_string(), index.stamp(position)));
        self.position_of_node.push(position as u32);
        self.live_node_of_position[position] = node;
    }

    /// Bring the graph up to date with `index` and bind it there: tombstone the nodes whose song
    /// is gone or whose stamp changed, insert the songs it lacks (in song-id order), and build it
    /// again past the thresholds in the module header.
    pub fn sync(&mut self, index: &SearchIndex) -> SyncSummary {
        let mut summary = SyncSummary::default();
        self.rows = WalkRows::build(index);
        self.live_node_of_position = vec![NONE; index.len()];
        self.position_of_node = Vec::with_capacity(self.songs.len());
        for (node, (song_id, stamp)) in self.songs.iter().enumerate() {
            let position = index.position(song_id);
            self.position_of_node.push(position.map_or(NONE, |p| p as u32));
            let node = node as u32;
            match position {
                // One live node per song: a second one (only a damaged file could hold it) goes.
                Some(p)
                    if index.stamp(p) == *stamp
                        && !self.graph.is_removed(node)
                        && self.live_node_of_position[p] == NONE =>
                {
                    self.live_node_of_position[p] = node;
                }
                _ => {
                    if self.graph.remove(node) {
                        summary.removed += 1;
                    }
                }
            }
        }
        let missing: Vec<usize> = (0..index.len()).filter(|&p| self.live_node_of_position[p] == NONE).collect();
        let grown = self.graph.live() + missing.len() > 2 * self.built_nodes as usize;
        let tombstones = self.graph.len() - self.graph.live();
        let share = tombstones as f32 / (self.graph.len() + missing.len()).max(1) as f32;
        if share > REBUILD_TOMBSTONE_SHARE || grown {
            *self = Self::build(index);
            return SyncSummary { inserted: index.len(), removed: summary.removed, rebuilt: true };
        }
        for position in missing {
            self.insert(index, position);
            summary.inserted += 1;
        }
        summary
    }

    /// Nodes in the graph, tombstoned ones included.
    pub fn nodes(&self) -> usize {
        self.graph.len()
    }

    /// Nodes that can be returned.
    pub fn live(&self) -> usize {
        self.graph.live()
    }

    /// The `k` tracks nearest to `query` among those `accept` keeps (by position), leaving out the
    /// query's own position, best first with their score parts: the graph walk keeps the `ef`
    /// nearest by the compact rows, and the exact score ranks the best
    /// [`RERANKED_PER_RESULT`]`·k` of them.
    pub fn search(
        &self,
        index: &SearchIndex,
        query: &PreparedView,
        query_position: Option<usize>,
        accept: &dyn Fn(usize) -> bool,
        k: usize,
        ef: usize,
    ) -> Vec<Hit> {
        let to_position =
            |node: u32| self.position_of_node.get(node as usize).copied().filter(|&p| p != NONE).map(|p| p as usize);
        let codes = self.rows.query(query);
        let to_query = |node: u32| to_position(node).map_or(f32::INFINITY, |p| self.rows.distance(index, &codes, p));
        let keep = |node: u32| to_position(node).is_some_and(|p| Some(p) != query_position && accept(p));
        let prefetch = |node: u32| {
            if let Some(p) = to_position(node) {
                self.rows.prefetch(p);
            }
        };
        // A `k` past the library's size asks for every track; it must not size the beam.
        let beam = ef.max(k.min(index.len()));
        let beam_positions: Vec<usize> = self
            .graph
            .search_prefetching(&to_query, &prefetch, beam, beam, &keep)
            .into_iter()
            .filter_map(|(node, _)| to_position(node))
            .take(k.saturating_mul(RERANKED_PER_RESULT))
            .collect();
        for &p in &beam_positions {
            index.prefetch(p);
        }
        let mut ranked: Vec<(f32, usize)> =
            beam_positions.into_iter().map(|p| (index.distance(query, p), p)).filter(|(d, _)| d.is_finite()).collect();
        // Equal distances rank by position, which is song-id order, as in the exact search.
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        ranked.into_iter().take(k).filter_map(|(_, p)| index.hit(query, p)).collect()
    }

    /// The distance the graph walk uses from `query` to the track at `position` of the bound
    /// index: the full similarity on 8-bit rows, within a few hundredths of
    /// [`SearchIndex::distance`] (for tests and diagnostics).
    pub fn walk_distance(&self, index: &SearchIndex, query: &PreparedView, position: usize) -> f32 {
        self.rows.distance(index, &self.rows.query(query), position)
    }

    /// The sealed file (unbound: a reader calls [`AnnIndex::sync`]).
    pub fn to_file(&self) -> Result<Vec<u8>, SealError> {
        let kept = Kept {
            format: FORMAT,
            analysis_version: ANALYSIS_VERSION,
            built_nodes: self.built_nodes,
            songs: self.songs.clone(),
            graph: self.graph.clone(),
        };
        seal(MAGIC, "similar-track index", &kept)
    }

    /// Read a kept file, checking its seal, versions and graph.
    pub fn from_file(bytes: &[u8]) -> Result<Self, AnnError> {
        let kept: Kept = open(MAGIC, "similar-track index", bytes)?;
        if kept.format != FORMAT || kept.analysis_version != ANALYSIS_VERSION {
            return Err(AnnError::Version { format: kept.format, analysis: kept.analysis_version });
        }
        kept.graph.validate()?;
        if kept.songs.len() != kept.graph.len() {
            return Err(AnnError::Songs { songs: kept.songs.len(), nodes: kept.graph.len() });
        }
        Ok(Self {
            songs: kept.songs,
            built_nodes: kept.built_nodes,
            graph: kept.graph,
            position_of_node: Vec::new(),
            live_node_of_position: Vec::new(),
            rows: WalkRows::default(),
        })
    }

    /// Song id → node, for tests and statistics.
    pub fn live_songs(&self) -> HashMap<&str, u32> {
        self.songs
            .iter()
            .enumerate()
            .filter(|(n, _)| !self.graph.is_removed(*n as u32))
            .map(|(n, (id, _))| (id.as_str(), n as u32))
            .collect()
    }
}
