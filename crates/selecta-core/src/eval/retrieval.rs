//! Retrieval quality on augmented snippets of library tracks (`selecta eval retrieval`): for
//! every query, where the track it was cut from ranks among the identification's candidates and
//! in the similarity ranking, and how far the found offset is from the true one; summarised per
//! augmentation as Recall@1/10/100, MRR and the offset error, on the packages a setting was
//! chosen on and on the held-out ones apart.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// What one query gave.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryOutcome {
    /// The augmentation's name.
    pub augmentation: String,
    /// The target's package (the unit of the tuning / held-out split).
    pub package: String,
    /// Whether the identification names the target: it is the answer, or matched as a duplicate
    /// of the answer (the same recording held twice).
    pub identified: bool,
    /// Rank (1-based) of the target among the verified candidates, matched or not.
    pub candidate_rank: Option<usize>,
    /// |found − true| offset in seconds, when the target was among the candidates.
    pub offset_error_sec: Option<f64>,
    /// The target's fingerprint agreement, when it was among the candidates.
    pub target_agreement: Option<f32>,
    /// The best agreement of any other track (what a threshold must stay above).
    pub impostor_agreement: Option<f32>,
    /// Whether, with the target left out of the candidates, another track would be identified:
    /// what a snippet of a track the library does not hold would give.
    pub false_match_without_target: bool,
    /// Rank (1-based) of the target in the similarity ranking, when it was computed and the
    /// target is within its length.
    pub similar_rank: Option<usize>,
}

/// The scores of one augmentation on one split.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetrievalScore {
    /// The augmentation.
    pub augmentation: String,
    /// `tuned` (packages settings were chosen on), `held_out` or `all`.
    pub split: &'static str,
    /// Queries.
    pub queries: usize,
    /// Identification: share whose answer is the target.
    pub identify_recall_at_1: f64,
    /// Identification: share with the target among the candidates.
    pub identify_recall_at_5: f64,
    /// Identification: mean reciprocal rank of the target among the candidates.
    pub identify_mrr: f64,
    /// Share of queries where, the target left out, another track would be identified.
    pub false_identification_without_target: f64,
    /// Median offset error (s) of the queries whose target was a candidate.
    pub offset_error_median_sec: Option<f64>,
    /// 95th percentile of it.
    pub offset_error_p95_sec: Option<f64>,
    /// Lowest target agreement (where found) and highest impostor agreement: the room for the
    /// match threshold.
    pub target_agreement_min: Option<f32>,
    /// See `target_agreement_min`.
    pub impostor_agreement_max: Option<f32>,
    /// Similarity ranking: Recall@1, @10, @100 and MRR (`None` when not computed).
    pub similar_recall_at_1: Option<f64>,
    /// See `similar_recall_at_1`.
    pub similar_recall_at_10: Option<f64>,
    /// See `similar_recall_at_1`.
    pub similar_recall_at_100: Option<f64>,
    /// See `similar_recall_at_1`.
    pub similar_mrr: Option<f64>,
}

/// The held-out packages: every second one in name order, so neither half is chosen by hand.
pub fn held_out_packages<'a>(packages: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let sorted: BTreeSet<&str> = packages.into_iter().collect();
    sorted.into_iter().skip(1).step_by(2).map(str::to_string).collect()
}

fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    Some(sorted[i])
}

