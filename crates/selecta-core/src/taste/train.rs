//! Fitting a [`SelectionModel`] from liked and disliked profiles: embedding standardisation and
//! text weights from the samples, leave-one-out feature rows for the liked samples, boosting,
//! and the training metrics. No store and no threshold here: [`super::api`] adds those, and the
//! offline evaluation calls this directly on its folds.

use serde::Serialize;

use super::booster::{BoostParams, Booster};
use super::model::{MODEL_FORMAT, SelectionModel};
use super::profile::TrackProfile;
use super::text::Idf;
use super::vector::{EmbeddingSpace, FEATURE_NAMES, LikedSet};
use crate::control::percent;
pub use crate::control::{JobControl, NoControl, Phase, Progress};

/// Quality of a fitted model on its own training samples.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainMetrics {
    /// Liked samples used.
    pub positives: usize,
    /// Disliked samples used.
    pub negatives: usize,
    /// Labelled tracks left out because the library has no features for them.
    pub skipped_without_features: usize,
    /// Length of the feature vector.
    pub features: usize,
    /// Trees fitted.
    pub trees: usize,
    /// ROC-AUC on the training samples (leave-one-out features; optimistic).
    pub train_auc: f64,
    /// Mean log loss on the training samples.
    pub train_log_loss: f64,
}

/// Fit a model; `None` when cancelled.
pub fn fit_model(
    positives: &[TrackProfile],
    negatives: &[TrackProfile],
    params: &BoostParams,
    control: &mut dyn JobControl,
) -> Option<(SelectionModel, TrainMetrics)> {
    let all = positives.iter().chain(negatives);
    let space = EmbeddingSpace::fit(all.clone());
    let idf = Idf::fit(all.map(|p| p.words.as_slice()));
    let liked_refs: Vec<&TrackProfile> = positives.iter().collect();
    let mut rows: Vec<Vec<f32>> = Vec::with_capacity(positives.len() + negatives.len());
    let mut labels = Vec::with_capacity(rows.capacity());
    {
        let liked = LikedSet::new(&liked_refs, space.as_ref(), &idf);
        let total = positives.len() + 1;
        for (i, p) in positives.iter().enumerate() {
            if control.is_cancelled() {
                return None;
            }
            // Leave-one-out: a liked sample is compared with the other liked tracks only.
            let row = liked.without(&p.song_id).features(&[p]);
            rows.extend(row.iter().map(|r| r.to_vec()));
            labels.push(true);
            control.progress(Progress { phase: Phase::Prepare, percent: percent(i + 1, total) });
        }
        let negative_refs: Vec<&TrackProfile> = negatives.iter().collect();
        rows.extend(liked.features(&negative_refs).iter().map(|r| r.to_vec()));
        labels.extend(std::iter::repeat_n(false, negatives.len()));
        control.progress(Progress { phase: Phase::Prepare, percent: 100 });
    }
    let booster = Booster::train(&rows, &labels, params, &mut |done, total| {
        control.progress(Progress { phase: Phase::Train, percent: percent(done, total) });
        !control.is_cancelled()
    })?;
    let predicted = booster.predict(&rows);
    let metrics = TrainMetrics {
        positives: positives.len(),
        negatives: negatives.len(),
        skipped_without_features: 0,
        features: FEATURE_NAMES.len(),
        trees: params.trees,
        train_auc: super::metrics::roc_auc(&predicted, &labels),
        train_log_loss: log_loss(&predicted, &labels),
    };
    let model = SelectionModel {
        format: MODEL_FORMAT,
        model_revision: 0,
        feature_names: FEATURE_NAMES.iter().map(|s| s.to_string()).collect(),
        liked: positives.to_vec(),
        space,
        idf,
        params: *params,
        booster,
        positives: positives.len() as u32,
        negatives: negatives.len() as u32,
    };
    Some((model, metrics))
}

fn log_loss(p: &[f32], labels: &[bool]) -> f64 {
    let n = p.len().max(1) as f64;
    p.iter()
        .zip(labels)
        .map(|(p, l)| {
            let p = f64::from(*p).clamp(1e-7, 1.0 - 1e-7);
            if *l { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum::<f64>()
        / n
}
