//! Similar-track search over a library: exact search with the combined similarity
//! (`similar`), the default and the ground truth any approximate index is measured against.
//! A [`SearchIndex`] holds what the similarity needs of every track (embedding, timbre, tags)
//! and what the filters need (tempo, a clear key, duration), fitted once per library state;
//! [`SearchIndex::search`] ranks every other track, applies [`SearchFilters`] and returns the
//! best `k` with their score parts, so a person can see why a track came up.
//!
//! Snippet identification ([`identify`]) finds which track a recording is, and where in it.
//!
//! [`ann`] is the approximate index for large libraries, kept in the library folder.

pub mod ann;
pub mod coarse;
mod dot;
mod exact_rows;
mod filter;
pub mod hnsw;
pub mod identify;
mod prefetch;
mod raw_column;
mod timbre_bound;
mod walk_rows;

pub use filter::{FilterRule, KEY_CLEAR_STRENGTH, SearchFilters, parse_range};
pub use identify::{PrintIndex, PrintMatch, QueryPrint};

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

use serde::Serialize;

use self::coarse::{CoarseColumn, CoarseQuery};
use self::exact_rows::ExactRows;
use self::raw_column::RaggedColumn;
use self::timbre_bound::{TimbreBounds, TimbreBoundsFit, TimbreSummary, divergence_lower_bound};
use crate::error::StoreError;
use crate::features::timbre::{dot, packed_divergence};
use crate::features::{DjFeatures, Key};
use crate::record::SongFeatures;
use crate::record_views::RecordViews;
use crate::similar::{
    DimensionStats, PreparedRef, PreparedView, ScaleFit, Similarity, TrackView, TrackViewRef, Weights, timbre_means,
};
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

/// The similarity's view of a stored record, borrowed.
pub fn track_view_ref(features: &SongFeatures) -> TrackViewRef<'_> {
    TrackViewRef {
        embedding: features.embedding.as_ref().map(|e| e.vector.as_slice()),
        timbre: features.timbre.as_deref(),
        tags: features.embedding.as_ref().map(|e| e.tags.as_slice()).filter(|t| !t.is_empty()),
    }
}

