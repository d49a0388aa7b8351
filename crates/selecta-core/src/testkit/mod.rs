//! Test data with known truth, for tests and benchmarks only (feature `testkit`): [`synth`]
//! renders music with a known tempo and key, [`synth_library`] makes synthetic feature records
//! of whole libraries, [`Recorder`] follows a job and cancels it on cue. Never part of what the
//! product computes.

pub mod arrangement;
pub mod synth;
pub mod synth_library;

use crate::control::{JobControl, Progress};

/// A [`JobControl`] that records every progress report and asks to stop once it has seen
/// `cancel_after` of them (`usize::MAX`: never).
#[derive(Debug, Clone)]
pub struct Recorder {
    /// The reports, in order.
    pub seen: Vec<Progress>,
    /// Reports after which the job is asked to stop.
    pub cancel_after: usize,
}

impl Recorder {
    /// A recorder that cancels after `cancel_after` reports.
    pub fn cancelling_after(cancel_after: usize) -> Self {
        Self { seen: Vec::new(), cancel_after }
    }
}

impl JobControl for Recorder {
    fn progress(&mut self, p: Progress) {
        self.seen.push(p);
    }

    fn is_cancelled(&self) -> bool {
        self.seen.len() >= self.cancel_after
    }
}
