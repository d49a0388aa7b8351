//! The rules a user interface shows or applies, asked from the engine instead of re-coded in
//! each front end: the training threshold, the automatic-retraining count, the audio file
//! extensions a folder scan picks up, the sampling profiles, the error codes and the input
//! limit. Key compatibility is [`crate::features::key::compatible_camelot`].

use serde::Serialize;

use crate::analyze::AnalyzeOptions;
use crate::audio::AUDIO_EXTENSIONS;
use crate::embed::SamplingProfile;
use crate::error::ErrorCode;
use crate::taste::labels::{AUTO_RETRAIN_CHANGES, MIN_POSITIVES, NEGATIVES_PER_POSITIVE};

/// `libraryRules()` in the bindings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rules {
    /// Liked tracks needed before a model is trained.
    pub min_positives: usize,
    /// Disliked tracks needed per liked track.
    pub negatives_per_positive: usize,
    /// Real label changes after which the model is retrained automatically.
    pub auto_retrain_changes: u64,
    /// File extensions (lower case, no dot) a folder scan treats as audio.
    pub audio_extensions: Vec<&'static str>,
    /// Embedding sampling profiles, most accurate first.
    pub profiles: Vec<&'static str>,
    /// Every error code a call may report.
    pub error_codes: Vec<ErrorCode>,
    /// Largest file accepted, in bytes.
    pub max_file_bytes: u64,
}

/// The rules of this build.
pub fn rules() -> Rules {
    Rules {
        min_positives: MIN_POSITIVES,
        negatives_per_positive: NEGATIVES_PER_POSITIVE,
        auto_retrain_changes: AUTO_RETRAIN_CHANGES,
        audio_extensions: AUDIO_EXTENSIONS.to_vec(),
        profiles: SamplingProfile::ALL.iter().map(|p| p.name()).collect(),
        error_codes: ErrorCode::ALL.to_vec(),
        max_file_bytes: AnalyzeOptions::default().limits.max_file_bytes,
    }
}
