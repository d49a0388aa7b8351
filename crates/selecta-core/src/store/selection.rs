//! [`TasteStore`]: what the taste model persists beside the features — labels and the change
//! counter (`selection_labels.db`), the model file and its manifest (`models/selection/`), and
//! the prediction cache (`song_prediction_cache`). The rules live in `taste::api`; a store
//! only reads and writes, each write atomic.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Store;
use crate::error::StoreError;
use crate::record::Label;

/// `models/selection/manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelectionManifest {
    /// Starts at 0; +1 on each successful training.
    pub model_revision: u64,
    /// The model file's name.
    pub model_file: String,
    /// Payload format of the model file.
    pub model_format: u32,
    /// SHA-256 of the model file.
    pub model_sha256: String,
    /// Embedding model the liked-set snapshot was computed with.
    pub embedding_model_version: Option<String>,
    /// Feature names, in vector order.
    pub feature_names: Vec<String>,
    /// Liked tracks trained on.
    pub positives: u32,
    /// Disliked tracks trained on.
    pub negatives: u32,
    /// When the model was saved (ms since the Unix epoch, from the caller's clock).
    pub trained_at_ms: i64,
}

/// One prediction-cache row.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedScore {
    /// `songId`.
    pub song_id: String,
    /// `fileHash` of the features the score came from.
    pub file_hash: String,
    /// Probability × 100.
    pub score: f32,
}

/// Persistence of labels, model and prediction cache.
pub trait TasteStore: Store {
    /// Every liked or disliked track.
    fn labels(&self) -> Result<HashMap<String, Label>, StoreError>;
    /// The sample-change counter.
    fn sample_change_count(&self) -> Result<u64, StoreError>;
    /// Write label changes (`Neutral` deletes the row) and add `count_delta` to the counter, in
    /// one durable transaction; returns the new counter.
    fn write_labels(&mut self, changes: &[(String, Label)], count_delta: u64, now_ms: i64) -> Result<u64, StoreError>;
    /// Set `label` on every id whose stored label differs (`Neutral` deletes the row) and add one
    /// to the counter per change. A backend shared by several processes decides and writes in
    /// one transaction, so two processes making the same change count it once. Returns the ids
    /// changed, in the order given, and the new counter.
    fn apply_label(&mut self, ids: &[String], label: Label, now_ms: i64) -> Result<(Vec<String>, u64), StoreError> {
        let current = self.labels()?;
        let changes: Vec<(String, Label)> = ids
            .iter()
            .filter(|id| current.get(*id).copied().unwrap_or(Label::Neutral) != label)
            .map(|id| (id.clone(), label))
            .collect();
        if changes.is_empty() {
            return Ok((Vec::new(), self.sample_change_count()?));
        }
        let count = self.write_labels(&changes, changes.len() as u64, now_ms)?;
        Ok((changes.into_iter().map(|(id, _)| id).collect(), count))
    }
    /// Set the counter.
    fn set_sample_change_count(&mut self, count: u64) -> Result<(), StoreError>;
    /// Take `counted` changes off the counter (not below 0) — a training consumed the changes it
    /// saw; those made while it ran still count. One transaction where processes share the store.
    fn consume_sample_changes(&mut self, counted: u64) -> Result<u64, StoreError> {
        let count = self.sample_change_count()?.saturating_sub(counted);
        self.set_sample_change_count(count)?;
        Ok(count)
    }
    /// Remove every label and zero the counter.
    fn clear_labels(&mut self) -> Result<(), StoreError>;

    /// The model file's bytes, if one was saved.
    fn selection_model(&self) -> Result<Option<Vec<u8>>, StoreError>;
    /// The manifest, if one was saved (`Corrupt` when it does not parse).
    fn selection_manifest(&self) -> Result<Option<SelectionManifest>, StoreError>;
    /// Save a model and then its manifest, each replaced atomically, so that a crash leaves the
    /// previous model or the new one, never a torn file.
    fn put_selection_model(&mut self, model: &[u8], manifest: &SelectionManifest) -> Result<(), StoreError>;
    /// Delete the model and the manifest (revision back to 0).
    fn clear_selection_model(&mut self) -> Result<(), StoreError>;

    /// Cached scores at `revision` of the given songs, by `songId` — only rows whose `fileHash`
    /// is that of the song's stored features (a changed file's old score is never returned).
    fn cached_scores(&self, revision: u64, song_ids: &[String]) -> Result<HashMap<String, f32>, StoreError>;
    /// Store scores at `revision` (one transaction).
    fn put_cached_scores(&mut self, revision: u64, rows: &[CachedScore], now_ms: i64) -> Result<(), StoreError>;
    /// Drop every cached score of another revision; returns how many.
    fn purge_cache_except(&mut self, revision: u64) -> Result<usize, StoreError>;
    /// Drop every cached score of one song; returns how many.
    fn purge_cache_for_song(&mut self, song_id: &str) -> Result<usize, StoreError>;
    /// Drop the whole cache.
    fn clear_cache(&mut self) -> Result<(), StoreError>;

    /// Hold the library's training lock until the returned guard drops: one training at a time
    /// per library, across processes where the backend can. A store used by one caller at a
    /// time needs none.
    fn training_lock(&self) -> Result<TrainingGuard, StoreError> {
        Ok(Box::new(()))
    }
}

/// Held while a training runs ([`TasteStore::training_lock`]).
pub type TrainingGuard = Box<dyn Send>;
