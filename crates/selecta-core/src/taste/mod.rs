//! Taste prediction: liked/disliked labels, a
//! GBDT trained on content features of each track against the liked set, and a 0–100 score
//! for every other track — never a score without a trained model.
//!
//! Map: [`labels`] (labels, threshold, retrain rule) · [`profile`] (what is compared of a track)
//! · [`text`] (TF-IDF) · [`vector`] (the feature vector against a liked set) · [`booster`]
//! (boosting on gbdt's trees) · [`model`] (the saved model and its file format) · [`train`]
//! (fitting) · [`metrics`] and [`eval`] (offline evaluation) · [`api`] (the public calls and their statuses).

pub mod api;
pub mod booster;
pub mod eval;
pub mod labels;
pub mod metrics;
pub mod model;
pub mod profile;
pub mod text;
pub mod train;
pub mod vector;

pub use crate::error::ErrorCode;
pub use crate::store::{CachedScore, SelectionManifest, TasteStore};
pub use api::{
    PredictOutcome, PredictStatus, ScoredItem, TrainOutcome, TrainStatus, UpsertOutcome, get_selection_label_snapshot,
    predict_selection_candidates, reset_selection_labels, reset_selection_sample_change_count, set_selection_labels,
    train_selection_gbdt, train_selection_gbdt_with, upsert_embedding, upsert_song_features,
};
pub use booster::BoostParams;
pub use labels::{Label, LabelSnapshot, RetrainDebounce, SetLabelsResult, auto_retrain_due, threshold_met};
pub use model::{MODEL_FILE, ModelLoadError, SelectionModel};
pub use profile::TrackProfile;
pub use train::{JobControl, NoControl, Phase, Progress, TrainMetrics, fit_model};
