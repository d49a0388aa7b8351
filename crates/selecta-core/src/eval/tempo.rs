//! Tempo accuracy in the MIREX style: Acc1 is the share of tracks within 4 % of the truth, Acc2
//! also accepts the metrical relatives ×2, ×½, ×3 and ×⅓. `acc1_with_alternative` also accepts
//! the first of the stored `bpmAlternatives` (what a UI offers beside the tempo).

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
    /// The most plausible other octave, with its confidence.
    pub alternative: Option<(f64, f64)>,
    /// Within [`TOLERANCE`] of the truth.
    pub acc1: bool,
    /// Within [`TOLERANCE`] of the truth or a metrical relative.
    pub acc2: bool,
    /// The tempo or its first alternative within [`TOLERANCE`] of the truth.
    pub acc1_with_alternative: bool,
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
    /// Share whose tempo or first alternative is within 4 %.
    pub acc1_with_alternative: f64,
    /// Per track.
    pub results: Vec<TempoResult>,
}

fn within(bpm: f64, truth: f64, factor: f64) -> bool {
    (bpm / (truth * factor) - 1.0).abs() <= TOLERANCE
}

/// Score a found tempo (and its first alternative, with its confidence) against the truth.
pub fn score(
    path: String,
    bpm_truth: f64,
    bpm: Option<f64>,
    alternative: Option<(f64, f64)>,
    error: Option<String>,
) -> TempoResult {
    let acc1 = bpm.is_some_and(|b| within(b, bpm_truth, 1.0));
    let acc2 = bpm.is_some_and(|b| OCTAVES.iter().any(|&f| within(b, bpm_truth, f)));
    let acc1_with_alternative = acc1 || alternative.is_some_and(|(b, _)| within(b, bpm_truth, 1.0));
    TempoResult { path, bpm_truth, bpm, alternative, acc1, acc2, acc1_with_alternative, error }
}

/// Analyse a file's bytes (or take the error reading them) and score its tempo.
pub fn evaluate_file(path: String, bytes: Result<Vec<u8>, String>, bpm_truth: f64) -> TempoResult {
    let name = path.rsplit(['/', '\\']).next().map(str::to_string);
    let analysed = bytes
        .and_then(|b| analyze_bytes(b, name.as_deref(), &AnalyzeOptions::default(), None).map_err(|e| e.to_string()));
    match analysed {
        Ok(a) => {
            let alternative =
                a.features.bpm_alternatives.first().map(|alt| (f64::from(alt.bpm), f64::from(alt.confidence)));
            score(path, bpm_truth, a.features.bpm.map(f64::from), alternative, None)
        }
        Err(e) => score(path, bpm_truth, None, None, Some(e)),
    }
}

/// Aggregate per-track results.
pub fn report(results: Vec<TempoResult>) -> TempoReport {
    let n = results.len().max(1) as f64;
    TempoReport {
        tracks: results.len(),
        acc1: results.iter().filter(|r| r.acc1).count() as f64 / n,
        acc2: results.iter().filter(|r| r.acc2).count() as f64 / n,
        acc1_with_alternative: results.iter().filter(|r| r.acc1_with_alternative).count() as f64 / n,
        results,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octave_errors_count_only_for_acc2() {
        let exact = score("a".into(), 120.0, Some(124.0), None, None);
        assert!(exact.acc1 && exact.acc2, "3.3 % off is within 4 %");
        let double = score("b".into(), 90.0, Some(180.0), Some((90.5, 0.3)), None);
        assert!(!double.acc1 && double.acc2 && double.acc1_with_alternative, "the alternative holds the truth");
        let third = score("c".into(), 60.0, Some(180.0), Some((90.0, 0.2)), None);
        assert!(!third.acc1 && third.acc2 && !third.acc1_with_alternative);
        let off = score("d".into(), 120.0, Some(126.0), None, None);
        assert!(!off.acc1 && !off.acc2, "5 % off is a miss");
        let r = report(vec![exact, double, third, off, score("e".into(), 100.0, None, None, Some("bad".into()))]);
        assert_eq!((r.tracks, r.acc1, r.acc2, r.acc1_with_alternative), (5, 0.2, 0.6, 0.4));
    }
}
