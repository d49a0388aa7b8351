//! Nearest-neighbour quality of the similarity measures: for every track of a manifest, is its
//! nearest neighbour from the same source (package) — top-1 — and how many of its 5 nearest are
//! (P@5)? Compared: the embedding's pooling variants (plain and z-scored cosine), MFCC
//! baselines, the tag probabilities and Selecta's combined similarity with its ablations.

use serde::Serialize;

use crate::analyze::{AnalyzeOptions, decode_mono};
use crate::audio::resample_mono;
use crate::embed::{Embedder, SamplingProfile, pool};
use crate::features::tempo::ONSET_SAMPLE_RATE;
use crate::features::timbre::{MFCCS, timbre_distance, timbre_stats};
use crate::similar::{Similarity, TrackView, Weights, cosine_distance, dimension_stats, z_score};

/// What the evaluation keeps of one track.
#[derive(Debug, Clone)]
pub struct SimilarityTrack {
    /// The group that counts as "the same source".
    pub package: String,
    /// (name, vector) for every embedding pooling variant.
    pooled: Vec<(&'static str, Vec<f32>)>,
    tags: Option<Vec<f32>>,
    timbre: Option<Vec<f32>>,
}

impl SimilarityTrack {
    /// Decode a file's bytes and compute every representation the evaluation compares: the
    /// embedding pooled four ways (dense and penultimate layer, plain mean and RMS-weighted),
    /// the tag probabilities and the MFCC statistics.
    pub fn analyse(
        bytes: Vec<u8>,
        file_name: Option<&str>,
        package: &str,
        embedder: &Embedder,
        profile: SamplingProfile,
    ) -> Result<Self, String> {
        let (_, mono, rate) = decode_mono(bytes, file_name, &AnalyzeOptions::default()).map_err(|e| e.to_string())?;
        let model_rate = embedder.manifest().front_end.sample_rate;
        let audio = resample_mono(&mono, rate, model_rate).map_err(|e| e.to_string())?;
        let regions = profile.regions(&audio, model_rate, embedder.front_end().spec().patch_samples());
        let out = embedder.run_regions(&audio, &regions).map_err(|e| e.to_string())?;
        let names = embedder.output_names();
        let index = |name: &str| names.iter().position(|n| n == name);
        let flat = vec![1.0f32; out.rms.len()];
        let mut pooled = Vec::new();
        for (output, mean_name, rms_name) in
            [("embedding", "dense/mean", "dense/rms"), ("penultimate", "penultimate/mean", "penultimate/rms")]
        {
            let Some(i) = index(output) else { continue };
            if let Some(v) = pool(&out.outputs[i], &flat, true) {
                pooled.push((mean_name, v));
            }
            if let Some(v) = pool(&out.outputs[i], &out.rms, true) {
                pooled.push((rms_name, v));
            }
        }
        let tags = index("tags").and_then(|i| pool(&out.outputs[i], &out.rms, false));
        let low = resample_mono(&mono, rate, ONSET_SAMPLE_RATE).map_err(|e| e.to_string())?;
        let timbre = timbre_stats(&low, ONSET_SAMPLE_RATE);
        Ok(Self { package: package.to_string(), pooled, tags, timbre })
    }
}

/// One method's quality.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimilarityScore {
    /// What was compared.
    pub method: String,
    /// Share of queries whose nearest neighbour is from the same package.
    pub top1: f64,
    /// Mean share of same-package tracks among the 5 nearest.
    pub precision_at_5: f64,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimilarityReport {
    /// Tracks analysed.
    pub tracks: usize,
    /// Tracks with at least one same-package partner (the queries).
    pub queries: usize,
    /// Files that could not be analysed, with the reason.
    pub skipped: Vec<String>,
    /// Top-1 of a random ranking.
    pub chance_top1: f64,
    /// Sampling profile of the embeddings.
    pub profile: &'static str,
    /// Per method.
    pub methods: Vec<SimilarityScore>,
}

/// Top-1 and P@5 of a distance over all queries that have a same-package partner.
fn score(tracks: &[SimilarityTrack], distance: &dyn Fn(usize, usize) -> Option<f32>) -> (f64, f64, usize) {
    let (mut top1, mut p5, mut queries) = (0.0, 0.0, 0usize);
    for q in 0..tracks.len() {
        let partners = tracks.iter().enumerate().filter(|(i, t)| *i != q && t.package == tracks[q].package).count();
        if partners == 0 {
            continue;
        }
        let mut ranked: Vec<(usize, f32)> =
            (0..tracks.len()).filter(|&i| i != q).filter_map(|i| distance(q, i).map(|d| (i, d))).collect();
        ranked.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        queries += 1;
        if ranked.first().is_some_and(|(i, _)| tracks[*i].package == tracks[q].package) {
            top1 += 1.0;
        }
        p5 += ranked.iter().take(5).filter(|(i, _)| tracks[*i].package == tracks[q].package).count() as f64 / 5.0;
    }
    let n = queries.max(1) as f64;
    (top1 / n, p5 / n, queries)
}

/// MFCC means and standard deviations from the stored timbre statistics (means, then the upper
/// triangle of the covariance row by row).
fn mfcc_mean_std(stats: &[f32]) -> Vec<f32> {
    let mut v = stats[..MFCCS].to_vec();
    let mut k = MFCCS;
    for i in 0..MFCCS {
        v.push(stats[k].max(0.0).sqrt());
        k += MFCCS - i;
    }
    v
}

/// Rank every track against every other with each method.
pub fn evaluate(tracks: &[SimilarityTrack], skipped: Vec<String>, profile: SamplingProfile) -> SimilarityReport {
    let mut methods = Vec::new();
    let mut add = |method: String, (top1, precision_at_5, _): (f64, f64, usize)| {
        methods.push(SimilarityScore { method, top1, precision_at_5 });
    };
    let variant_names: Vec<&'static str> =
        tracks.first().map(|t| t.pooled.iter().map(|(n, _)| *n).collect()).unwrap_or_default();
    for (vi, name) in variant_names.iter().enumerate() {
        let vecs: Vec<&[f32]> = tracks.iter().map(|t| t.pooled[vi].1.as_slice()).collect();
        add(format!("{name} cosine"), score(tracks, &|a, b| Some(cosine_distance(vecs[a], vecs[b]))));
        if let Some((m, s)) = dimension_stats(&vecs) {
            let z: Vec<Vec<f32>> = vecs.iter().map(|v| z_score(v, &m, &s)).collect();
            add(format!("{name} z-scored cosine"), score(tracks, &|a, b| Some(cosine_distance(&z[a], &z[b]))));
        }
    }
    let mfcc: Vec<Option<Vec<f32>>> = tracks.iter().map(|t| t.timbre.as_deref().map(mfcc_mean_std)).collect();
    let present: Vec<&[f32]> = mfcc.iter().flatten().map(Vec::as_slice).collect();
    if let Some((m, s)) = dimension_stats(&present) {
        let z: Vec<Option<Vec<f32>>> = mfcc.iter().map(|v| v.as_ref().map(|v| z_score(v, &m, &s))).collect();
        add(
            "MFCC mean+std (z-scored, Euclidean)".into(),
            score(tracks, &|a, b| {
                let (x, y) = (z[a].as_ref()?, z[b].as_ref()?);
                Some(x.iter().zip(y).map(|(p, q)| (p - q).powi(2)).sum::<f32>().sqrt())
            }),
        );
    }
    add(
        "MFCC Gaussian, symmetric KL (Mandel-Ellis)".into(),
        score(tracks, &|a, b| timbre_distance(tracks[a].timbre.as_ref()?, tracks[b].timbre.as_ref()?)),
    );
    add(
        "tag probabilities cosine".into(),
        score(tracks, &|a, b| Some(cosine_distance(tracks[a].tags.as_ref()?, tracks[b].tags.as_ref()?))),
    );
    // Selecta's similarity: the stored (RMS-pooled dense) embedding, timbre and tags.
    let views: Vec<TrackView> = tracks
        .iter()
        .map(|t| TrackView {
            embedding: t.pooled.iter().find(|(n, _)| *n == "dense/rms").map(|(_, v)| v.clone()),
            timbre: t.timbre.clone(),
            tags: t.tags.clone(),
        })
        .collect();
    for (label, w) in [
        ("Selecta similarity (embedding + timbre + tags)", Weights::default()),
        ("  ablation: embedding + timbre", Weights { tags: 0.0, ..Weights::default() }),
        ("  ablation: embedding only", Weights { timbre: 0.0, tags: 0.0, ..Weights::default() }),
        ("  ablation: timbre only", Weights { embedding: 0.0, tags: 0.0, ..Weights::default() }),
    ] {
        let sim = Similarity::fit(&views, w);
        add(label.into(), score(tracks, &|a, b| sim.distance(&views[a], &views[b])));
    }
    let (_, _, queries) = score(tracks, &|_, _| Some(0.0));
    SimilarityReport {
        tracks: tracks.len(),
        queries,
        skipped,
        chance_top1: chance_top1(tracks),
        profile: profile.name(),
        methods,
    }
}

/// Expected top-1 of a random ranking: the mean share of same-package partners among the others.
fn chance_top1(tracks: &[SimilarityTrack]) -> f64 {
    let n = tracks.len();
    let (mut sum, mut queries) = (0.0, 0u32);
    for t in tracks {
        let same = tracks.iter().filter(|o| o.package == t.package).count() - 1;
        if same > 0 {
            sum += same as f64 / (n - 1).max(1) as f64;
            queries += 1;
        }
    }
    sum / f64::from(queries.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(package: &str, v: [f32; 3]) -> SimilarityTrack {
        SimilarityTrack { package: package.into(), pooled: vec![("dense/rms", v.to_vec())], tags: None, timbre: None }
    }

    #[test]
    fn top1_and_precision_count_same_package_neighbours() {
        let tracks = vec![
            track("a", [1.0, 0.0, 0.0]),
            track("a", [0.9, 0.1, 0.0]),
            track("b", [0.8, 0.3, 0.0]),
            track("b", [0.7, 0.3, 0.2]),
        ];
        let vecs: Vec<&[f32]> = tracks.iter().map(|t| t.pooled[0].1.as_slice()).collect();
        let (top1, _, queries) = score(&tracks, &|a, b| Some(cosine_distance(vecs[a], vecs[b])));
        assert_eq!(queries, 4);
        // Cosines worked by hand: a0 → a1 (0.994) hit, a1 → a0 hit, b0 → a1 (0.970 against
        // b1's 0.967) miss, b1 → b0 (0.967) hit.
        assert!((top1 - 0.75).abs() < 1e-9, "{top1}");
        assert!((chance_top1(&tracks) - 1.0 / 3.0).abs() < 1e-9);
    }
}
