//! The error vocabulary of the portable core.
//!
//! [`ErrorCode`] is the one set of stable codes every front end reports (`error.code` in JS,
//! `errorCode` and `{"error": {"code"}}` in JSON); no front end spells a code itself. Each
//! concern keeps its own error enum with messages a person understands — [`AnalysisError`] for
//! turning bytes into features, [`StoreError`] for persistence, and the embedding, bundle and
//! taste errors in their modules — and maps onto a code. [`EngineError`] is a code with its
//! message: what the engine facade returns and the bindings translate.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A stable, machine-readable failure code (serde: snake_case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request or its input is malformed (bad argument, damaged audio, bad bundle).
    InvalidInput,
    /// No decoder recognises the file.
    UnsupportedFormat,
    /// The file has no bytes.
    EmptyFile,
    /// The input exceeds a size limit.
    TooLarge,
    /// The caller asked to stop.
    Cancelled,
    /// The store failed.
    DbError,
    /// A bug, reported rather than hidden.
    InternalError,
    /// The embedding runtime or model is missing or altered.
    RuntimeUnavailable,
    /// The saved taste model cannot be read: retrain.
    ModelLoadFailed,
    /// The song or path is not in the library.
    NotFound,
    /// The request lacks the credentials the service asks for.
    Unauthorized,
    /// Another call or process is working on the same thing (a file being analysed, the
    /// library's write lock held past the wait bound): try again later.
    Busy,
}

impl ErrorCode {
    /// Every code, in declaration order (for documentation and tests).
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::InvalidInput,
        ErrorCode::UnsupportedFormat,
        ErrorCode::EmptyFile,
        ErrorCode::TooLarge,
        ErrorCode::Cancelled,
        ErrorCode::DbError,
        ErrorCode::InternalError,
        ErrorCode::RuntimeUnavailable,
        ErrorCode::ModelLoadFailed,
        ErrorCode::NotFound,
        ErrorCode::Unauthorized,
        ErrorCode::Busy,
    ];

    /// The code as written in JSON and in JS `error.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::UnsupportedFormat => "unsupported_format",
            ErrorCode::EmptyFile => "empty_file",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::DbError => "db_error",
            ErrorCode::InternalError => "internal_error",
            ErrorCode::RuntimeUnavailable => "runtime_unavailable",
            ErrorCode::ModelLoadFailed => "model_load_failed",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Busy => "busy",
        }
    }
}

/// The TypeScript type of the codes, for the bindings' type declarations (a test keeps it equal
/// to [`ErrorCode::ALL`]).
pub const TS_ERROR_CODE_TYPE: &str = r#"export type ErrorCode = "invalid_input" | "unsupported_format" | "empty_file"
  | "too_large" | "cancelled" | "db_error" | "internal_error" | "runtime_unavailable" | "model_load_failed"
  | "not_found" | "unauthorized" | "busy";"#;

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure of an engine call: a stable code and a message for people (which names the file
/// when there is one).
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[error("{message}")]
pub struct EngineError {
    /// The stable code.
    pub code: ErrorCode,
    /// What went wrong, after what it concerns (`"a/b.mp3: file is empty (0 bytes)"`).
    pub message: String,
    /// Length of the `"<what>: "` prefix of `message` ([`EngineError::reason`]).
    #[serde(skip)]
    context_len: usize,
}

impl EngineError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl std::fmt::Display) -> Self {
        Self { code, message: message.to_string(), context_len: 0 }
    }

    /// The message without what it concerns, for a caller that shows that separately (a batch
    /// report listing the path in its own field).
    pub fn reason(&self) -> &str {
        self.message.get(self.context_len..).unwrap_or(&self.message)
    }

    /// An invalid argument or input.
    pub fn invalid_input(message: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }

    /// The caller stopped the work; `what` names it (a file, a training).
    pub fn cancelled(what: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::Cancelled, "cancelled").context(what)
    }

    /// Another call or process is analysing `what` (a file) now; it will store it.
    pub fn busy(what: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::Busy, "another call or process is analysing this file now").context(what)
    }

    /// The same error with `context` (a path) in front of the message.
    pub fn context(self, context: impl std::fmt::Display) -> Self {
        let prefix = format!("{context}: ");
        Self { message: format!("{prefix}{}", self.message), context_len: prefix.len() + self.context_len, ..self }
    }
}

/// An error type that maps onto one [`ErrorCode`].
pub trait Coded: std::fmt::Display {
    /// Its code.
    fn code(&self) -> ErrorCode;
}

/// `From<E> for EngineError` for error types that implement [`Coded`] (a blanket impl would
/// overlap with `From<T> for T`).
macro_rules! into_engine_error {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for $crate::error::EngineError {
            fn from(e: $t) -> Self {
                $crate::error::EngineError::new($crate::error::Coded::code(&e), e)
            }
        }
    )*};
}
pub(crate) use into_engine_error;

into_engine_error!(AnalysisError, StoreError);

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

impl Coded for AnalysisError {
    fn code(&self) -> ErrorCode {
        match self {
            AnalysisError::Empty => ErrorCode::EmptyFile,
            AnalysisError::TooLarge { .. } => ErrorCode::TooLarge,
            AnalysisError::UnsupportedFormat(_) | AnalysisError::NoAudioTrack => ErrorCode::UnsupportedFormat,
            AnalysisError::Corrupt(_)
            | AnalysisError::Truncated { .. }
            | AnalysisError::TooShort { .. }
            | AnalysisError::FormatChanged(_) => ErrorCode::InvalidInput,
            AnalysisError::Feature(_) => ErrorCode::InternalError,
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
    /// Another process held the library (or the part asked for) past the wait bound.
    #[error("the library is busy: {0}")]
    Busy(String),
}

impl Coded for StoreError {
    fn code(&self) -> ErrorCode {
        match self {
            StoreError::Busy(_) => ErrorCode::Busy,
            _ => ErrorCode::DbError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_as_their_names() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).expect("serialises"), serde_json::json!(code.as_str()));
            let back: ErrorCode = serde_json::from_value(serde_json::json!(code.as_str())).expect("parses");
            assert_eq!(back, code);
        }
    }

    #[test]
    fn the_typescript_type_lists_every_code() {
        let listed: Vec<&str> = TS_ERROR_CODE_TYPE.split('"').skip(1).step_by(2).collect();
        let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(listed, all);
    }

    #[test]
    fn errors_keep_their_code_and_gain_context() {
        let e = EngineError::from(AnalysisError::Empty).context("a/b.mp3");
        assert_eq!(e.code, ErrorCode::EmptyFile);
        assert_eq!(e.to_string(), "a/b.mp3: file is empty (0 bytes)");
        assert_eq!(e.reason(), "file is empty (0 bytes)");
        assert_eq!(EngineError::cancelled("x.wav").reason(), "cancelled");
        assert_eq!(EngineError::invalid_input("bad").reason(), "bad");
        assert_eq!(EngineError::from(StoreError::Backend("x".into())).code, ErrorCode::DbError);
    }
}
