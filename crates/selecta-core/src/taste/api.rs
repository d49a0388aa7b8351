//! The taste API — the same calls, statuses and JSON shapes in the CLI, the wasm
//! module and the N-API addon: `setSelectionLabels`, `getSelectionLabelSnapshot`,
//! `resetSelectionSampleChangeCount`, `resetSelectionLabels`, `upsertSongFeatures`,
//! `trainSelectionGbdt`, `predictSelectionCandidates`. Every taste rule lives here: the
//! training threshold, no score without a model (never a fallback ranking), the liked-set
//! snapshot, model revisions, cache keys and purges, and the sample-change counter.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::booster::BoostParams;
use super::labels::{Label, LabelSnapshot, SetLabelsResult, threshold_met};
use super::model::{MODEL_FILE, MODEL_FORMAT, ModelLoadError, SelectionModel};
use super::profile::TrackProfile;
use super::train::{TrainMetrics, fit_model};
use crate::control::{JobControl, Phase, Progress, percent};
use crate::embed::TrackEmbedding;
use crate::error::ErrorCode;
use crate::error::StoreError;
use crate::record::SongFeatures;
use crate::store::{CachedScore, SelectionManifest, TasteStore};

/// Candidates scored between two cancellation checks.
const PREDICT_CHUNK: usize = 4096;

/// Outcome of a training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainStatus {
    /// A new model was saved.
    Trained,
    /// Below the threshold; nothing changed.
    InsufficientSamples,
    /// Stopped on request; the previous model is untouched.
    Cancelled,
    /// See `errorCode`.
    Failed,
}

/// Outcome of a prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PredictStatus {
    /// Scores follow.
    Ok,
    /// Enough labels, but no model has been trained.
    NotTrained,
    /// No model and too few labels to train one.
    InsufficientSamples,
    /// Stopped on request.
    Cancelled,
    /// See `errorCode`.
    Failed,
}

/// `trainSelectionGbdt`'s result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainOutcome {
    /// Status.
    pub status: TrainStatus,
    /// The new revision, when trained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_revision: Option<u64>,
    /// Training metrics, when trained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<TrainMetrics>,
    /// Failure code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    /// Failure message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TrainOutcome {
    fn status(status: TrainStatus) -> Self {
        Self { status, model_revision: None, metrics: None, error_code: None, error: None }
    }

    fn failed(code: ErrorCode, error: impl ToString) -> Self {
        Self { error_code: Some(code), error: Some(error.to_string()), ..Self::status(TrainStatus::Failed) }
    }
}

/// One scored candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredItem {
    /// `songId`.
    pub id: String,
    /// 0–100.
    pub score: u8,
    /// The unrounded probability × 100 (ranking and cache).
    #[serde(skip)]
    pub exact: f32,
}

/// `predictSelectionCandidates`' result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PredictOutcome {
    /// Status.
    pub status: PredictStatus,
    /// Revision of the model that scored, when `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_revision: Option<u64>,
    /// Best first, at most top-K; empty unless `ok`.
    pub items: Vec<ScoredItem>,
    /// Candidates without stored features (never scored: a score needs the audio's features).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Failure code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<ErrorCode>,
    /// Failure message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PredictOutcome {
    fn status(status: PredictStatus) -> Self {
        Self { status, model_revision: None, items: Vec::new(), missing: Vec::new(), error_code: None, error: None }
    }

    fn failed(code: ErrorCode, error: impl ToString) -> Self {
        Self { error_code: Some(code), error: Some(error.to_string()), ..Self::status(PredictStatus::Failed) }
    }
}

fn unique(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::new();
    ids.iter().filter(|id| seen.insert(id.as_str())).cloned().collect()
}

/// `setSelectionLabels`: set `label` on every track; only real changes count as samples.
pub fn set_selection_labels<S: TasteStore + ?Sized>(
    store: &mut S,
    song_ids: &[String],
    label: Label,
    now_ms: i64,
) -> Result<SetLabelsResult, StoreError> {
    let ids = unique(song_ids);
    let (changed, count) = store.apply_label(&ids, label, now_ms)?;
    let delta = changed.len() as u64;
    Ok(SetLabelsResult {
        total: ids.len(),
        changed: changed.len(),
        sample_change_count: count,
        sample_change_delta: delta,
    })
}

