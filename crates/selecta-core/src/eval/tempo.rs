//! Tempo accuracy in the MIREX style: Acc1 is the share of tracks within 4 % of the truth, Acc2
//! also accepts the metrical relatives ×2, ×½, ×3 and ×⅓.

use serde::Serialize;

use crate::analyze::{AnalyzeOptions, analyze_bytes};

/// Relative tolerance of both accuracies.
pub const TOLERANCE: f64 = 0.04;
/// The tempo relatives Acc2 accepts.
const OCTAVES: [f64; 5] = [1.0, 2.0, 0.5, 3.0, 1.0 / 3.0];

/// One track's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TempoResult {
    /// The file, as the manifest names it.
    pub path: String,
    /// Ground truth.
    pub bpm_truth: f64,
    /// What the analysis found.
    pub bpm: Option<f64>,
    /// Within [`TOLERANCE`] of the truth.
    pub acc1: bool,
    /// Within [`TOLERANCE`] of the truth or a metrical relative.
    pub acc2: bool,
    /// Why the file could not be analysed.
    pub error: Option<String>,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TempoReport {
    /// Tracks evaluated (failures count as misses).
    pub tracks: usize,
    /// Share within 4 %.
    pub acc1: f64,
    /// Share within 4 % of the truth or a relative.
    pub acc2: f64,
    /// Per track.
    pub results: Vec<TempoResult>,
}

fn within(bpm: f64, truth: f64, factor: f64) -> bool {
    (bpm / (truth * factor) - 1.0).abs() <= TOLERANCE
}

/// Score a found tempo against the truth.
pub fn score(path: String, bpm_truth: f64, bpm: Option<f64>, error: Option<String>) -> TempoResult {
    let acc1 = bpm.is_some_and(|b| within(b, bpm_truth, 1.0));
    let acc2 = bpm.is_some_and(|b| OCTAVES.iter().any(|&f| within(b, bpm_truth, f)));
    TempoResult { path, bpm_truth, bpm, acc1, acc2, error }
}

/// Analyse a file's bytes (or take the error reading them) and score its tempo.
pub fn evaluate_file(path: String, bytes: Result<Vec<u8>, String>, bpm_truth: f64) -> TempoResult {
    let name = path.rsplit(['/', '\\']).next().map(str::to_string);
    let analysed = bytes
        .and_then(|b| analyze_bytes(b, name.as_deref(), &AnalyzeOptions::default(), None).map_err(|e| e.to_string()));
    match analysed {
        Ok(a) => score(path, bpm_truth, a.features.bpm.map(f64::from), None),
        Err(e) => score(path, bpm_truth, None, Some(e)),
    }
}

/// Aggregate per-track results.
pub fn report(results: Vec<TempoResult>) -> TempoReport {
    let n = results.len().max(1) as f64;
    TempoReport {
        tracks: results.len(),
        acc1: results.iter().filter(|r| r.acc1).count() as f64 / n,
        acc2: results.iter().filter(|r| r.acc2).count() as f64 / n,
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octave_errors_count_only_for_acc2() {
        let exact = score("a".into(), 120.0, Some(124.0), None);
        assert!(exact.acc1 && exact.acc2, "3.3 % off is within 4 %");
        let double = score("b".into(), 90.0, Some(180.0), None);
        assert!(!double.acc1 && double.acc2);
        let third = score("c".into(), 60.0, Some(180.0), None);
        assert!(!third.acc1 && third.acc2);
        let off = score("d".into(), 120.0, Some(126.0), None);
        assert!(!off.acc1 && !off.acc2, "5 % off is a miss");
        let r = report(vec![exact, double, third, off, score("e".into(), 100.0, None, Some("bad".into()))]);
        assert_eq!((r.tracks, r.acc1, r.acc2), (5, 0.2, 0.6));
    }
}
