//! Similar tracks through the engine: the search index is built from the store on first use
//! and dropped whenever stored features change (a committed analysis, an import), so a search
//! always sees the library as it is. A [`Searcher`] is a shareable snapshot of it, so a front
//! end can answer many searches at once without holding the engine.
//!
//! From [`APPROXIMATE_FROM_TRACKS`] tracks on, searches go through the approximate index
//! ([`AnnIndex`]), loaded from the library folder on first use (or built and kept there), and
//! brought up to date with every new search index. The exact search still answers when a call
//! asks for it (`exact`), wants the filtered candidates (`explain`), or filters so narrowly that
//! fewer than [`APPROXIMATE_MIN_PASS_SHARE`] of the tracks pass (a graph walk would then visit
//! most of the library anyway).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::error::{EngineError, ErrorCode};
use crate::path_index::PathIndex;
use crate::record::SongFeatures;
use crate::retrieval::ann::{ANN_FILE, AnnIndex, DEFAULT_EF};
use crate::retrieval::{Filtered, Hit, ScoreParts, SearchFilters, SearchIndex, TrackFacts, track_view};
use crate::similar::PreparedView;
use crate::store::TasteStore;

/// Results returned when a call does not say.
pub const DEFAULT_K: usize = 10;
/// Library size from which similar-track searches use the approximate index by default
/// ([`Engine::set_approximate_from_tracks`] changes it). Below it every track is compared: the
/// exact answer, which stays within the 15 ms search goal on every target there. Measured on
/// synthetic libraries of 50 000 tracks: 4 ms p95 natively on one core with the rows in the
/// index (`selecta bench --search`), 9.6–11.4 ms p95 in wasm with the rows read from the records
/// (`tests/wasm_search_speed.rs`), growing with the library; the graph answers in 0.4 ms with
/// recall@10 0.98 but costs 23–34 s to build in wasm on a first search, and tens of MiB a page
/// cannot spare at that size.
pub const APPROXIMATE_FROM_TRACKS: usize = 60_000;
/// [`APPROXIMATE_FROM_TRACKS`] for a service answering many clients at once (the HTTP
/// service), where throughput decides: at 50 000 tracks, 32 concurrent clients on 2 cores waited
/// ≈ 120 ms p95 behind the exact search and 13–16 ms behind the graph (`selecta bench --http`).
/// From 30 000 tracks the exact search passes 2.5 ms natively and the graph still finds 99 % of
/// the exact top 10.
pub const SERVICE_APPROXIMATE_FROM_TRACKS: usize = 30_000;
/// Share of the library a search's filters must keep for the approximate index to answer it.
pub const APPROXIMATE_MIN_PASS_SHARE: f64 = 0.2;

/// `similarTracks`' options (`{k, explain, bpm: [lo, hi], halfDouble, keyCompatible, exclude,
/// duration: [lo, hi]}`; every field optional).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SimilarOptions {
    /// How many results (default [`DEFAULT_K`]).
    pub k: Option<usize>,
    /// Also return the candidates the filters removed, with the rule (answered by the exact
    /// search).
    pub explain: bool,
    /// Compare every track even in a large library, instead of using the approximate index.
    pub exact: bool,
    /// The filters.
    #[serde(flatten)]
    pub filters: SearchFilters,
}

impl SimilarOptions {
    /// Options from a JSON value (`null` for the defaults).
    pub fn from_json(value: serde_json::Value) -> Result<Self, EngineError> {
        super::options_from_json(value, "similar-track options")
    }
}

/// One similar track.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimilarItem {
    /// The song.
    pub id: String,
    /// A path of it in the library, if it has one.
    pub path: Option<String>,
    /// Total similarity: standard deviations closer than a typical pair of the library.
    pub score: f32,
    /// The parts of the score.
    pub parts: ScoreParts,
}

/// `similarTracks`' result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimilarOutcome {
    /// Best first.
    pub items: Vec<SimilarItem>,
    /// Whether the approximate index answered (else every track was compared).
    pub approximate: bool,
    /// With `explain`: the candidates the filters removed and the rule that did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filtered: Option<Vec<Filtered>>,
}

/// A snapshot of the search index with the library's paths, cheap to clone and shareable
/// between threads ([`Engine::searcher`]): searches run on it in parallel while the engine
/// goes on with other work. It sees the features as they were when it was taken, and paths as
/// they are.
#[derive(Debug, Clone)]
pub struct Searcher {
    index: Arc<SearchIndex>,
    ann: Option<Arc<AnnIndex>>,
    paths: Arc<RwLock<PathIndex>>,
}

impl Searcher {
    /// Tracks searched.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the library has no track to search.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The search index.
    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    /// The first path (in path order) of each of a few songs, from the in-memory path index.
    pub(super) fn paths_of<'a>(
        &self,
        song_ids: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, String>, EngineError> {
        let index = self
            .paths
            .read()
            .map_err(|_| EngineError::new(ErrorCode::InternalError, "the path index lock is poisoned"))?;
        let paths: HashMap<String, String> =
            song_ids.filter_map(|id| index.first_path(id).map(|path| (id.to_string(), path.to_string()))).collect();
        Ok(paths)
    }

