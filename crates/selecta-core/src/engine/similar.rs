//! Similar tracks through the engine: the search index is built from the store on first use
//! and dropped whenever stored features change (a committed analysis, an import), so a search
//! always sees the library as it is. A [`Searcher`] is a shareable snapshot of it, so a front
//! end can answer many searches at once without holding the engine.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::error::{EngineError, ErrorCode};
use crate::path_index::PathIndex;
use crate::record::SongFeatures;
use crate::retrieval::{Filtered, Hit, ScoreParts, SearchFilters, SearchIndex, TrackFacts, track_view};
use crate::store::TasteStore;

/// Results returned when a call does not say.
pub const DEFAULT_K: usize = 10;

/// `similarTracks`' options (`{k, explain, bpm: [lo, hi], halfDouble, keyCompatible, exclude,
/// duration: [lo, hi]}`; every field optional).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SimilarOptions {
    /// How many results (default [`DEFAULT_K`]).
    pub k: Option<usize>,
    /// Also return the candidates the filters removed, with the rule.
    pub explain: bool,
    /// The filters.
    #[serde(flatten)]
    pub filters: SearchFilters,
}

impl SimilarOptions {
    /// Options from a JSON value (`null` for the defaults).
    pub fn from_json(value: serde_json::Value) -> Result<Self, EngineError> {
        if value.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(value).map_err(|e| EngineError::invalid_input(format!("similar-track options: {e}")))
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
        let wanted: HashSet<&str> = song_ids.collect();
        let index = self
            .paths
            .read()
            .map_err(|_| EngineError::new(ErrorCode::InternalError, "the path index lock is poisoned"))?;
        let mut paths: HashMap<String, String> = HashMap::new();
        for e in index.entries().filter(|e| wanted.contains(e.song_id.as_str())) {
            let path = paths.entry(e.song_id.clone()).or_insert_with(|| e.file_path.clone());
            if e.file_path < *path {
                path.clone_from(&e.file_path);
            }
        }
        Ok(paths)
    }

    /// `similarTracks(songId, options)`: the `k` tracks most like the song that pass the
    /// filters, best first, each with its score parts; `explain` also returns what the filters
    /// removed. `not_found` for a song the library does not hold.
    pub fn similar_tracks(&self, song_id: &str, options: &SimilarOptions) -> Result<SimilarOutcome, EngineError> {
        let (k, explain, filters) = (options.k.unwrap_or(DEFAULT_K), options.explain, &options.filters);
        let (view, facts) = self
            .index
            .track(song_id)
            .ok_or_else(|| EngineError::new(ErrorCode::NotFound, format!("song {song_id} is not in the library")))?;
        let (hits, filtered) = self.index.search(Some(song_id), &view, facts, filters, k, explain);
        let items = self.similar_items(hits)?;
        Ok(SimilarOutcome { items, filtered: explain.then_some(filtered) })
    }

    /// The `k` tracks most like a track that is not (necessarily) in the library, given by its
    /// features, that pass the filters, best first, leaving out `exclude`.
    pub fn similar_to_features(
        &self,
        features: &SongFeatures,
        exclude: Option<&str>,
        options: &SimilarOptions,
    ) -> Result<Vec<SimilarItem>, EngineError> {
        let k = options.k.unwrap_or(DEFAULT_K);
        let view = self.index.prepare(&track_view(features));
        let (hits, _) = self.index.search(exclude, &view, &TrackFacts::of(features), &options.filters, k, false);
        self.similar_items(hits)
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
    /// change.
    pub fn searcher(&mut self) -> Result<Searcher, EngineError> {
        let index = match &self.search {
            Some(index) => Arc::clone(index),
            None => {
                let index = Arc::new(SearchIndex::build(&self.store)?);
                self.search = Some(Arc::clone(&index));
                index
            }
        };
        Ok(Searcher { index, paths: Arc::clone(&self.index) })
    }

    /// [`Searcher::similar_tracks`] on the library as it is now.
    pub fn similar_tracks(&mut self, song_id: &str, options: &SimilarOptions) -> Result<SimilarOutcome, EngineError> {
        self.searcher()?.similar_tracks(song_id, options)
    }
}
