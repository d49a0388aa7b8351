//! Error types of the portable core.
//!
//! One enum per concern: [`AnalysisError`] for turning bytes into features (every variant says
//! what is wrong with the input in words a person understands), [`StoreError`] for persistence.

use thiserror::Error;

/// Why a file could not be analysed. The message never contains the path: the caller knows
/// which file it handed over and prefixes it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AnalysisError {
    /// The file has no bytes at all.
    #[error("file is empty (0 bytes)")]
    Empty,
    /// The file is larger than the configured limit (protects memory against hostile input).
    #[error("file is too large ({size} bytes; the limit is {limit} bytes)")]
    TooLarge {
        /// Size of the input in bytes.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// No decoder recognised the container or codec.
    #[error("not a supported audio file ({0})")]
    UnsupportedFormat(String),
    /// The container was recognised but holds no audio track.
    #[error("the file holds no audio track")]
    NoAudioTrack,
    /// The stream is damaged beyond what the decoder can skip.
    #[error("audio data is corrupt: {0}")]
    Corrupt(String),
    /// The stream ends before the length its header announces.
    #[error("file is truncated: the header announces {expected_sec:.2} s but only {decoded_sec:.2} s could be decoded")]
    Truncated {
        /// Duration the container announces.
        expected_sec: f64,
        /// Duration actually decoded.
        decoded_sec: f64,
    },
    /// Decoding produced (almost) no audio.
    #[error("decoded audio is too short ({decoded_sec:.3} s; at least {min_sec} s is needed)")]
    TooShort {
        /// Duration actually decoded.
        decoded_sec: f64,
        /// Minimum duration accepted.
        min_sec: f64,
    },
    /// The sample rate or channel count changed in the middle of the stream.
    #[error("the audio format changes in the middle of the stream ({0})")]
    FormatChanged(String),
    /// A feature extractor failed on valid audio (a bug, reported rather than hidden).
    #[error("feature extraction failed: {0}")]
    Feature(String),
}

impl AnalysisError {
    /// The stable error code the bindings report with the message (`error.code` in JS).
    pub fn code(&self) -> &'static str {
        match self {
            AnalysisError::Empty => "empty_file",
            AnalysisError::TooLarge { .. } => "too_large",
            AnalysisError::UnsupportedFormat(_) | AnalysisError::NoAudioTrack => "unsupported_format",
            AnalysisError::Corrupt(_)
            | AnalysisError::Truncated { .. }
            | AnalysisError::TooShort { .. }
            | AnalysisError::FormatChanged(_) => "invalid_input",
            AnalysisError::Feature(_) => "internal_error",
        }
    }
}

/// A persistence failure, from any [`crate::store::Store`] implementation.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend (SQLite, IndexedDB, …) reported an error.
    #[error("database error: {0}")]
    Backend(String),
    /// The stored schema is newer than this build understands.
    #[error("database schema version {found} is newer than the supported version {supported}")]
    SchemaTooNew {
        /// Version found in the database.
        found: i64,
        /// Highest version this build can read.
        supported: i64,
    },
    /// A stored value could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}