/// `getSelectionLabelSnapshot`.
pub fn get_selection_label_snapshot<S: TasteStore + ?Sized>(store: &S) -> Result<LabelSnapshot, StoreError> {
    let mut snapshot = LabelSnapshot { sample_change_count: store.sample_change_count()?, ..LabelSnapshot::default() };
    for (id, label) in store.labels()? {
        match label {
            Label::Liked => snapshot.positive_ids.push(id),
            Label::Disliked => snapshot.negative_ids.push(id),
            Label::Neutral => {}
        }
    }
    snapshot.positive_ids.sort();
    snapshot.negative_ids.sort();
    Ok(snapshot)
}

/// `resetSelectionSampleChangeCount`: returns the counter (0).
pub fn reset_selection_sample_change_count<S: TasteStore + ?Sized>(store: &mut S) -> Result<u64, StoreError> {
    store.set_sample_change_count(0)?;
    Ok(0)
}

/// `resetSelectionLabels`: every label, the model, the cache and the revision are cleared.
pub fn reset_selection_labels<S: TasteStore + ?Sized>(store: &mut S) -> Result<bool, StoreError> {
    store.clear_labels()?;
    store.clear_selection_model()?;
    store.clear_cache()?;
    Ok(true)
}

/// What an upsert changed besides the features.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpsertOutcome {
    /// The track was stored before and its tags really changed.
    pub metadata_changed: bool,
    /// The edit counted as a sample change (the track is labelled).
    pub counted_as_sample_change: bool,
}

/// `upsertSongFeatures`: store features; when a stored track is replaced its cached scores go
/// (its features may differ), and a real tag edit of a labelled track counts as a sample change.
pub fn upsert_song_features<S: TasteStore + ?Sized>(
    store: &mut S,
    features: &SongFeatures,
    now_ms: i64,
) -> Result<UpsertOutcome, StoreError> {
    let old = store.song_features(&features.song_id)?;
    store.put_song_features(features, now_ms)?;
    let Some(old) = old else { return Ok(UpsertOutcome::default()) };
    store.purge_cache_for_song(&features.song_id)?;
    let metadata_changed = old.metadata != features.metadata;
    let labelled = metadata_changed && store.labels()?.contains_key(&features.song_id);
    if labelled {
        store.write_labels(&[], 1, now_ms)?;
    }
    Ok(UpsertOutcome { metadata_changed, counted_as_sample_change: labelled })
}

/// Replace a stored track's embedding (new model version or profile); its cached scores go.
pub fn upsert_embedding<S: TasteStore + ?Sized>(
    store: &mut S,
    song_id: &str,
    embedding: &TrackEmbedding,
    now_ms: i64,
) -> Result<(), StoreError> {
    store.put_embedding(song_id, embedding, now_ms)?;
    store.purge_cache_for_song(song_id)?;
    Ok(())
}

/// Load the profiles of `ids`; ids without stored features are returned apart.
fn load_profiles<S: TasteStore + ?Sized>(
    store: &S,
    ids: &[String],
    mut on_each: impl FnMut(usize),
) -> Result<(Vec<TrackProfile>, Vec<String>), StoreError> {
    let mut found = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        match store.taste_features(id)? {
            Some(f) => found.push(TrackProfile::from_features(&f)),
            None => missing.push(id.clone()),
        }
        on_each(i);
    }
    Ok((found, missing))
}

/// The revision the next model gets: one past both the manifest's and the model file's (they
/// differ only if a process died between writing the two).
fn next_revision<S: TasteStore + ?Sized>(store: &S) -> Result<u64, StoreError> {
    let manifest = store.selection_manifest().ok().flatten().map_or(0, |m| m.model_revision);
    let in_file =
        store.selection_model()?.and_then(|b| SelectionModel::from_bytes(&b).ok()).map_or(0, |m| m.model_revision);
    Ok(manifest.max(in_file) + 1)
}

/// `trainSelectionGbdt` with the default hyper-parameters.
pub fn train_selection_gbdt<S: TasteStore + ?Sized>(
    store: &mut S,
    positive_ids: &[String],
    negative_ids: &[String],
    now_ms: i64,
    control: &mut dyn JobControl,
) -> TrainOutcome {
    train_selection_gbdt_with(store, positive_ids, negative_ids, &BoostParams::default(), now_ms, control)
}

