//! Offline evaluation of the taste model: stratified k-fold cross-validation of the
//! GBDT and of a cosine-kNN baseline on the same folds. Every labelled track is scored once, by
//! the model trained on the other folds; the pooled out-of-fold scores are ranked for
//! Precision/Recall/NDCG@K, and ROC-AUC is reported pooled and as the mean over folds.
//!
//! The baseline is retrieval without learning: a track's score is the mean
//! cosine similarity (z-scored embeddings) of its 5 nearest liked training tracks.

use serde::Serialize;

use super::booster::BoostParams;
use super::metrics::{AtK, at_k, roc_auc, stratified_folds};
use super::profile::TrackProfile;
use super::train::{NoControl, fit_model};
use super::vector::EmbeddingSpace;

/// Cut-offs reported.
pub const CUTOFFS: [usize; 3] = [10, 50, 100];
/// Neighbours averaged by the kNN baseline.
pub const KNN_K: usize = 5;

/// Scores of one method.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodReport {
    /// ROC-AUC of the pooled out-of-fold scores.
    pub roc_auc: f64,
    /// Mean ROC-AUC over folds.
    pub fold_auc_mean: f64,
    /// Precision, recall and NDCG at [`CUTOFFS`].
    pub at_k: Vec<AtK>,
}

/// The evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalReport {
    /// Labelled tracks with features.
    pub samples: usize,
    /// Liked among them.
    pub positives: usize,
    /// Folds.
    pub folds: usize,
    /// The GBDT.
    pub gbdt: MethodReport,
    /// The cosine-kNN baseline.
    pub knn: MethodReport,
}

fn report(scores: &[f32], liked: &[bool], fold_of: &[usize], folds: usize) -> MethodReport {
    let fold_aucs: Vec<f64> = (0..folds)
        .map(|f| {
            let idx: Vec<usize> = (0..scores.len()).filter(|i| fold_of[*i] == f).collect();
            let s: Vec<f32> = idx.iter().map(|i| scores[*i]).collect();
            let l: Vec<bool> = idx.iter().map(|i| liked[*i]).collect();
            roc_auc(&s, &l)
        })
        .collect();
    MethodReport {
        roc_auc: roc_auc(scores, liked),
        fold_auc_mean: fold_aucs.iter().sum::<f64>() / folds.max(1) as f64,
        at_k: CUTOFFS.iter().map(|k| at_k(scores, liked, *k)).collect(),
    }
}

/// kNN baseline scores of `test` against the liked training tracks.
fn knn_scores(train_liked: &[&TrackProfile], all_train: &[&TrackProfile], test: &[&TrackProfile]) -> Vec<f32> {
    let Some(space) = EmbeddingSpace::fit(all_train.iter().copied()) else { return vec![0.0; test.len()] };
    let liked: Vec<Vec<f32>> = train_liked.iter().filter_map(|p| space.project(p)).collect();
    test.iter()
        .map(|t| {
            let Some(v) = space.project(t) else { return -1.0 };
            let mut sims: Vec<f32> = liked.iter().map(|l| l.iter().zip(&v).map(|(a, b)| a * b).sum()).collect();
            sims.sort_unstable_by(|a, b| b.total_cmp(a));
            let k = KNN_K.min(sims.len()).max(1);
            sims.iter().take(k).sum::<f32>() / k as f32
        })
        .collect()
}

/// Cross-validate on labelled profiles: models learn from `liked` (the labels, noise included)
/// and are scored against `truth` (the listener's real taste where a simulation knows it, else
/// the labels again). Folds are stratified by `liked`. The training threshold is not applied:
/// folds of a small corpus are below it by design.
pub fn cross_validate(
    profiles: &[TrackProfile],
    liked: &[bool],
    truth: &[bool],
    folds: usize,
    params: &BoostParams,
    seed: u64,
) -> EvalReport {
    let folds = folds.max(2);
    let fold_of = stratified_folds(liked, folds, seed);
    let mut gbdt = vec![0.0f32; profiles.len()];
    let mut knn = vec![0.0f32; profiles.len()];
    for f in 0..folds {
        let (mut pos, mut neg, mut test) = (Vec::new(), Vec::new(), Vec::new());
        for (i, p) in profiles.iter().enumerate() {
            if fold_of[i] == f {
                test.push(i);
            } else if liked[i] {
                pos.push(p.clone());
            } else {
                neg.push(p.clone());
            }
        }
        let test_refs: Vec<&TrackProfile> = test.iter().map(|i| &profiles[*i]).collect();
        if let Some((model, _)) = fit_model(&pos, &neg, params, &mut NoControl) {
            for (i, s) in test.iter().zip(model.score(&test_refs)) {
                gbdt[*i] = s;
            }
        }
        let pos_refs: Vec<&TrackProfile> = pos.iter().collect();
        let train_refs: Vec<&TrackProfile> = pos.iter().chain(&neg).collect();
        for (i, s) in test.iter().zip(knn_scores(&pos_refs, &train_refs, &test_refs)) {
            knn[*i] = s;
        }
    }
    EvalReport {
        samples: profiles.len(),
        positives: liked.iter().filter(|l| **l).count(),
        folds,
        gbdt: report(&gbdt, truth, &fold_of, folds),
        knn: report(&knn, truth, &fold_of, folds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::synth_library::SyntheticLibrary;

    #[test]
    fn cross_validation_separates_a_clear_taste() {
        let lib = SyntheticLibrary::new(4, 3);
        let profiles: Vec<TrackProfile> = (0..120).map(|i| TrackProfile::from_features(&lib.track(i))).collect();
        let liked: Vec<bool> = (0..120).map(|i| i % 4 == 0).collect();
        let params = BoostParams { trees: 30, ..BoostParams::default() };
        let r = cross_validate(&profiles, &liked, &liked, 5, &params, 1);
        assert_eq!((r.samples, r.positives, r.folds), (120, 30, 5));
        assert!(r.gbdt.roc_auc > 0.9, "{r:?}");
        assert!(r.knn.roc_auc > 0.9, "{r:?}");
        assert_eq!(r.gbdt.at_k.iter().map(|m| m.k).collect::<Vec<_>>(), CUTOFFS);
    }
}
