//! [`SelectionModel`]: a trained taste model with everything it needs to score on its own — the
//! boosted trees, the liked-set snapshot it was trained against, the embedding standardisation
//! and the text weights — and its file format (`selection_gbdt_v1.bin`, a [`crate::sealed`]
//! container). Any damage (truncation, a flipped bit, another
//! format version) is caught at load and reported as `model_load_failed`, which means "retrain".

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::booster::{BoostParams, Booster};
use super::profile::TrackProfile;
use super::text::Idf;
use super::vector::{EmbeddingSpace, FEATURE_NAMES, FeatureRow, LikedSet};
use crate::error::{Coded, ErrorCode, into_engine_error};
use crate::sealed::{SealError, open, seal};

/// File name of the model inside `models/selection/`.
pub const MODEL_FILE: &str = "selection_gbdt_v1.bin";
/// Version of the payload layout; a model of another version must be retrained.
pub const MODEL_FORMAT: u32 = 1;
/// The first 8 bytes of a taste model file.
pub const MAGIC: &[u8; 8] = b"SELGBDT1";

/// Why a saved model cannot be used.
#[derive(Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelLoadError {
    /// Damaged, cut short or not a model file.
    #[error(transparent)]
    File(#[from] SealError),
    /// Decodes, but not with this build's feature layout.
    #[error("model file does not fit this build: {0}")]
    Layout(String),
    /// Written by another version of Selecta.
    #[error("model format {found} is not {expected}; retrain")]
    Version {
        /// Format found.
        found: u32,
        /// Format this build reads.
        expected: u32,
    },
}

impl Coded for ModelLoadError {
    fn code(&self) -> ErrorCode {
        ErrorCode::ModelLoadFailed
    }
}

into_engine_error!(ModelLoadError);

/// A trained taste model.
#[derive(Debug, Serialize, Deserialize)]
pub struct SelectionModel {
    /// [`MODEL_FORMAT`].
    pub format: u32,
    /// The library's model revision this model was saved as.
    pub model_revision: u64,
    /// Names of the features, in vector order.
    pub feature_names: Vec<String>,
    /// The liked set at training time: predictions compare against this, not the current labels.
    pub liked: Vec<TrackProfile>,
    /// Embedding standardisation, when the training samples had embeddings.
    pub space: Option<EmbeddingSpace>,
    /// Text weights.
    pub idf: Idf,
    /// Hyper-parameters used.
    pub params: BoostParams,
    /// The trees.
    pub booster: Booster,
    /// Training samples used.
    pub positives: u32,
    /// Training samples used.
    pub negatives: u32,
}

impl SelectionModel {
    /// Serialise to the file format.
    pub fn to_bytes(&self) -> Result<Vec<u8>, SealError> {
        seal(MAGIC, "selection model", self)
    }

    /// Read the file format back, verifying header, checksum, format and feature layout.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelLoadError> {
        let model: SelectionModel = open(MAGIC, "selection model", bytes)?;
        if model.format != MODEL_FORMAT {
            return Err(ModelLoadError::Version { found: model.format, expected: MODEL_FORMAT });
        }
        if model.feature_names != FEATURE_NAMES || model.booster.feature_count() != FEATURE_NAMES.len() {
            return Err(ModelLoadError::Layout("feature names differ".into()));
        }
        Ok(model)
    }

    /// The liked set of the snapshot, ready to score.
    pub fn liked_set(&self) -> LikedSet<'_> {
        let liked: Vec<&TrackProfile> = self.liked.iter().collect();
        LikedSet::new(&liked, self.space.as_ref(), &self.idf)
    }

    /// Probabilities (0–1) of the candidates being liked.
    pub fn score(&self, candidates: &[&TrackProfile]) -> Vec<f32> {
        let rows: Vec<FeatureRow> = self.liked_set().features(candidates);
        self.booster.predict(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>())
    }
}