/// `trainSelectionGbdt`: train on the given samples when the threshold holds (on the samples
/// that have features), save model + liked-set snapshot as the next revision, purge the cache
/// of older revisions and take the changes it answered off the sample-change counter. A track in both lists is ambiguous
/// and left out.
pub fn train_selection_gbdt_with<S: TasteStore + ?Sized>(
    store: &mut S,
    positive_ids: &[String],
    negative_ids: &[String],
    params: &BoostParams,
    now_ms: i64,
    control: &mut dyn JobControl,
) -> TrainOutcome {
    let pos = unique(positive_ids);
    let neg = unique(negative_ids);
    let both: HashSet<&String> = pos.iter().filter(|id| neg.contains(id)).collect();
    let pos: Vec<String> = pos.iter().filter(|id| !both.contains(id)).cloned().collect();
    let neg: Vec<String> = neg.iter().filter(|id| !both.contains(id)).cloned().collect();
    if !threshold_met(pos.len(), neg.len()) {
        return TrainOutcome::status(TrainStatus::InsufficientSamples);
    }
    // The changes this training answers; those made while it runs stay counted.
    let counted = match store.sample_change_count() {
        Ok(c) => c,
        Err(e) => return TrainOutcome::failed(ErrorCode::DbError, e),
    };
    tracing::debug!(positives = pos.len(), negatives = neg.len(), "training started");
    let total = pos.len() + neg.len();
    let mut report = |i: usize| {
        // Loading is the first half of `prepare`; feature vectors are the second.
        control.progress(Progress { phase: Phase::Prepare, percent: percent(i + 1, total) / 2 });
    };
    let loaded = load_profiles(store, &pos, &mut report).and_then(|(p, mp)| {
        load_profiles(store, &neg, |i| report(pos.len() + i)).map(|(n, mn)| (p, n, mp.len() + mn.len()))
    });
    let (positives, negatives, skipped) = match loaded {
        Ok(x) => x,
        Err(e) => return TrainOutcome::failed(ErrorCode::DbError, e),
    };
    if !threshold_met(positives.len(), negatives.len()) {
        return TrainOutcome::status(TrainStatus::InsufficientSamples);
    }
    let mut halfway = HalfwayPrepare { inner: control };
    let Some((mut model, mut metrics)) = fit_model(&positives, &negatives, params, &mut halfway) else {
        return TrainOutcome::status(TrainStatus::Cancelled);
    };
    metrics.skipped_without_features = skipped;
    if control.is_cancelled() {
        return TrainOutcome::status(TrainStatus::Cancelled);
    }
    control.progress(Progress { phase: Phase::Save, percent: 0 });
    let revision = match next_revision(store) {
        Ok(r) => r,
        Err(e) => return TrainOutcome::failed(ErrorCode::DbError, e),
    };
    model.model_revision = revision;
    let bytes = match model.to_bytes() {
        Ok(b) => b,
        Err(e) => return TrainOutcome::failed(ErrorCode::InternalError, e),
    };
    let manifest = SelectionManifest {
        model_revision: revision,
        model_file: MODEL_FILE.to_string(),
        model_format: MODEL_FORMAT,
        model_sha256: crate::hash::sha256_hex(&bytes),
        embedding_model_version: model.space.as_ref().map(|s| s.model_version.clone()),
        feature_names: model.feature_names.clone(),
        positives: model.positives,
        negatives: model.negatives,
        trained_at_ms: now_ms,
    };
    let saved = store
        .put_selection_model(&bytes, &manifest)
        .and_then(|()| store.purge_cache_except(revision))
        .and_then(|_| store.consume_sample_changes(counted));
    if let Err(e) = saved {
        return TrainOutcome::failed(ErrorCode::DbError, e);
    }
    control.progress(Progress { phase: Phase::Save, percent: 100 });
    TrainOutcome {
        model_revision: Some(revision),
        metrics: Some(metrics),
        ..TrainOutcome::status(TrainStatus::Trained)
    }
}

/// Maps [`fit_model`]'s `prepare` progress onto the second half of the bar.
struct HalfwayPrepare<'a> {
    inner: &'a mut dyn JobControl,
}