/// The similarity's view of a stored record.
pub fn track_view(features: &SongFeatures) -> TrackView {
    let view = track_view_ref(features);
    TrackView {
        embedding: view.embedding.map(<[f32]>::to_vec),
        timbre: view.timbre.map(<[f32]>::to_vec),
        tags: view.tags.map(<[f32]>::to_vec),
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
    /// What identifies the stored features each track was indexed from (file hash, analysis
    /// and model versions), as a 64-bit digest: a kept approximate index compares them to find
    /// re-analysed songs (the text would be 6 MiB at 50 000 tracks).
    stamps: Vec<u64>,
    /// Each track's full-precision prepared rows, or where to prepare them from
    /// ([`exact_rows`]).
    rows: ExactRows,
    /// Eight-bit copies of the embedding and tag columns: what exact search streams first.
    coarse: CoarseViews,
    /// What bounds a timbre divergence from below ([`timbre_bound`]), per track.
    timbre_bounds: TimbreBounds,
    timbre_summaries: Vec<Option<TimbreSummary>>,
    facts: Vec<TrackFacts>,
    /// Positions in song-id order, for finding a song by binary search: a map of the ids
    /// would hold a third copy of every id (≈ 5 MiB at 50 000 tracks).
    by_id: Vec<u32>,
    similarity: Similarity,
    /// The DJ features, for the next-track ranking.
    dj: Vec<Option<DjFeatures>>,
}

/// The coarse embedding and tag columns ([`coarse`]).
#[derive(Debug, Clone, Default)]
struct CoarseViews {
    embedding: CoarseColumn,
    tags: CoarseColumn,
}

/// A query's codes for the coarse columns.
struct CoarseQueries {
    embedding: Option<CoarseQuery>,
    tags: Option<CoarseQuery>,
}

/// The first 64 bits of a stamp's SHA-256: the same on every platform, as the kept approximate
/// index moves between them.
fn stamp_digest(stamp: &str) -> u64 {
    let digest = crate::hash::sha256(stamp.as_bytes());
    u64::from_le_bytes(std::array::from_fn(|i| digest[i]))
}

/// What a [`SearchIndex`] keeps of each track, prepared as the tracks arrive in index order.
struct IndexColumns {
    /// Standardised (the scales are fitted in [`IndexColumns::finish`]).
    similarity: Similarity,
    rows: ExactRows,
    coarse: CoarseViews,
    /// For the shared form, which keeps no prepared rows to fit the scales and the timbre
    /// bounds to afterwards.
    scale_fit: ScaleFit,
    timbre_fit: TimbreBoundsFit,
}

impl IndexColumns {
    fn new(similarity: Similarity, rows: usize, shared: bool) -> Self {
        Self {
            scale_fit: similarity.scale_fit(rows),
            similarity,
            rows: ExactRows::with_capacity(rows, shared),
            coarse: CoarseViews {
                embedding: CoarseColumn::with_capacity(rows),
                tags: CoarseColumn::with_capacity(rows),
            },
            timbre_fit: TimbreBoundsFit::default(),
        }
    }

    /// The next track: its view, its intro and outro embeddings (prepared like the track
    /// embedding), and for the shared form its record.
    fn push(
        &mut self,
        view: TrackViewRef<'_>,
        intro: Option<&[f32]>,
        outro: Option<&[f32]>,
        record: Option<Arc<[u8]>>,
    ) {
        let prepared = self.similarity.prepare_ref(view);
        self.coarse.embedding.push(prepared.embedding.as_deref());
        self.coarse.tags.push(prepared.tags.as_deref());
        self.rows.push(&prepared, intro, outro, record, &self.similarity);
        if let ExactRows::Shared(_) = self.rows {
            // What the resident form reads back from its columns: the row as they keep it.
            let kept = self.rows.as_kept(self.rows.len() - 1, prepared);
            if let Some(t) = &kept.timbre {
                self.timbre_fit.add(t);
            }
            self.scale_fit.push(&self.similarity, kept);
        }
    }

    /// [`IndexColumns::push`] of a stored record (`None`: no views).
    fn push_record(&mut self, f: Option<&SongFeatures>, record: Option<Arc<[u8]>>) {
        let e = f.and_then(|f| f.embedding.as_ref());
        let (intro, outro) = (e.and_then(|e| e.intro.as_deref()), e.and_then(|e| e.outro.as_deref()));
        self.push(f.map(track_view_ref).unwrap_or_default(), intro, outro, record);
    }

    /// The index of the tracks pushed (`ids` and `facts` in the same order; no stamps), with
    /// the similarity's distance scales fitted to them.
    fn finish(self, ids: Vec<String>, facts: Vec<TrackFacts>, dj: Vec<Option<DjFeatures>>) -> SearchIndex {
        let Self { mut similarity, rows, coarse, scale_fit, timbre_fit } = self;
        let (timbre_bounds, timbre_summaries) = match &rows {
            ExactRows::Resident { views, .. } => {
                similarity.fit_scales(ids.len(), |i| views.row(i));
                let n = rows.len();
                let bounds = TimbreBounds::fit((0..n).filter_map(|i| views.timbre.row(i)));
                let summaries = (0..n).map(|i| views.timbre.row(i).and_then(|t| bounds.summary(t))).collect();
                (bounds, summaries)
            }
            ExactRows::Shared(_) => {
                scale_fit.finish(&mut similarity);
                let bounds = timbre_fit.finish();
                let summaries = (0..rows.len())
                    .map(|i| {
                        let timbre = rows.has_timbre(i).then(|| rows.view(i, &similarity).timbre).flatten();
                        timbre.and_then(|t| bounds.summary(&t))
                    })
                    .collect();
                (bounds, summaries)
            }
        };
        let mut by_id: Vec<u32> = (0..ids.len() as u32).collect();
        by_id.sort_by(|&a, &b| ids[a as usize].cmp(&ids[b as usize]));
        SearchIndex {
            stamps: vec![0; ids.len()],
            ids,
            rows,
            coarse,
            timbre_bounds,
            timbre_summaries,
            facts,
            by_id,
            similarity,
            dj,
        }
    }
}

impl SearchIndex {
    /// Index every stored track (sorted by song id, so results are deterministic).
    ///
    /// Two passes over the store. The first fits the standardisation to every embedding and
    /// timbre model; the second reads each track again and prepares it straight into the
    /// index's own columns, and the distance scales are fitted on those. A copy of the raw
    /// views (the intro and outro embeddings alone are 1.6 KB a track) never exists beside the
    /// index, and the peak stays near what the index keeps.
    ///
    /// From a store that keeps its records in memory ([`Store::shared_record`]) the index keeps
    /// no prepared rows but the record's bytes, shared with the store ([`exact_rows`]); the
    /// first pass then reads each record three times (the facts, the means, the spreads) rather
    /// than hold the raw vectors meanwhile, which would be most of what the index keeps.
    pub fn build(store: &dyn Store) -> Result<Self, StoreError> {
        let mut versions = store.song_versions()?;
        versions.sort_by(|a, b| a.song_id.cmp(&b.song_id));
        let shared = versions.iter().all(|v| store.shared_record(&v.song_id).is_some());
        Self::build_from(store, versions, shared)
    }

    /// [`SearchIndex::build`] of the songs `versions` (sorted), in the shared form when
    /// `shared` (every song has a shared record).
    fn build_from(
        store: &dyn Store,
        versions: Vec<crate::store::SongVersion>,
        shared: bool,
    ) -> Result<Self, StoreError> {
        let n = versions.len();
        let (mut kept, mut stamps, mut facts, mut dj) =
            (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let mut records = Vec::with_capacity(if shared { n } else { 0 });
        let [mut embedding, mut timbre] = std::array::from_fn(|_| RaggedColumn::with_rows(if shared { 0 } else { n }));
        let (mut embeddings, mut timbres) = (0usize, 0usize);
        for v in versions {
            let record = if shared { store.shared_record(&v.song_id) } else { None };
            let features = match &record {
                Some(bytes) => Some(SongFeatures::from_bytes(bytes)?),
                None => store.song_features(&v.song_id)?,
            };
            if let Some(f) = features {
                let view = track_view_ref(&f);
                if shared {
                    embeddings += usize::from(view.embedding.is_some());
                    timbres += usize::from(view.timbre.and_then(timbre_means).is_some());
                    records.push(record);
                } else {
                    embedding.push(view.embedding);
                    timbre.push(view.timbre);
                }
                facts.push(TrackFacts::of(&f));
                stamps.push(stamp_digest(&format!(
                    "{}/{}/{}/{}",
                    v.file_hash,
                    v.analysis_version,
                    v.model_version.as_deref().unwrap_or("-"),
                    v.embedding_profile.map_or("-", |p| p.name())
                )));
                dj.push(f.dj);
                kept.push(v.song_id);
            }
        }
        let rows = kept.len();
        let similarity = if shared {
            Self::standardisation_of_records(&records, embeddings, timbres)?
        } else {
            Similarity::standardisation(
                (0..rows).filter_map(|i| embedding.get(i)),
                (0..rows).filter_map(|i| timbre.get(i)),
                Weights::default(),
            )
        };
        drop((embedding, timbre));
        let mut columns = IndexColumns::new(similarity, rows, shared);
        if shared {
            for record in records {
                let views = record.as_deref().map(RecordViews::from_bytes).transpose()?;
                let e = views.as_ref().and_then(|v| v.embedding.as_ref());
                let (intro, outro) = (e.and_then(|e| e.intro.as_deref()), e.and_then(|e| e.outro.as_deref()));
                columns.push(views.as_ref().map(exact_rows::view_ref).unwrap_or_default(), intro, outro, record);
            }
        } else {
            for id in &kept {
                // A track gone since the first pass keeps its place, with no views.
                columns.push_record(store.song_features(id)?.as_ref(), None);
            }
        }
        let mut index = columns.finish(kept, facts, dj);
        index.stamps = stamps;
        Ok(index)
    }

    /// [`Similarity::standardisation`] of the records' embeddings and timbre models, read
    /// from the records pass by pass (`embeddings` and `timbres`: how many have each).
    fn standardisation_of_records(
        records: &[Option<Arc<[u8]>>],
        embeddings: usize,
        timbres: usize,
    ) -> Result<Similarity, StoreError> {
        let each = |visit: &mut dyn FnMut(TrackViewRef<'_>)| -> Result<(), StoreError> {
            for bytes in records.iter().flatten() {
                visit(exact_rows::view_ref(&RecordViews::without_transitions(bytes)?));
            }
            Ok(())
        };
        let (mut embedding, mut timbre) = (DimensionStats::new(embeddings), DimensionStats::new(timbres));
        each(&mut |view| {
            view.embedding.into_iter().for_each(|e| embedding.add_to_mean(e));
            view.timbre.and_then(timbre_means).into_iter().for_each(|t| timbre.add_to_mean(t));
        })?;
        each(&mut |view| view.embedding.into_iter().for_each(|e| embedding.add_to_spread(e)))?;
        Ok(Similarity::from_statistics(embedding.finish(), timbre.mean().unwrap_or_default(), Weights::default()))
    }

    /// The prepared intro embedding at a position (the track's own where it has no intro).
    pub fn intro_at(&self, position: usize) -> Option<Cow<'_, [f32]>> {
        self.rows.transition(position, false, &self.similarity)
    }

    /// The prepared outro embedding at a position (the track's own where it has no outro).
    pub fn outro_at(&self, position: usize) -> Option<Cow<'_, [f32]>> {
        self.rows.transition(position, true, &self.similarity)
    }

    /// The prepared track embedding at a position.
    pub fn embedding_at(&self, position: usize) -> Option<Cow<'_, [f32]>> {
        self.rows.embedding(position, &self.similarity)
    }

    /// The 8-bit intro codes and a query for them, where the index keeps no full-precision
    /// intros ([`exact_rows`]): what places a candidate in the next-track ranking without
    /// preparing its intro.
    pub(crate) fn intro_codes(&self, outro: &[f32]) -> Option<(&CoarseColumn, CoarseQuery)> {
        self.rows.intro_codes(outro)
    }

    /// The DJ features at a position.
    pub fn dj_at(&self, position: usize) -> Option<&DjFeatures> {
        self.dj.get(position).and_then(Option::as_ref)
    }

    /// Index tracks given by their views (`ids` sorted, one view and facts per id; no stamps).
    pub fn from_views(ids: Vec<String>, views: Vec<TrackView>, facts: Vec<TrackFacts>, weights: Weights) -> Self {
        let refs: Vec<TrackViewRef<'_>> = views.iter().map(TrackViewRef::from).collect();
        Self::from_view_refs(ids, &refs, facts, weights)
    }

    /// [`SearchIndex::from_views`] of borrowed views.
    fn from_view_refs(ids: Vec<String>, views: &[TrackViewRef<'_>], facts: Vec<TrackFacts>, weights: Weights) -> Self {
        let similarity = Similarity::standardisation(
            views.iter().filter_map(|v| v.embedding),
            views.iter().filter_map(|v| v.timbre),
            weights,
        );
        let mut columns = IndexColumns::new(similarity, views.len(), false);
        for &v in views {
            columns.push(v, None, None, None);
        }
        columns.finish(ids, facts, Vec::new())
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
    pub fn track(&self, song_id: &str) -> Option<(PreparedView, &TrackFacts)> {
        self.position(song_id).map(|i| (self.view_at(i), &self.facts[i]))
    }

    /// The song id at a position.
    pub fn id(&self, position: usize) -> &str {
        &self.ids[position]
    }

    /// The stamp of the features at a position (see [`SearchIndex::build`]).
    pub fn stamp(&self, position: usize) -> u64 {
        self.stamps[position]
    }

    /// The position of a song.
    pub fn position(&self, song_id: &str) -> Option<usize> {
        let found = self.by_id.binary_search_by(|&p| self.ids[p as usize].as_str().cmp(song_id));
        found.ok().map(|at| self.by_id[at] as usize)
    }

    /// The prepared view at a position.
    pub fn view_at(&self, position: usize) -> PreparedView {
        self.rows.view(position, &self.similarity)
    }

    /// Combined distance from `query` to the track at `position` (lower is closer; +∞ when
    /// they share no part): what the approximate index ranks its beam by.
    pub fn distance(&self, query: &PreparedView, position: usize) -> f32 {
        self.score(query, position).map_or(f32::INFINITY, |(score, _)| -score)
    }

    /// Ask for the full-precision rows of the track at `position` from memory ahead of its
    /// [`SearchIndex::distance`], without waiting for them (see [`prefetch::prefetch_slice`]):
    /// ranking a beam of scattered tracks is bound by those reads otherwise.
    pub(crate) fn prefetch(&self, position: usize) {
        self.rows.prefetch(position);
    }

    /// A hit for the track at `position` with its score parts (`None` when it shares no part
    /// with the query).
    pub fn hit(&self, query: &PreparedView, position: usize) -> Option<Hit> {
        let (score, parts) = self.score(query, position)?;
        Some(Hit { id: self.ids[position].clone(), score, parts })
    }

    /// The filter facts at a position.
    pub fn facts_at(&self, position: usize) -> &TrackFacts {
        &self.facts[position]
    }

    /// Prepare a query that is not in the index (e.g. from audio) for [`SearchIndex::search`].
    pub fn prepare(&self, view: &TrackView) -> PreparedView {
        self.similarity.prepare(view)
    }

    /// The raw distances (embedding, tags) of a track's prepared `row` to `query`: the cheap
    /// parts, each a dot product.
    fn cheap_parts(query: PreparedRef<'_>, row: PreparedRef<'_>) -> (Option<f32>, Option<f32>) {
        let cosine = |q: Option<&[f32]>, r: Option<&[f32]>| match (q, r) {
            (Some(q), Some(r)) if q.len() == r.len() => Some(1.0 - dot(q, r)),
            _ => None,
        };
        (cosine(query.embedding, row.embedding), cosine(query.tags, row.tags))
    }

    /// Lower bounds of the raw distances (embedding, tags) of the indexed track `i` to a query,
    /// from the coarse columns: `None` exactly where [`SearchIndex::cheap_parts`] gives `None`.
    #[inline]
    fn cheap_lower_bounds(&self, query: &CoarseQueries, i: usize) -> (Option<f32>, Option<f32>) {
        let lowest = |q: &Option<CoarseQuery>, column: &CoarseColumn| {
            q.as_ref().and_then(|q| column.dot_interval(q, i)).map(|(_, highest_dot)| 1.0 - highest_dot)
        };
        (lowest(&query.embedding, &self.coarse.embedding), lowest(&query.tags, &self.coarse.tags))
    }

    /// The timbre divergence part of a track's prepared `row` to `query`.
    fn timbre_part(query: PreparedRef<'_>, row: PreparedRef<'_>) -> Option<f32> {
        packed_divergence(query.timbre?, row.timbre?).map(f32::ln_1p)
    }

    /// The combined distance and its standardised parts from raw parts.
    fn combined(&self, raw: [Option<f32>; 3]) -> Option<(f32, [Option<f32>; 3])> {
        let standardised = self.similarity.standardise(raw);
        Some((self.similarity.combine(standardised)?, standardised))
    }

    /// How similar the indexed track `i` is to `query`: total and parts (`None` when they share
    /// no part).
    fn score(&self, query: &PreparedView, i: usize) -> Option<(f32, ScoreParts)> {
        self.score_ref(query.into(), i)
    }

    fn score_ref(&self, query: PreparedRef<'_>, i: usize) -> Option<(f32, ScoreParts)> {
        let row = self.rows.row(i, &self.similarity);
        let (embedding, tags) = Self::cheap_parts(query, row.get());
        let (distance, parts) = self.combined([embedding, Self::timbre_part(query, row.get()), tags])?;
        Some((-distance, score_parts(parts)))
    }

    /// How similar an indexed song is to `query` (`None` for a song not indexed or sharing no
    /// part with the query).
    pub fn score_of(&self, query: &PreparedView, song_id: &str) -> Option<(f32, ScoreParts)> {
        self.position(song_id).and_then(|i| self.score(query, i))
    }

    /// The `k` tracks most similar to `query` that pass `filters`, best first (ties by song id),
    /// with the candidates the filters removed when `explain` is set. The query song itself
    /// (`query_id`) is never a result.
    ///
    /// Exact: every track is compared. First by a lower bound of its total from the coarse
    /// embedding and tag columns, with the timbre at its best case (a distance of 0); then, the
    /// most promising first and only where the bound could still enter the best `k`, by its
    /// exact embedding and tags with a lower bound of the timbre divergence ([`timbre_bound`]);
    /// then by its exact total where that could. The bounds never remove a track that belongs.
    pub fn search(
        &self,
        query_id: Option<&str>,
        query: &PreparedView,
        query_facts: &TrackFacts,
        filters: &SearchFilters,
        k: usize,
        explain: bool,
    ) -> (Vec<Hit>, Vec<Filtered>) {
        let mut filtered = Vec::new();
        // Max-heap of the best k so far by (distance, position): its top is the one to beat.
        // More than every track is every track; a caller's huge `k` must not size the heap.
        let mut best = TopK::new(k.min(self.len()));
        let query_position = query_id.and_then(|id| self.position(id));
        let query_has_timbre = query.timbre.is_some() && self.similarity.weights().timbre > 0.0;
        let coarse = CoarseQueries {
            embedding: query.embedding.as_deref().and_then(|q| self.coarse.embedding.query(q)),
            tags: query.tags.as_deref().and_then(|q| self.coarse.tags.query(q)),
        };
        let query_summary =
            query.timbre.as_deref().filter(|_| query_has_timbre).and_then(|t| self.timbre_bounds.summary(t));
        let forms = LinearForms::new(&self.similarity);
        // The lowest total a track could have from the coarse columns, with its timbre
        // divergence at `timbre` (raw, at or below the exact one) where it has one.
        let coarse_lowest = |i: usize, timbre: f32| {
            let (embedding, tags) = self.cheap_lower_bounds(&coarse, i);
            let with_timbre = |t| forms.lowest([embedding, t, tags]);
            if query_summary.is_some() && self.timbre_summaries[i].is_some() {
                // Both models have a summary, so their divergence is finite: the timbre part
                // is there.
                with_timbre(Some(timbre))
            } else if query_has_timbre && self.rows.has_timbre(i) {
                // A divergence that is not finite drops the timbre part: the lower of both.
                let (a, b) = (with_timbre(Some(timbre)), with_timbre(None));
                a.into_iter().chain(b).reduce(f32::min)
            } else {
                with_timbre(None)
            }
        };
        // Every candidate with the lowest total it could have.
        let mut pending: Vec<(f32, u32)> = Vec::with_capacity(self.ids.len());
        for (i, id) in self.ids.iter().enumerate() {
            if Some(i) == query_position {
                continue;
            }
            if let Err(rule) = filters.check(id, query_facts, &self.facts[i]) {
                if explain {
                    filtered.push(Filtered { id: id.clone(), rule });
                }
                continue;
            }
            if k == 0 {
                continue;
            }
            // ln(1 + divergence) is never below 0.
            if let Some(lowest) = coarse_lowest(i, 0.0) {
                pending.push((lowest, i as u32));
            }
        }
        // The most promising tracks first, so that the k-th best is good early and the bounds
        // skip the rest.
        let head = (4 * k).max(64).min(pending.len());
        if head < pending.len() {
            pending.select_nth_unstable_by(head, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        }
        for (n, &(lowest, i)) in pending.iter().enumerate() {
            let i = i as usize;
            if n >= head && best.beats(lowest, i) {
                continue;
            }
            let timbre_bound = match (&query_summary, &self.timbre_summaries[i]) {
                (Some(q), Some(row)) if n >= head => Some(f32::ln_1p(divergence_lower_bound(q, row))),
                _ => None,
            };
            if let Some(t) = timbre_bound
                && coarse_lowest(i, t).is_some_and(|lowest| best.beats(lowest, i))
            {
                continue;
            }
            let row = self.rows.lazy_row(i, &self.similarity);
            let (embedding, tags) = Self::cheap_parts(query.into(), row.cheap());
            if let Some(t) = timbre_bound
                && self.combined([embedding, Some(t), tags]).is_some_and(|(lowest, _)| best.beats(lowest, i))
            {
                continue;
            }
            let timbre = query.timbre.as_deref().and_then(|q| packed_divergence(q, &row.timbre(&self.similarity)?));
            let timbre = timbre.map(f32::ln_1p);
            if let Some((distance, parts)) = self.combined([embedding, timbre, tags]) {
                best.offer(Ranked { distance, position: i, parts });
            }
        }
        let hits = best
            .heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| Hit { id: self.ids[r.position].clone(), score: -r.distance, parts: score_parts(r.parts) })
            .collect();
        (hits, filtered)
    }
}

/// [`Similarity::linear_form`] for every set of present parts, so that a bound of a track's
/// total costs a few multiplications.
struct LinearForms {
    /// Indexed by the present parts as bits (embedding 1, timbre 2, tags 4).
    forms: [Option<([f32; 3], f32)>; 8],
}

impl LinearForms {
    /// Covers the f32 rounding by which a linear form and [`Similarity::combine`] differ
    /// (a few units in the last place of the largest term).
    const ROUNDING: f32 = 1e-5;

    fn new(similarity: &Similarity) -> Self {
        Self {
            forms: std::array::from_fn(|bits| similarity.linear_form([bits & 1 != 0, bits & 2 != 0, bits & 4 != 0])),
        }
    }

    /// A lower bound of the total of raw parts that are themselves lower bounds (`None` when
    /// no part counts).
    #[inline]
    fn lowest(&self, parts: [Option<f32>; 3]) -> Option<f32> {
        let bits = parts.iter().enumerate().fold(0, |b, (p, x)| b | (usize::from(x.is_some()) << p));
        let (coefficients, constant) = self.forms[bits]?;
        let (mut total, mut magnitude) = (constant, constant.abs());
        for (c, x) in coefficients.iter().zip(parts) {
            let term = c * x.unwrap_or(0.0);
            total += term;
            magnitude += term.abs();
        }
        Some(total - Self::ROUNDING * magnitude)
    }
}

/// The best `k` results so far.
struct TopK {
    k: usize,
    /// Max-heap: its top is the worst kept, the one a newcomer must beat.
    heap: BinaryHeap<Ranked>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self { k, heap: BinaryHeap::with_capacity(k + 1) }
    }

    fn offer(&mut self, ranked: Ranked) {
        if self.heap.len() < self.k {
            self.heap.push(ranked);
        } else if self.heap.peek().is_some_and(|worst| ranked < *worst) {
            self.heap.pop();
            self.heap.push(ranked);
        }
    }

    /// Whether the kept results are full and all better than a track at `distance` (at
    /// `position`) would be.
    fn beats(&self, distance: f32, position: usize) -> bool {
        self.heap.len() == self.k
            && self.heap.peek().is_some_and(|worst| {
                worst.distance.total_cmp(&distance).then(worst.position.cmp(&position)) == Ordering::Less
            })
    }
}

