//! Selecta's portable core: decoding, per-track features, the stored record and the store
//! trait. It never touches the file system, threads, clocks or the network: callers hand it
//! bytes and a [`store::Store`]. It builds for `wasm32-unknown-unknown`.
//!
//! Crate map: [`audio`] (decode, tags, resample) → [`features`] (tempo, key/HPCP, loudness,
//! fingerprint, timbre) and [`embed`] (the neural embedding) → [`analyze`] (the per-track pipeline) → [`record`] (what is stored and its
//! JSON) → [`store`] (trait + memory) and [`library`] + [`ingest`] (incremental ingest: decide, process, commit).
//! [`bundle`] moves a whole library as one file. [`taste`] is the taste model (labels → GBDT → scores). [`synth`] generates test music with
//! known tempo and key; [`synth_library`] synthetic feature records for taste tests and benchmarks.

pub mod analyze;
pub mod audio;
pub mod bundle;
pub mod embed;
pub mod error;
pub mod features;
pub mod hash;
pub mod ingest;
pub mod library;
pub mod record;
pub mod sealed;
pub mod similar;
pub mod store;
pub mod synth;
pub mod synth_library;
pub mod taste;

pub use analyze::{
    ANALYSIS_VERSION, Analysis, AnalysisJob, AnalysisPhase, AnalysisProgress, AnalyzeOptions, JobOutput, Want,
    analyze_bytes, decode_mono, decode_only, embed_bytes,
};
pub use error::{AnalysisError, StoreError};
pub use record::{PathEntry, SongFeatures};
pub use store::{MemoryStore, SongVersion, Store};