impl JobControl for HalfwayPrepare<'_> {
    fn progress(&mut self, p: Progress) {
        let p = if p.phase == Phase::Prepare { Progress { phase: p.phase, percent: 50 + p.percent / 2 } } else { p };
        self.inner.progress(p);
    }

    fn is_cancelled(&self) -> bool {
        self.inner.is_cancelled()
    }
}

/// Load the saved model: `Ok(None)` when there is none.
pub fn load_selection_model<S: TasteStore + ?Sized>(store: &S) -> Result<Option<SelectionModel>, PredictOutcome> {
    let bytes = store.selection_model().map_err(|e| PredictOutcome::failed(ErrorCode::DbError, e))?;
    bytes
        .map(|b| SelectionModel::from_bytes(&b))
        .transpose()
        .map_err(|e: ModelLoadError| PredictOutcome::failed(ErrorCode::ModelLoadFailed, e))
}

/// `predictSelectionCandidates`: score the candidates with the saved model against its liked-set
/// snapshot, best first, at most `top_k` (0 = all). Cached scores of the same revision and file
/// are reused; new ones are cached. No model means no scores, only a status.
pub fn predict_selection_candidates<S: TasteStore + ?Sized>(
    store: &mut S,
    candidate_ids: &[String],
    top_k: usize,
    now_ms: i64,
    control: &mut dyn JobControl,
) -> PredictOutcome {
    let model = match load_selection_model(store) {
        Ok(Some(m)) => m,
        Ok(None) => {
            return match super::api::get_selection_label_snapshot(store) {
                Ok(s) if s.threshold_met() => PredictOutcome::status(PredictStatus::NotTrained),
                Ok(_) => PredictOutcome::status(PredictStatus::InsufficientSamples),
                Err(e) => PredictOutcome::failed(ErrorCode::DbError, e),
            };
        }
        Err(failed) => return failed,
    };
    let revision = model.model_revision;
    let ids = unique(candidate_ids);
    // Cached scores first: a list the app has shown before needs no features at all.
    let cached = match store.cached_scores(revision, &ids) {
        Ok(c) => c,
        Err(e) => return PredictOutcome::failed(ErrorCode::DbError, e),
    };
    // Moved, not copied: at 50 000 candidates each copy of the ids is 5 MiB of a page's memory.
    let uncached: Vec<String> = ids.into_iter().filter(|id| !cached.contains_key(id)).collect();
    let liked = model.liked_set();
    let mut fresh: Vec<CachedScore> = Vec::with_capacity(uncached.len());
    let mut missing = Vec::new();
    // Chunk by chunk, so that a whole library's profiles are never held at once.
    for (n, ids) in uncached.chunks(PREDICT_CHUNK).enumerate() {
        if control.is_cancelled() {
            return PredictOutcome::status(PredictStatus::Cancelled);
        }
        let (profiles, absent) = match load_profiles(store, ids, |_| {}) {
            Ok(x) => x,
            Err(e) => return PredictOutcome::failed(ErrorCode::DbError, e),
        };
        missing.extend(absent);
        let chunk: Vec<&TrackProfile> = profiles.iter().collect();
        let rows: Vec<Vec<f32>> = liked.features(&chunk).iter().map(|r| r.to_vec()).collect();
        let p = model.booster.predict(&rows);
        fresh.extend(chunk.iter().zip(p).map(|(c, p)| CachedScore {
            song_id: c.song_id.clone(),
            file_hash: c.file_hash.clone(),
            score: p * 100.0,
        }));
        control.progress(Progress { phase: Phase::Train, percent: percent((n + 1) * PREDICT_CHUNK, uncached.len()) });
    }
    if let Err(e) = store.put_cached_scores(revision, &fresh, now_ms) {
        return PredictOutcome::failed(ErrorCode::DbError, e);
    }
    let mut scores: HashMap<String, f32> = cached;
    scores.extend(fresh.into_iter().map(|c| (c.song_id, c.score)));
    let mut items: Vec<ScoredItem> = scores
        .into_iter()
        .map(|(id, s)| ScoredItem { id, score: s.round().clamp(0.0, 100.0) as u8, exact: s })
        .collect();
    items.sort_by(|a, b| b.exact.total_cmp(&a.exact).then_with(|| a.id.cmp(&b.id)));
    if top_k > 0 {
        items.truncate(top_k);
    }
    PredictOutcome { model_revision: Some(revision), items, missing, ..PredictOutcome::status(PredictStatus::Ok) }
}