/// Score parts (higher is more similar) from standardised distances.
fn score_parts([embedding, timbre, tags]: [Option<f32>; 3]) -> ScoreParts {
    ScoreParts { embedding: embedding.map(|d| -d), timbre: timbre.map(|d| -d), tags: tags.map(|d| -d) }
}

/// A scored track, ordered by distance then position (the index is sorted by song id, so ties
/// go to the smaller id).
#[derive(Debug, Clone, Copy)]
struct Ranked {
    distance: f32,
    position: usize,
    parts: [Option<f32>; 3],
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance.total_cmp(&other.distance).then(self.position.cmp(&other.position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::synth_library::SyntheticLibrary;

    /// Track `i`; every eleventh is a copy of the one before under its own id (the same
    /// recording in two files).
    fn track_or_copy(lib: &SyntheticLibrary, i: usize) -> SongFeatures {
        let mut f = lib.track(if i % 11 == 5 { i - 1 } else { i });
        f.song_id = lib.track(i).song_id;
        f
    }

    /// A library where some tracks lack timbre or tags, as real ones do (silence, no model),
    /// and some are copies of others (the same recording in two files).
    fn library(n: usize, weights: Weights) -> SearchIndex {
        let lib = SyntheticLibrary::new(6, 11);
        let (mut ids, mut views, mut facts) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let f = track_or_copy(&lib, i);
            let mut view = track_view(&f);
            if i % 7 == 3 {
                view.timbre = None;
            }
            if i % 5 == 1 {
                view.tags = None;
            }
            ids.push(f.song_id.clone());
            views.push(view);
            facts.push(TrackFacts::of(&f));
        }
        SearchIndex::from_views(ids, views, facts, weights)
    }

    /// Every track scored and sorted: what the pruned search must return.
    fn brute_force(index: &SearchIndex, query: usize, filters: &SearchFilters, k: usize) -> Vec<(String, f32)> {
        let view = index.view_at(query);
        let mut all: Vec<(f32, usize)> = (0..index.len())
            .filter(|&i| i != query && filters.check(&index.ids[i], &index.facts[query], &index.facts[i]).is_ok())
            .filter_map(|i| index.score(&view, i).map(|(score, _)| (-score, i)))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.into_iter().take(k).map(|(d, i)| (index.ids[i].clone(), -d)).collect()
    }

    /// A stored library with what real ones have: tracks without a timbre model, tags, an
    /// intro, an outro or any embedding, an embedding of another width, copies of a record.
    fn stored_library(n: usize) -> crate::MemoryStore {
        let lib = SyntheticLibrary::new(6, 11);
        let mut store = crate::MemoryStore::new();
        for i in 0..n {
            let mut f = track_or_copy(&lib, i);
            if i % 7 == 3 {
                f.timbre = None;
            }
            if let Some(e) = f.embedding.as_mut() {
                if i % 5 == 1 {
                    e.tags.clear();
                }
                if i % 9 == 2 {
                    e.intro = None;
                }
                if i % 13 == 4 {
                    e.outro = None;
                }
                if i == 17 {
                    e.vector.truncate(100);
                }
            }
            if i % 29 == 7 {
                f.embedding = None;
            }
            store.put_song_features(&f, 0).expect("put");
        }
        store
    }

    #[test]
    fn an_index_over_shared_records_answers_exactly_as_one_that_keeps_its_rows() {
        use crate::dj::{Context, NextOptions, rank_next};
        let store = stored_library(700);
        let shared = SearchIndex::build(&store).expect("shared");
        assert!(matches!(shared.rows, ExactRows::Shared(_)), "a memory store shares its records");
        let mut versions = store.song_versions().expect("versions");
        versions.sort_by(|a, b| a.song_id.cmp(&b.song_id));
        let resident = SearchIndex::build_from(&store, versions, false).expect("resident");
        assert!(matches!(resident.rows, ExactRows::Resident { .. }));
        assert_eq!(format!("{:?}", shared.similarity), format!("{:?}", resident.similarity));
        assert_eq!(format!("{:?}", shared.timbre_bounds), format!("{:?}", resident.timbre_bounds));
        assert_eq!(shared.timbre_summaries, resident.timbre_summaries);
        let filters = [
            SearchFilters::default(),
            SearchFilters { bpm: Some((90.0, 130.0)), half_double: true, ..SearchFilters::default() },
        ];
        let tight = NextOptions { k: 3, pool: 5, explain: true, ..NextOptions::default() };
        for q in (0..shared.len()).step_by(7).chain([17, 7, 36]) {
            assert_eq!(shared.view_at(q), resident.view_at(q), "track {q}");
            assert_eq!(shared.intro_at(q), resident.intro_at(q), "track {q}");
            assert_eq!(shared.outro_at(q), resident.outro_at(q), "track {q}");
            assert_eq!(shared.embedding_at(q), resident.embedding_at(q), "track {q}");
            let (view, facts) = (shared.view_at(q), shared.facts[q]);
            for f in &filters {
                for k in [1, 10, 200] {
                    let a = shared.search(Some(&shared.ids[q]), &view, &facts, f, k, true);
                    let b = resident.search(Some(&resident.ids[q]), &view, &facts, f, k, true);
                    assert_eq!(a, b, "query {q}, k {k}, filters {f:?}");
                }
            }
            let played = [q / 2, q / 3];
            let ctx = Context { current: q, played: &played, target_energy: None };
            for options in
                [NextOptions::default(), NextOptions { explain: true, ..NextOptions::default() }, tight.clone()]
            {
                assert_eq!(rank_next(&shared, &ctx, &options), rank_next(&resident, &ctx, &options), "next after {q}");
            }
        }
    }

    #[test]
    fn the_pruned_search_returns_exactly_what_scoring_every_track_does() {
        for weights in [
            Weights::default(),
            Weights { timbre: 0.0, ..Weights::default() },
            Weights { embedding: 0.0, tags: 0.0, ..Weights::default() },
            Weights { embedding: 1.0, timbre: 4.0, tags: 1.0 },
        ] {
            pruned_search_equals_scoring_every_track(&library(900, weights));
        }
    }

    fn pruned_search_equals_scoring_every_track(index: &SearchIndex) {
        let filters = [
            SearchFilters::default(),
            SearchFilters { bpm: Some((90.0, 130.0)), half_double: true, ..SearchFilters::default() },
        ];
        // Many queries: a bound that is wrong for a few pairs changes only a few answers.
        for query in (0..index.len()).step_by(9).chain([1, 3, index.len() - 1]) {
            for f in &filters {
                for k in [1, 10, 50, 2000] {
                    let (view, facts) = (index.view_at(query), index.facts[query]);
                    let (hits, _) = index.search(Some(&index.ids[query]), &view, &facts, f, k, false);
                    let got: Vec<(String, f32)> = hits.into_iter().map(|h| (h.id, h.score)).collect();
                    let want = brute_force(index, query, f, k);
                    assert_eq!(got, want, "query {query}, k {k}, filters {f:?}");
                }
            }
        }
    }
}
