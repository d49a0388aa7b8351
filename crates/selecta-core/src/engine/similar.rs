//! Similar tracks through the engine: the search index is built from the store on first use
//! and dropped whenever stored features change (a committed analysis, an import), so a search
//! always sees the library as it is.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::error::{EngineError, ErrorCode};
use crate::retrieval::{Filtered, ScoreParts, SearchFilters, SearchIndex};
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

impl<S: TasteStore> Engine<S> {
    /// The first path (in path order) of each of a few songs, from the in-memory path index.
    fn paths_of<'a>(&self, song_ids: impl Iterator<Item = &'a str>) -> Result<HashMap<String, String>, EngineError> {
        let wanted: HashSet<&str> = song_ids.collect();
        let mut paths: HashMap<String, String> = HashMap::new();
        for e in self.index()?.entries().filter(|e| wanted.contains(e.song_id.as_str())) {
            let path = paths.entry(e.song_id.clone()).or_insert_with(|| e.file_path.clone());
            if e.file_path < *path {
                path.clone_from(&e.file_path);
            }
        }
        Ok(paths)
    }

    /// The search index, built on first use.
    fn search_index(&mut self) -> Result<&SearchIndex, EngineError> {
        if self.search.is_none() {
            self.search = Some(SearchIndex::build(&self.store)?);
        }
        self.search.as_ref().ok_or_else(|| EngineError::new(ErrorCode::InternalError, "search index missing"))
    }

    /// `similarTracks(songId, options)`: the `k` tracks most like the song that pass the
    /// filters, best first, each with its score parts; `explain` also returns what the filters
    /// removed. `not_found` for a song the library does not hold.
    pub fn similar_tracks(&mut self, song_id: &str, options: &SimilarOptions) -> Result<SimilarOutcome, EngineError> {
        let (k, explain, filters) = (options.k.unwrap_or(DEFAULT_K), options.explain, &options.filters);
        let index = self.search_index()?;
        let (view, facts) = index
            .track(song_id)
            .ok_or_else(|| EngineError::new(ErrorCode::NotFound, format!("song {song_id} is not in the library")))?;
        let (hits, filtered) = index.search(Some(song_id), view, facts, filters, k, explain);
        let paths = self.paths_of(hits.iter().map(|h| h.id.as_str()))?;
        let items = hits
            .into_iter()
            .map(|h| SimilarItem { path: paths.get(&h.id).cloned(), id: h.id, score: h.score, parts: h.parts })
            .collect();
        Ok(SimilarOutcome { items, filtered: explain.then_some(filtered) })
    }
}