    /// `similarTracks(songId, options)`: the `k` tracks most like the song that pass the
    /// filters, best first, each with its score parts; `explain` also returns what the filters
    /// removed. `not_found` for a song the library does not hold.
    pub fn similar_tracks(&self, song_id: &str, options: &SimilarOptions) -> Result<SimilarOutcome, EngineError> {
        let (view, facts) = self
            .index
            .track(song_id)
            .ok_or_else(|| EngineError::new(ErrorCode::NotFound, format!("song {song_id} is not in the library")))?;
        let (hits, filtered, approximate) = self.search(Some(song_id), &view, facts, options);
        let items = self.similar_items(hits)?;
        Ok(SimilarOutcome { items, approximate, filtered: options.explain.then_some(filtered) })
    }

    /// The `k` tracks most like a track that is not (necessarily) in the library, given by its
    /// features, that pass the filters, best first, leaving out `exclude`.
    pub fn similar_to_features(
        &self,
        features: &SongFeatures,
        exclude: Option<&str>,
        options: &SimilarOptions,
    ) -> Result<Vec<SimilarItem>, EngineError> {
        let view = self.index.prepare(&track_view(features));
        let (hits, _, _) = self.search(exclude, &view, &TrackFacts::of(features), options);
        self.similar_items(hits)
    }

    /// Exact or approximate search (see the module header); the flag says which answered.
    fn search(
        &self,
        query_id: Option<&str>,
        view: &PreparedView,
        facts: &TrackFacts,
        options: &SimilarOptions,
    ) -> (Vec<Hit>, Vec<Filtered>, bool) {
        // A `k` past the library's size asks for every track.
        let (k, filters) = (options.k.unwrap_or(DEFAULT_K).min(self.index.len()), &options.filters);
        let index = &self.index;
        let accept = |p: usize| filters.check(index.id(p), facts, index.facts_at(p)).is_ok();
        if let Some(ann) = self.ann.as_ref().filter(|_| !options.exact && !options.explain) {
            let passing = if *filters == SearchFilters::default() {
                index.len()
            } else {
                (0..index.len()).filter(|&p| accept(p)).count()
            };
            if passing as f64 >= APPROXIMATE_MIN_PASS_SHARE * index.len() as f64 {
                let query_position = query_id.and_then(|id| index.position(id));
                return (ann.search(index, view, query_position, &accept, k, DEFAULT_EF.max(k)), Vec::new(), true);
            }
        }
        let (hits, filtered) = index.search(query_id, view, facts, filters, k, options.explain);
        (hits, filtered, false)
    }

    /// Search hits with their paths.
    fn similar_items(&self, hits: Vec<Hit>) -> Result<Vec<SimilarItem>, EngineError> {
        let paths = self.paths_of(hits.iter().map(|h| h.id.as_str()))?;
        Ok(hits
            .into_iter()
            .map(|h| SimilarItem { path: paths.get(&h.id).cloned(), id: h.id, score: h.score, parts: h.parts })
            .collect())
    }
}

impl<S: TasteStore> Engine<S> {
    /// The search index with the paths, built on first use and again after stored features
    /// change, with the approximate index bound to it in a large library.
    pub fn searcher(&mut self) -> Result<Searcher, EngineError> {
        let index = match &self.search {
            Some(index) => Arc::clone(index),
            None => {
                let index = Arc::new(SearchIndex::build(&self.store)?);
                self.ann = self.synced_ann(&index)?.map(Arc::new);
                self.search = Some(Arc::clone(&index));
                index
            }
        };
        Ok(Searcher { index, ann: self.ann.clone(), paths: Arc::clone(&self.index) })
    }

    /// The approximate index brought up to date with `index` (from memory, the kept file, or
    /// built), and kept again when it changed; `None` below [`APPROXIMATE_FROM_TRACKS`].
    fn synced_ann(&mut self, index: &SearchIndex) -> Result<Option<AnnIndex>, EngineError> {
        if index.len() < self.approximate_from_tracks {
            return Ok(None);
        }
        let previous = self.ann.take().map(|a| Arc::try_unwrap(a).unwrap_or_else(|shared| (*shared).clone()));
        let previous = match previous {
            Some(ann) => Some(ann),
            None => match self.store.index_file(ANN_FILE)? {
                Some(bytes) => match AnnIndex::from_file(&bytes) {
                    Ok(ann) => Some(ann),
                    Err(e) => {
                        tracing::warn!("the kept similar-track index is not used, building it again: {e}");
                        None
                    }
                },
                None => None,
            },
        };
        let (ann, changed) = match previous {
            Some(mut ann) => {
                let summary = ann.sync(index);
                tracing::debug!(?summary, "similar-track index brought up to date");
                (ann, summary.changed())
            }
            None => (AnnIndex::build(index), true),
        };
        if changed {
            match ann.to_file() {
                Ok(bytes) => {
                    if let Err(e) = self.store.put_index_file(ANN_FILE, &bytes) {
                        tracing::warn!("cannot keep the similar-track index: {e}");
                    }
                }
                Err(e) => tracing::warn!("cannot encode the similar-track index: {e}"),
            }
        }
        Ok(Some(ann))
    }

    /// Use the approximate index from `tracks` tracks on (default [`APPROXIMATE_FROM_TRACKS`]);
    /// takes effect with the next search index.
    pub fn set_approximate_from_tracks(&mut self, tracks: usize) {
        self.approximate_from_tracks = tracks;
        self.search = None;
    }

    /// [`Searcher::similar_tracks`] on the library as it is now.
    pub fn similar_tracks(&mut self, song_id: &str, options: &SimilarOptions) -> Result<SimilarOutcome, EngineError> {
        self.searcher()?.similar_tracks(song_id, options)
    }
}