fn score(augmentation: &str, split: &'static str, outcomes: &[&QueryOutcome], with_similar: bool) -> RetrievalScore {
    let n = outcomes.len().max(1) as f64;
    let share = |f: &dyn Fn(&QueryOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count() as f64 / n;
    let mrr = |rank: &dyn Fn(&QueryOutcome) -> Option<usize>| {
        outcomes.iter().filter_map(|o| rank(o)).map(|r| 1.0 / r as f64).sum::<f64>() / n
    };
    let mut errors: Vec<f64> = outcomes.iter().filter_map(|o| o.offset_error_sec).collect();
    errors.sort_by(f64::total_cmp);
    let min_f32 = |it: &mut dyn Iterator<Item = f32>| it.reduce(f32::min);
    let max_f32 = |it: &mut dyn Iterator<Item = f32>| it.reduce(f32::max);
    let similar_at = |k: usize| with_similar.then(|| share(&|o| o.similar_rank.is_some_and(|r| r <= k)));
    RetrievalScore {
        augmentation: augmentation.to_string(),
        split,
        queries: outcomes.len(),
        identify_recall_at_1: share(&|o| o.identified),
        identify_recall_at_5: share(&|o| o.candidate_rank.is_some()),
        identify_mrr: mrr(&|o| o.candidate_rank),
        false_identification_without_target: share(&|o| o.false_match_without_target),
        offset_error_median_sec: quantile(&errors, 0.5),
        offset_error_p95_sec: quantile(&errors, 0.95),
        target_agreement_min: min_f32(&mut outcomes.iter().filter_map(|o| o.target_agreement)),
        impostor_agreement_max: max_f32(&mut outcomes.iter().filter_map(|o| o.impostor_agreement)),
        similar_recall_at_1: similar_at(1),
        similar_recall_at_10: similar_at(10),
        similar_recall_at_100: similar_at(100),
        similar_mrr: with_similar.then(|| mrr(&|o| o.similar_rank)),
    }
}

/// Scores per augmentation (name order) and split: `tuned`, `held_out` (packages in
/// `held_out`) and `all`.
pub fn summarise(outcomes: &[QueryOutcome], held_out: &BTreeSet<String>, with_similar: bool) -> Vec<RetrievalScore> {
    let mut by_augmentation: BTreeMap<&str, Vec<&QueryOutcome>> = BTreeMap::new();
    for o in outcomes {
        by_augmentation.entry(o.augmentation.as_str()).or_default().push(o);
    }
    let mut scores = Vec::new();
    for (augmentation, all) in by_augmentation {
        let (held, tuned): (Vec<&QueryOutcome>, Vec<&QueryOutcome>) =
            all.iter().partition(|o| held_out.contains(&o.package));
        scores.push(score(augmentation, "tuned", &tuned, with_similar));
        scores.push(score(augmentation, "held_out", &held, with_similar));
        scores.push(score(augmentation, "all", &all, with_similar));
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(package: &str, identified: bool, rank: Option<usize>, error: Option<f64>) -> QueryOutcome {
        QueryOutcome {
            augmentation: "crop5".into(),
            package: package.into(),
            identified,
            candidate_rank: rank,
            offset_error_sec: error,
            target_agreement: rank.map(|_| 0.8),
            impostor_agreement: Some(0.55),
            false_match_without_target: package == "c",
            similar_rank: rank.map(|r| r * 20),
        }
    }

    #[test]
    fn scores_each_split_from_its_own_queries() {
        let held = held_out_packages(["b", "a", "c"]);
        assert_eq!(held.iter().map(String::as_str).collect::<Vec<_>>(), ["b"]);
        let outcomes = [
            outcome("a", true, Some(1), Some(0.1)),
            outcome("a", false, Some(2), Some(0.3)),
            outcome("b", false, None, None),
            outcome("c", true, Some(1), Some(0.2)),
        ];
        let scores = summarise(&outcomes, &held, true);
        let tuned = &scores[0];
        assert_eq!((tuned.split, tuned.queries), ("tuned", 3));
        assert!((tuned.identify_recall_at_1 - 2.0 / 3.0).abs() < 1e-9);
        assert!((tuned.identify_mrr - (1.0 + 0.5 + 1.0) / 3.0).abs() < 1e-9);
        assert!((tuned.false_identification_without_target - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(tuned.offset_error_median_sec, Some(0.2));
        // similar ranks 20, 40, 20: none within 10, all within 100.
        assert_eq!((tuned.similar_recall_at_10, tuned.similar_recall_at_100), (Some(0.0), Some(1.0)));
        let held_out = &scores[1];
        assert_eq!((held_out.queries, held_out.identify_recall_at_5), (1, 0.0));
        assert_eq!(scores[2].queries, 4);
    }
}
