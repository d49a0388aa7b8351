//! Ranking metrics for the offline taste evaluation : Precision@K, Recall@K,
//! NDCG@K with binary relevance, ROC-AUC (Mann–Whitney, ties counted half), and stratified
//! k-fold assignment.

use serde::Serialize;

/// Metrics of one ranking at one cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AtK {
    /// Cut-off.
    pub k: usize,
    /// Liked share of the top K.
    pub precision: f64,
    /// Share of all liked items found in the top K.
    pub recall: f64,
    /// Discounted cumulative gain of the top K over the ideal one.
    pub ndcg: f64,
}

/// Order of `scores`, best first; ties keep input order so that results are reproducible.
fn ranking(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b)));
    order
}

/// Precision, recall and NDCG at `k` of ranking by `scores` with binary relevance `liked`.
pub fn at_k(scores: &[f32], liked: &[bool], k: usize) -> AtK {
    let order = ranking(scores);
    let relevant = liked.iter().filter(|l| **l).count();
    let top = &order[..k.min(order.len())];
    let hits = top.iter().filter(|i| liked[**i]).count();
    let gain = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
    let dcg: f64 = top.iter().enumerate().filter(|(_, i)| liked[**i]).map(|(r, _)| gain(r)).sum();
    let ideal: f64 = (0..relevant.min(k)).map(gain).sum();
    AtK {
        k,
        precision: if k == 0 { 0.0 } else { hits as f64 / k as f64 },
        recall: if relevant == 0 { 0.0 } else { hits as f64 / relevant as f64 },
        ndcg: if ideal == 0.0 { 0.0 } else { dcg / ideal },
    }
}

/// Area under the ROC curve: the chance that a random liked item outscores a random disliked
/// one. 0.5 when either class is empty.
pub fn roc_auc(scores: &[f32], liked: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    // Average ranks over ties, then the Mann–Whitney U of the positives.
    let mut ranks = vec![0.0f64; scores.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &t in &idx[i..=j] {
            ranks[t] = avg;
        }
        i = j + 1;
    }
    let pos = liked.iter().filter(|l| **l).count() as f64;
    let neg = liked.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return 0.5;
    }
    let rank_sum: f64 = ranks.iter().zip(liked).filter(|(_, l)| **l).map(|(r, _)| r).sum();
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Fold number (0..folds) of every item, stratified by label: each class is dealt round-robin
/// after a seeded shuffle, so every fold gets its share of liked and disliked items.
pub fn stratified_folds(liked: &[bool], folds: usize, seed: u64) -> Vec<usize> {
    let folds = folds.max(1);
    let mut assignment = vec![0; liked.len()];
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    for class in [true, false] {
        let mut members: Vec<usize> = (0..liked.len()).filter(|i| liked[*i] == class).collect();
        for i in (1..members.len()).rev() {
            let j = (next() % (i as u64 + 1)) as usize;
            members.swap(i, j);
        }
        for (n, i) in members.into_iter().enumerate() {
            assignment[i] = n % folds;
        }
    }
    assignment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_reversed_rankings() {
        let liked = [true, true, false, false, false];
        let good = [0.9, 0.8, 0.3, 0.2, 0.1];
        let bad = [0.1, 0.2, 0.3, 0.8, 0.9];
        assert_eq!(roc_auc(&good, &liked), 1.0);
        assert_eq!(roc_auc(&bad, &liked), 0.0);
        assert_eq!(roc_auc(&[0.5; 5], &liked), 0.5, "ties count half");
        let m = at_k(&good, &liked, 2);
        assert_eq!((m.precision, m.recall, m.ndcg), (1.0, 1.0, 1.0));
        let m = at_k(&bad, &liked, 2);
        assert_eq!((m.precision, m.recall, m.ndcg), (0.0, 0.0, 0.0));
        let m = at_k(&[0.9, 0.1, 0.8, 0.2, 0.3], &liked, 2);
        assert_eq!((m.precision, m.recall), (0.5, 0.5));
        assert!((m.ndcg - 1.0 / (1.0 + 1.0 / 3f64.log2())).abs() < 1e-12);
    }

    #[test]
    fn folds_are_stratified() {
        let liked: Vec<bool> = (0..100).map(|i| i % 5 == 0).collect();
        let folds = stratified_folds(&liked, 5, 1);
        for f in 0..5 {
            let pos = (0..100).filter(|i| folds[*i] == f && liked[*i]).count();
            let all = folds.iter().filter(|x| **x == f).count();
            assert_eq!((pos, all), (4, 20));
        }
    }
}
