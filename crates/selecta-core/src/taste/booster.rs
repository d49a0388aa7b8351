//! Gradient boosting with logistic loss on the `gbdt` crate's regression-tree learner.
//!
//! Why not `gbdt::GradientBoost::fit`: it trains all trees in one call (no progress, no
//! cancellation, which the API promises) and draws its row subsample from `thread_rng`, so two
//! trainings on the same labels give different models (and native and wasm differ). This loop
//! is the same algorithm as `GBDT::fit` with `LogLikelyhood` loss — bias
//! `½·ln((1+ȳ)/(1−ȳ))`, targets `2y/(1+e^{2yF})`, Newton leaf values from the crate's tree,
//! shrinkage — with a seeded row subsample and a callback after every tree. Feature sampling
//! stays off (ratio 1), so gbdt never uses its own random generator.

use gbdt::config::Loss;
use gbdt::decision_tree::{Data, DataVec, DecisionTree, TrainingCache};
use gbdt::fitness::logit_loss_gradient;
use serde::{Deserialize, Serialize};

/// Hyper-parameters; the product keeps them within depth 6–8, 300–600 trees, learning rate
/// 0.03–0.05 and subsample 0.8, the range in which the model neither under- nor overfits a few
/// hundred labels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoostParams {
    /// Number of trees.
    pub trees: usize,
    /// Maximum tree depth.
    pub max_depth: u32,
    /// Shrinkage.
    pub learning_rate: f32,
    /// Share of the rows each tree is fitted on.
    pub subsample: f64,
    /// Minimum samples in a leaf.
    pub min_leaf_size: usize,
    /// Seed of the row subsample.
    pub seed: u64,
}

impl Default for BoostParams {
    fn default() -> Self {
        Self { trees: 400, max_depth: 6, learning_rate: 0.04, subsample: 0.8, min_leaf_size: 3, seed: 0x5e1ec7a }
    }
}

/// A trained ensemble.
#[derive(Debug, Serialize, Deserialize)]
pub struct Booster {
    bias: f32,
    shrinkage: f32,
    feature_count: usize,
    trees: Vec<DecisionTree>,
}

/// SplitMix64: a tiny, well-distributed generator for the reproducible row subsample.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

impl Booster {
    /// Fit on `rows` (equal lengths) with `liked` labels. `after_tree(done, total)` runs after
    /// every tree; returning `false` stops training and yields `None` (cancelled).
    pub fn train(
        rows: &[Vec<f32>],
        liked: &[bool],
        params: &BoostParams,
        after_tree: &mut dyn FnMut(usize, usize) -> bool,
    ) -> Option<Booster> {
        let feature_count = rows.first().map_or(0, Vec::len);
        let mut data: DataVec = rows
            .iter()
            .zip(liked)
            .map(|(r, l)| Data::new_training_data(r.clone(), 1.0, if *l { 1.0 } else { -1.0 }, None))
            .collect();
        let n = data.len();
        let mean_label = data.iter().map(|d| d.label).sum::<f32>() / n.max(1) as f32;
        // Clamp so that a one-class set (never trained by the API, but possible in eval folds)
        // gives a finite bias.
        let m = mean_label.clamp(-0.999, 0.999);
        let bias = ((1.0 + m) / (1.0 - m)).ln() / 2.0;
        let mut predicted = vec![bias; n];
        let mut cache = TrainingCache::get_cache(feature_count, &data, 2);
        let take = ((n as f64) * params.subsample.clamp(0.0, 1.0)).round() as usize;
        let take = take.clamp(1, n.max(1));
        let mut rng = SplitMix(params.seed);
        let mut order: Vec<usize> = (0..n).collect();
        let mut trees = Vec::with_capacity(params.trees);
        for t in 0..params.trees {
            // Partial Fisher–Yates: the first `take` entries are a uniform sample.
            for i in 0..take.min(n.saturating_sub(1)) {
                let j = i + rng.below(n - i);
                order.swap(i, j);
            }
            let mut subset = order[..take].to_vec();
            let mut rest = order[take..].to_vec();
            subset.sort_unstable();
            rest.sort_unstable();
            for (d, p) in data.iter_mut().zip(&predicted) {
                d.target = logit_loss_gradient(d.label, *p);
            }
            let mut tree = DecisionTree::new();
            tree.set_feature_size(feature_count);
            tree.set_max_depth(params.max_depth);
            tree.set_min_leaf_size(params.min_leaf_size);
            tree.set_loss(Loss::LogLikelyhood);
            tree.set_feature_sample_ratio(1.0);
            tree.fit_n(&data, &subset, &mut cache);
            let fitted = cache.get_preds();
            for &i in &subset {
                predicted[i] += fitted[i] * params.learning_rate;
            }
            if !rest.is_empty() {
                let others = tree.predict_n(&data, &rest);
                for &i in &rest {
                    predicted[i] += others[i] * params.learning_rate;
                }
            }
            trees.push(tree);
            if !after_tree(t + 1, params.trees) {
                return None;
            }
        }
        Some(Booster { bias, shrinkage: params.learning_rate, feature_count, trees })
    }

    /// Number of features the model expects.
    pub fn feature_count(&self) -> usize {
        self.feature_count
    }

    /// Probability of "liked" for every row.
    pub fn predict(&self, rows: &[Vec<f32>]) -> Vec<f32> {
        let data: DataVec = rows.iter().map(|r| Data::new_test_data(r.clone(), None)).collect();
        let mut margin = vec![self.bias; data.len()];
        for tree in &self.trees {
            for (m, v) in margin.iter_mut().zip(tree.predict(&data)) {
                *m += self.shrinkage * v;
            }
        }
        margin.into_iter().map(|x| 1.0 / (1.0 + (-2.0 * x).exp())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(n: usize) -> (Vec<Vec<f32>>, Vec<bool>) {
        let mut rng = SplitMix(7);
        let rows: Vec<Vec<f32>> =
            (0..n).map(|_| (0..4).map(|_| (rng.next() % 1000) as f32 / 1000.0).collect()).collect();
        let labels = rows.iter().map(|r| r[0] + 0.5 * r[1] > 0.8).collect();
        (rows, labels)
    }

    #[test]
    fn learns_a_rule_and_is_reproducible() {
        let (rows, labels) = toy(400);
        let params = BoostParams { trees: 60, ..BoostParams::default() };
        let a = Booster::train(&rows, &labels, &params, &mut |_, _| true).expect("trained");
        let b = Booster::train(&rows, &labels, &params, &mut |_, _| true).expect("trained");
        let (test_rows, test_labels) = toy(800);
        let pa = a.predict(&test_rows[400..]);
        assert_eq!(pa, b.predict(&test_rows[400..]), "same data and seed, same model");
        let correct = pa.iter().zip(&test_labels[400..]).filter(|(p, l)| (**p > 0.5) == **l).count();
        assert!(correct as f32 / 400.0 > 0.9, "accuracy {correct}/400");
    }

    #[test]
    fn stops_when_asked() {
        let (rows, labels) = toy(100);
        let mut seen = 0;
        let r = Booster::train(&rows, &labels, &BoostParams::default(), &mut |done, _| {
            seen = done;
            done < 5
        });
        assert!(r.is_none());
        assert_eq!(seen, 5);
    }
}
