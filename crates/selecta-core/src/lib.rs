//! Selecta's portable core: everything Selecta computes and decides about music. It never
//! touches the file system, threads, clocks or the network: callers hand it bytes, a clock value
//! and a store. It builds for `wasm32-unknown-unknown`.
//!
//! Layers, each module using only those before it (`ARCHITECTURE.md` at the repository root;
//! `scripts/check_layers.py` checks it):
//! 1. [`error`] (the one error vocabulary), [`control`] (progress and cancellation), [`hash`],
//!    [`sealed`] (checksummed files);
//! 2. [`audio`] (decode, tags, resample) → [`embed`] (the neural embedding and its mel
//!    front-end) → [`features`] (tempo, key/HPCP, loudness, fingerprint, timbre);
//! 3. [`record`] (what is stored of a track, its JSON, labels) → [`analyze`] (the per-track
//!    pipeline) → [`store`] (the store traits and the in-memory store) → [`path_index`] (does a
//!    file need reading?);
//! 4. [`similar`] (the combined similarity), [`retrieval`] (similar-track search), [`dj`] (next
//!    track, sessions, set planning), [`taste`] (labels → GBDT → scores), [`ingest`]
//!    (one file through plan, process, commit), [`bundle`] (a library as one file), [`eval`]
//!    (quality measurements against ground truth), [`interop`] (rekordbox XML, M3U8: the
//!    formats of DJ software);
//! 5. [`engine`]: the facade every front end (CLI, wasm, N-API) translates.
//!
//! [`testkit`] (feature `testkit`) generates test music and synthetic libraries.

pub mod analyze;
pub mod audio;
pub mod bundle;
pub mod control;
pub mod dj;
pub mod embed;
pub mod engine;
pub mod error;
pub mod eval;
pub mod features;
pub mod hash;
pub mod ingest;
pub mod interop;
pub mod path_index;
pub mod record;
mod record_views;
pub mod retrieval;
pub mod sealed;
mod simd;
pub mod similar;
pub mod store;
pub mod taste;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use analyze::{
    ANALYSIS_VERSION, Analysis, AnalysisJob, AnalysisPhase, AnalysisProgress, AnalyzeOptions, JobOutput, ReusableSong,
    SameAudio, Want, analyze_bytes, decode_mono, decode_only, embed_bytes,
};
pub use engine::Engine;
pub use error::{AnalysisError, EngineError, ErrorCode, StoreError};
pub use record::{Label, PathEntry, SongFeatures};
pub use store::{MemoryStore, SongVersion, Store, TasteStore};
