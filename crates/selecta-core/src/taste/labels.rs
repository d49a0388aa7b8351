//! Liked / disliked / neutral labels, the sample-change counter and the training threshold:
//! neutral is the absence of a label, and only real changes count as samples.

use serde::{Deserialize, Serialize};

/// Minimum liked tracks before a model may be trained.
pub const MIN_POSITIVES: usize = 20;
/// Disliked tracks needed per liked track.
pub const NEGATIVES_PER_POSITIVE: usize = 4;
/// Real label changes after which the apps retrain automatically.
pub const AUTO_RETRAIN_CHANGES: u64 = 20;
/// Quiet period after the last label change before an automatic retraining starts, so that a
/// burst of labelling trains once.
pub const AUTO_RETRAIN_DEBOUNCE_MS: i64 = 8_000;

pub use crate::record::Label;

/// The current labels (`getSelectionLabelSnapshot`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSnapshot {
    /// Liked `songId`s, sorted.
    pub positive_ids: Vec<String>,
    /// Disliked `songId`s, sorted.
    pub negative_ids: Vec<String>,
    /// Real label changes since the last successful training (or reset).
    pub sample_change_count: u64,
}

impl LabelSnapshot {
    /// Whether the labels allow training.
    pub fn threshold_met(&self) -> bool {
        threshold_met(self.positive_ids.len(), self.negative_ids.len())
    }
}

/// Result of `setSelectionLabels`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SetLabelsResult {
    /// Distinct tracks in the call.
    pub total: usize,
    /// Tracks whose label really changed.
    pub changed: usize,
    /// The counter after the call.
    pub sample_change_count: u64,
    /// What the call added to the counter.
    pub sample_change_delta: u64,
}

/// The training threshold: `positives ≥ 20` and `negatives ≥ 4 × positives`.
pub fn threshold_met(positives: usize, negatives: usize) -> bool {
    positives >= MIN_POSITIVES && negatives >= NEGATIVES_PER_POSITIVE * positives
}

/// Whether the automatic retraining rule holds now (enough changes and enough samples).
pub fn auto_retrain_due(snapshot: &LabelSnapshot) -> bool {
    snapshot.sample_change_count >= AUTO_RETRAIN_CHANGES && snapshot.threshold_met()
}

/// Debounce for automatic retraining: the app notes every label change and asks, later,
/// whether the quiet period has passed. The caller supplies the clock (the core has none).
#[derive(Debug, Clone, Default)]
pub struct RetrainDebounce {
    last_change_ms: Option<i64>,
}

impl RetrainDebounce {
    /// A label changed at `now_ms`.
    pub fn note_change(&mut self, now_ms: i64) {
        self.last_change_ms = Some(now_ms);
    }

    /// Whether a retraining should start now: the rule holds and no change happened during the
    /// last [`AUTO_RETRAIN_DEBOUNCE_MS`]. Returns true once per burst of changes.
    pub fn should_train(&mut self, snapshot: &LabelSnapshot, now_ms: i64) -> bool {
        match self.last_change_ms {
            Some(t) if now_ms - t >= AUTO_RETRAIN_DEBOUNCE_MS && auto_retrain_due(snapshot) => {
                self.last_change_ms = None;
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(pos: usize, neg: usize, changes: u64) -> LabelSnapshot {
        LabelSnapshot {
            positive_ids: (0..pos).map(|i| format!("p{i}")).collect(),
            negative_ids: (0..neg).map(|i| format!("n{i}")).collect(),
            sample_change_count: changes,
        }
    }

    #[test]
    fn threshold_is_twenty_positives_and_four_negatives_each() {
        assert!(!threshold_met(19, 1000));
        assert!(!threshold_met(20, 79));
        assert!(threshold_met(20, 80));
        assert!(threshold_met(100, 400));
        assert!(!threshold_met(100, 399));
    }

    #[test]
    fn debounce_waits_for_quiet_and_fires_once() {
        let due = snapshot(20, 80, 20);
        let mut d = RetrainDebounce::default();
        assert!(!d.should_train(&due, 0), "no change noted yet");
        d.note_change(1_000);
        assert!(!d.should_train(&due, 5_000), "still inside the quiet period");
        d.note_change(6_000);
        assert!(!d.should_train(&due, 10_000));
        assert!(d.should_train(&due, 14_000));
        assert!(!d.should_train(&due, 20_000), "fires once per burst");
        d.note_change(30_000);
        assert!(!d.should_train(&snapshot(20, 80, 19), 40_000), "19 changes are not enough");
        assert!(!d.should_train(&snapshot(19, 80, 25), 40_000), "threshold not met");
    }

    #[test]
    fn labels_parse() {
        assert_eq!(Label::parse("Liked"), Some(Label::Liked));
        assert_eq!(Label::parse("dislike"), Some(Label::Disliked));
        assert_eq!(Label::parse(" none "), Some(Label::Neutral));
        assert_eq!(Label::parse(""), None, "an empty string is no label");
        assert_eq!(Label::parse("  "), None);
        assert_eq!(Label::parse("maybe"), None);
    }
}
