//! Per-track features computed from decoded audio: tempo, key and HPCP, loudness (EBU R128),
//! RMS, Chromaprint, MFCC timbre and the DJ features (energy, low end, intro and outro). It does
//! not decode (see [`crate::audio`]) or store anything; the embedding lives in its own module.

pub mod analysis_signal;
pub mod chromaprint;
pub mod dj;
mod fast_ln;
pub mod fingerprint;
pub mod key;
mod lane_sum;
mod loudness;
pub mod spectrum;
pub mod tempo;
pub mod timbre;

pub use analysis_signal::{ANALYSIS_SAMPLE_RATE, AnalysisSignal, AnalysisSignalBuilder, CappedResample};
pub use dj::DjFeatures;
pub use fingerprint::{Fingerprint, FingerprintBuilder};
pub use key::{Key, KeyEstimate, Mode};
pub use loudness::{LoudnessMeter, RmsMeter, rms_mean};
pub use tempo::{BpmAlternative, TempoEstimate, TempoRange};
