//! Similar-track search over a library: exact search with the combined similarity
//! (`similar`), the default and the ground truth any approximate index is measured against.
//! A [`SearchIndex`] holds what the similarity needs of every track (embedding, timbre, tags)
//! and what the filters need (tempo, a clear key, duration), fitted once per library state;
//! [`SearchIndex::search`] ranks every other track, applies [`SearchFilters`] and returns the
//! best `k` with their score parts, so a person can see why a track came up.
//!
//! Snippet identification ([`identify`]) finds which track a recording is, and where in it.
//!
//! Not here yet: the persisted approximate index for large libraries.

mod filter;
pub mod identify;

pub use filter::{FilterRule, KEY_CLEAR_STRENGTH, SearchFilters, parse_range};
pub use identify::{PrintIndex, PrintMatch, QueryPrint};

use std::collections::HashMap;

use serde::Serialize;

use crate::error::StoreError;
use crate::features::Key;
use crate::record::SongFeatures;
use crate::similar::{PreparedView, Similarity, TrackView, Weights};
use crate::store::Store;

/// What the filters look at of one track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackFacts {
    /// Tempo, if the track has a pulse.
    pub bpm: Option<f32>,
    /// The key, only when it is clear ([`KEY_CLEAR_STRENGTH`]).
    pub clear_key: Option<Key>,
    /// Duration in seconds.
    pub duration_sec: f64,
}

impl TrackFacts {
    /// The facts of a stored record.
    pub fn of(features: &SongFeatures) -> Self {
        let clear = features.key_strength.is_some_and(|s| s >= KEY_CLEAR_STRENGTH);
        Self { bpm: features.bpm, clear_key: features.key.filter(|_| clear), duration_sec: features.duration_sec }
    }
}

/// The similarity's view of a stored record.
pub fn track_view(features: &SongFeatures) -> TrackView {
    TrackView {
        embedding: features.embedding.as_ref().map(|e| e.vector.clone()),
        timbre: features.timbre.clone(),
        tags: features.embedding.as_ref().map(|e| e.tags.clone()).filter(|t| !t.is_empty()),
    }
}

/// How similar a result is: the total and its parts, each in standard deviations closer than
/// a typical pair of the library (higher is more similar; 0 is typical). The total is the
/// weighted mean of the parts both tracks have.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreParts {
    /// The neural embedding (z-scored cosine).
    pub embedding: Option<f32>,
    /// The MFCC timbre model (symmetric KL).
    pub timbre: Option<f32>,
    /// The model's tag probabilities (cosine).
    pub tags: Option<f32>,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Hit {
    /// The similar song.
    pub id: String,
    /// Total similarity (see [`ScoreParts`]).
    pub score: f32,
    /// Its parts.
    pub parts: ScoreParts,
}

/// A candidate a filter removed, and which rule did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filtered {
    /// The song.
    pub id: String,
    /// The rule that removed it.
    pub rule: FilterRule,
}

/// Every track's similarity view and filter facts, with the similarity fitted to them.
#[derive(Debug, Clone)]
pub struct SearchIndex {
    ids: Vec<String>,
    /// Prepared once, so a query costs one comparison per track and nothing more.
    views: Vec<PreparedView>,
    facts: Vec<TrackFacts>,
    position: HashMap<String, usize>,
    similarity: Similarity,
}

impl SearchIndex {
    /// Index every stored track (sorted by song id, so results are deterministic).
    pub fn build(store: &dyn Store) -> Result<Self, StoreError> {
        let mut ids: Vec<String> = store.song_versions()?.into_iter().map(|v| v.song_id).collect();
        ids.sort();
        let (mut kept, mut views, mut facts) = (Vec::new(), Vec::new(), Vec::new());
        for id in ids {
            if let Some(f) = store.song_features(&id)? {
                views.push(track_view(&f));
                facts.push(TrackFacts::of(&f));
                kept.push(id);
            }
        }
        let similarity = Similarity::fit(&views, Weights::default());
        let views = views.iter().map(|v| similarity.prepare(v)).collect();
        let position = kept.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect();
        Ok(Self { ids: kept, views, facts, position, similarity })
    }

    /// Tracks indexed.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no track is indexed.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The prepared view and facts of an indexed song.
    pub fn track(&self, song_id: &str) -> Option<(&PreparedView, &TrackFacts)> {
        self.position.get(song_id).map(|&i| (&self.views[i], &self.facts[i]))
    }

    /// Prepare a query that is not in the index (e.g. from audio) for [`SearchIndex::search`].
    pub fn prepare(&self, view: &TrackView) -> PreparedView {
        self.similarity.prepare(view)
    }

    /// How similar the indexed track `i` is to `query`: total and parts (`None` when they share
    /// no part).
    fn score(&self, query: &PreparedView, i: usize) -> Option<(f32, ScoreParts)> {
        let standardised = self.similarity.prepared_standardised(query, &self.views[i]);
        let distance = self.similarity.combine(standardised)?;
        let [embedding, timbre, tags] = standardised;
        Some((
            -distance,
            ScoreParts { embedding: embedding.map(|d| -d), timbre: timbre.map(|d| -d), tags: tags.map(|d| -d) },
        ))
    }

    /// How similar an indexed song is to `query` (`None` for a song not indexed or sharing no
    /// part with the query).
    pub fn score_of(&self, query: &PreparedView, song_id: &str) -> Option<(f32, ScoreParts)> {
        self.position.get(song_id).and_then(|&i| self.score(query, i))
    }

    /// The `k` tracks most similar to `query` that pass `filters`, best first (ties by song id),
    /// with the candidates the filters removed when `explain` is set. The query song itself
    /// (`query_id`) is never a result.
    pub fn search(
        &self,
        query_id: Option<&str>,
        query: &PreparedView,
        query_facts: &TrackFacts,
        filters: &SearchFilters,
        k: usize,
        explain: bool,
    ) -> (Vec<Hit>, Vec<Filtered>) {
        let mut scored: Vec<(f32, usize, ScoreParts)> = Vec::new();
        let mut filtered = Vec::new();
        for (i, id) in self.ids.iter().enumerate() {
            if Some(id.as_str()) == query_id {
                continue;
            }
            if let Err(rule) = filters.check(id, query_facts, &self.facts[i]) {
                if explain {
                    filtered.push(Filtered { id: id.clone(), rule });
                }
                continue;
            }
            let Some((score, parts)) = self.score(query, i) else { continue };
            scored.push((score, i, parts));
        }
        // Best first, ties by song id (the index is sorted by id); only the top k are ordered.
        let best_first =
            |a: &(f32, usize, ScoreParts), b: &(f32, usize, ScoreParts)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        if k < scored.len() {
            scored.select_nth_unstable_by(k, best_first);
            scored.truncate(k);
        }
        scored.sort_by(best_first);
        let hits = scored.into_iter().map(|(score, i, parts)| Hit { id: self.ids[i].clone(), score, parts }).collect();
        (hits, filtered)
    }
}
