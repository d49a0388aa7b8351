//! Choosing the similarity's weights on one part of a library and reporting them on another:
//! the packages (albums, games, sources) are split in two by name ([`held_out_packages`]), a
//! grid of weights is ranked by top-1 same package on the tuning half only, and every row of the
//! report — each view alone, the current defaults, the chosen weights — is scored on both
//! halves. A query ranks the other tracks of its own half, so the held-out half never sees a
//! tuning track. The standardisation is fitted on the whole library: it uses no labels, and the
//! engine fits it on the whole library too.

use std::collections::BTreeSet;

use serde::Serialize;

use super::retrieval::held_out_packages;
use crate::similar::{PreparedView, Similarity, TrackView, Weights};

/// Candidate values of each weight in the grid.
const GRID: [f32; 5] = [0.0, 0.25, 0.5, 1.0, 2.0];

/// One track of the evaluation.
#[derive(Debug, Clone)]
pub struct LabelledTrack {
    /// The group that counts as "the same source".
    pub package: String,
    /// What the similarity compares.
    pub view: TrackView,
}

/// Quality of one weighting on one half.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SplitScore {
    /// Queries (tracks with a same-package partner in their half).
    pub queries: usize,
    /// Share of queries whose nearest neighbour is from the same package.
    pub top1: f64,
    /// Mean share of same-package tracks among the 5 nearest.
    pub precision_at_5: f64,
}

/// One weighting scored on both halves.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightRow {
    /// What it is.
    pub label: String,
    /// The weights.
    pub weights: Weights,
    /// On the half the weights were chosen on.
    pub tuned: SplitScore,
    /// On the held-out half.
    pub held_out: SplitScore,
}

/// The whole choice.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightReport {
    /// Tracks in the library.
    pub tracks: usize,
    /// The held-out packages.
    pub held_out_packages: Vec<String>,
    /// Weightings tried.
    pub grid_size: usize,
    /// The chosen weights (best top-1 on the tuning half, then P@5, then grid order).
    pub chosen: Weights,
    /// Each view alone, the defaults and the chosen weights.
    pub rows: Vec<WeightRow>,
}

/// Raw distances of every pair, computed once: the weights only recombine them.
struct PairParts {
    n: usize,
    parts: Vec<[Option<f32>; 3]>,
}

impl PairParts {
    fn new(similarity: &Similarity, prepared: &[PreparedView]) -> Self {
        let n = prepared.len();
        let mut parts = Vec::with_capacity(n * n);
        for a in prepared {
            for b in prepared {
                parts.push(similarity.prepared_parts(a, b));
            }
        }
        Self { n, parts }
    }

    fn get(&self, a: usize, b: usize) -> [Option<f32>; 3] {
        self.parts[a * self.n + b]
    }
}

/// Top-1 and P@5 of `similarity` over the tracks `members` (one half), each ranking the others.
fn score(tracks: &[LabelledTrack], members: &[usize], pairs: &PairParts, similarity: &Similarity) -> SplitScore {
    let (mut top1, mut p5, mut queries) = (0.0, 0.0, 0usize);
    for &q in members {
        let package = &tracks[q].package;
        if !members.iter().any(|&i| i != q && tracks[i].package == *package) {
            continue;
        }
        let mut ranked: Vec<(f32, usize)> = members
            .iter()
            .filter(|&&i| i != q)
            .filter_map(|&i| similarity.combine(similarity.standardise(pairs.get(q, i))).map(|d| (d, i)))
            .collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        queries += 1;
        if ranked.first().is_some_and(|&(_, i)| tracks[i].package == *package) {
            top1 += 1.0;
        }
        p5 += ranked.iter().take(5).filter(|&&(_, i)| tracks[i].package == *package).count() as f64 / 5.0;
    }
    let n = queries.max(1) as f64;
    SplitScore { queries, top1: top1 / n, precision_at_5: p5 / n }
}

/// Choose the weights on the tuning half and report them beside each view alone and the
/// defaults, on both halves.
pub fn choose_weights(tracks: &[LabelledTrack]) -> WeightReport {
    let held: BTreeSet<String> = held_out_packages(tracks.iter().map(|t| t.package.as_str()));
    let (tuning, held_out): (Vec<usize>, Vec<usize>) =
        (0..tracks.len()).partition(|&i| !held.contains(&tracks[i].package));
    let views: Vec<TrackView> = tracks.iter().map(|t| t.view.clone()).collect();
    let fitted = Similarity::fit(&views, Weights::default());
    let prepared: Vec<PreparedView> = views.iter().map(|v| fitted.prepare(v)).collect();
    let pairs = PairParts::new(&fitted, &prepared);
    let row = |label: &str, weights: Weights| {
        let s = fitted.with_weights(weights);
        WeightRow {
            label: label.to_string(),
            weights,
            tuned: score(tracks, &tuning, &pairs, &s),
            held_out: score(tracks, &held_out, &pairs, &s),
        }
    };
    let mut grid = Vec::new();
    for embedding in GRID {
        for timbre in GRID {
            for tags in GRID {
                if embedding + timbre + tags > 0.0 {
                    grid.push(Weights { embedding, timbre, tags });
                }
            }
        }
    }
    let mut chosen = Weights::default();
    let mut best: Option<SplitScore> = None;
    for &w in &grid {
        let s = score(tracks, &tuning, &pairs, &fitted.with_weights(w));
        let better = best.is_none_or(|b| (s.top1, s.precision_at_5) > (b.top1, b.precision_at_5));
        if better {
            best = Some(s);
            chosen = w;
        }
    }
    let rows = vec![
        row("embedding only", Weights { embedding: 1.0, timbre: 0.0, tags: 0.0 }),
        row("timbre only", Weights { embedding: 0.0, timbre: 1.0, tags: 0.0 }),
        row("tags only", Weights { embedding: 0.0, timbre: 0.0, tags: 1.0 }),
        row("defaults", Weights::default()),
        row("chosen on the tuning half", chosen),
    ];
    WeightReport {
        tracks: tracks.len(),
        held_out_packages: held.into_iter().collect(),
        grid_size: grid.len(),
        chosen,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Packages that only the tags tell apart (the embeddings are noise): the grid must find
    /// that the tags carry the signal, on the tuning half and on the held-out half.
    #[test]
    fn the_grid_finds_the_view_that_separates_packages_and_holds_out_half() {
        let mut seed = 7u32;
        let mut noise = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let mut tracks = Vec::new();
        for p in 0..6 {
            for _ in 0..5 {
                let tags: Vec<f32> = (0..8).map(|t| if t == p { 1.0 } else { 0.1 } + 0.05 * noise()).collect();
                let embedding: Vec<f32> = (0..8).map(|_| noise()).collect();
                tracks.push(LabelledTrack {
                    package: format!("pkg{p}"),
                    view: TrackView { embedding: Some(embedding), timbre: None, tags: Some(tags) },
                });
            }
        }
        let report = choose_weights(&tracks);
        assert_eq!(report.held_out_packages, ["pkg1", "pkg3", "pkg5"]);
        assert!(report.chosen.tags > report.chosen.embedding, "{:?}", report.chosen);
        let by_label = |l: &str| report.rows.iter().find(|r| r.label == l).expect("row").clone();
        let (chosen, embedding) = (by_label("chosen on the tuning half"), by_label("embedding only"));
        assert_eq!(chosen.held_out.queries, 15);
        assert!(chosen.held_out.top1 > 0.9, "{:?}", chosen.held_out);
        assert!(embedding.held_out.top1 < 0.7, "noise embedding: {:?}", embedding.held_out);
    }
}
