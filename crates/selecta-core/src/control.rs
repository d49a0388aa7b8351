//! How a caller follows and stops a long job (an analysis, a training, a prediction): progress
//! reports `{phase, percent}` and a cancellation flag that the job polls between bounded steps.
//! The front ends implement [`JobControl`] over a progress bar, a JS callback or an AbortSignal;
//! the jobs themselves never block on it.

use serde::Serialize;

/// Stage of a long job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Training: loading features and building feature vectors.
    Prepare,
    /// Training: fitting trees (or scoring, for predictions).
    Train,
    /// Training: writing the model.
    Save,
    /// Analysis: decoding, hashing, loudness and fingerprint.
    Decode,
    /// Analysis: tempo, key, timbre.
    Features,
    /// Analysis: the neural embedding.
    Embed,
}

/// `progress {phase, percent}`. A training's percent runs 0–100 within each phase; an
/// analysis's covers the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Stage.
    pub phase: Phase,
    /// Share of the work done, 0–100.
    pub percent: u8,
}

/// Progress reports and a cancellation flag, polled between steps (best effort).
pub trait JobControl {
    /// A progress report.
    fn progress(&mut self, _progress: Progress) {}
    /// Whether the caller asked to stop.
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// A job nobody follows or cancels.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoControl;

impl JobControl for NoControl {}

/// `done` of `total` as a percentage (100 when there is nothing to do).
pub(crate) fn percent(done: usize, total: usize) -> u8 {
    (done * 100).checked_div(total).map_or(100, |p| p.min(100) as u8)
}
