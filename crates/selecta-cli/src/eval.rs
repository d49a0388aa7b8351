//! `selecta eval tempo`: tempo accuracy against a manifest's ground truth (MIREX-style Acc1 and
//! Acc2 with a 4 % tolerance); `eval similarity`: nearest-neighbour quality by source package;
//! `eval taste`: cross-validated taste-model quality on a labels CSV.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use selecta_core::taste::eval::cross_validate;
use selecta_core::taste::{BoostParams, Label, TrackProfile};
use selecta_core::{AnalyzeOptions, Store, analyze_bytes};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TrackResult {
    path: String,
    bpm_truth: f64,
    bpm: Option<f64>,
    acc1: bool,
    acc2: bool,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TempoReport {
    tracks: usize,
    acc1: f64,
    acc2: f64,
    results: Vec<TrackResult>,
}

const TOLERANCE: f64 = 0.04;

fn within(bpm: f64, truth: f64, factor: f64) -> bool {
    (bpm / (truth * factor) - 1.0).abs() <= TOLERANCE
}

/// Resolve a manifest path: relative to the manifest's folder, or to its parent (the corpus
/// manifest lists `corpus/real/...` from the corpus root).
fn resolve(manifest: &Path, rel: &str) -> PathBuf {
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let direct = dir.join(rel);
    if direct.exists() {
        return direct;
    }
    dir.parent().map(|p| p.join(rel)).filter(|p| p.exists()).unwrap_or(direct)
}

/// Rows of a manifest CSV as (resolved `path`, value of `column`).
fn read_manifest(manifest: &Path, column: &str) -> Result<Vec<(PathBuf, String)>> {
    let mut reader =
        csv::Reader::from_path(manifest).with_context(|| format!("{}: cannot read", manifest.display()))?;
    let headers = reader.headers()?.clone();
    let col =
        |name: &str| headers.iter().position(|h| h == name).with_context(|| format!("manifest has no `{name}` column"));
    let (path_col, value_col) = (col("path")?, col(column)?);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        if let (Some(p), Some(v)) = (record.get(path_col), record.get(value_col)) {
            rows.push((resolve(manifest, p), v.to_string()));
        }
    }
    Ok(rows)
}

pub fn tempo(manifest: &Path, jobs: Option<usize>, json: bool) -> Result<()> {
    let rows: Vec<(PathBuf, f64)> = read_manifest(manifest, "bpm_gt")?
        .into_iter()
        .filter_map(|(path, truth)| truth.trim().parse::<f64>().ok().map(|t| (path, t)))
        .collect();
    let threads = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let options = AnalyzeOptions::default();
    let results: Vec<TrackResult> = pool.install(|| {
        rows.par_iter()
            .map(|(path, truth)| {
                let analysed = std::fs::read(path).map_err(|e| e.to_string()).and_then(|b| {
                    analyze_bytes(b, path.file_name().and_then(|n| n.to_str()), &options, None)
                        .map_err(|e| e.to_string())
                });
                let (bpm, error) = match analysed {
                    Ok(a) => (a.features.bpm.map(f64::from), None),
                    Err(e) => (None, Some(e)),
                };
                let acc1 = bpm.is_some_and(|b| within(b, *truth, 1.0));
                let acc2 = bpm.is_some_and(|b| [1.0, 2.0, 0.5, 3.0, 1.0 / 3.0].iter().any(|&f| within(b, *truth, f)));
                TrackResult { path: path.display().to_string(), bpm_truth: *truth, bpm, acc1, acc2, error }
            })
            .collect()
    });
    let n = results.len().max(1) as f64;
    let report = TempoReport {
        tracks: results.len(),
        acc1: results.iter().filter(|r| r.acc1).count() as f64 / n,
        acc2: results.iter().filter(|r| r.acc2).count() as f64 / n,
        results,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for r in &report.results {
            println!(
                "{:>7.2} {:>7} {} {}  {}",
                r.bpm_truth,
                r.bpm.map_or("–".into(), |b| format!("{b:.2}")),
                if r.acc1 { "acc1" } else { "    " },
                if r.acc2 { "acc2" } else { "    " },
                r.error.as_deref().unwrap_or(&r.path)
            );
        }
        println!("tracks {}  Acc1 {:.3}  Acc2 {:.3}", report.tracks, report.acc1, report.acc2);
    }
    Ok(())
}

/// What the similarity evaluation keeps of one track.
struct SimilarityTrack {
    package: String,
    /// (name, vector) for every embedding pooling variant.
    pooled: Vec<(&'static str, Vec<f32>)>,
    tags: Option<Vec<f32>>,
    timbre: Option<Vec<f32>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SimilarityScore {
    method: String,
    top1: f64,
    precision_at_5: f64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct SimilarityReport {
    tracks: usize,
    queries: usize,
    skipped: Vec<String>,
    chance_top1: f64,
    profile: &'static str,
    methods: Vec<SimilarityScore>,
}

fn similarity_track(
    path: &Path,
    package: &str,
    embedder: &selecta_core::embed::Embedder,
    profile: selecta_core::embed::SamplingProfile,
) -> std::result::Result<SimilarityTrack, String> {
    use selecta_core::embed::pool;
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let options = AnalyzeOptions::default();
    let (_, mono, rate) = selecta_core::decode_mono(bytes, path.file_name().and_then(|n| n.to_str()), &options)
        .map_err(|e| e.to_string())?;
    let model_rate = embedder.manifest().front_end.sample_rate;
    let audio = selecta_core::audio::resample_mono(&mono, rate, model_rate).map_err(|e| e.to_string())?;
    let regions = profile.regions(&audio, model_rate, embedder.front_end().spec().patch_samples());
    let out = embedder.run_regions(&audio, &regions).map_err(|e| e.to_string())?;
    let names = embedder.output_names();
    let index = |name: &str| names.iter().position(|n| n == name);
    let flat = vec![1.0f32; out.rms.len()];
    let mut pooled = Vec::new();
    for (label, output) in [("dense", "embedding"), ("penultimate", "penultimate")] {
        let Some(i) = index(output) else { continue };
        if let Some(v) = pool(&out.outputs[i], &flat, true) {
            pooled.push((if label == "dense" { "dense/mean" } else { "penultimate/mean" }, v));
        }
        if let Some(v) = pool(&out.outputs[i], &out.rms, true) {
            pooled.push((if label == "dense" { "dense/rms" } else { "penultimate/rms" }, v));
        }
    }
    let tags = index("tags").and_then(|i| pool(&out.outputs[i], &out.rms, false));
    let analysis_rate = selecta_core::features::tempo::ONSET_SAMPLE_RATE;
    let low = selecta_core::audio::resample_mono(&mono, rate, analysis_rate).map_err(|e| e.to_string())?;
    let timbre = selecta_core::features::timbre::timbre_stats(&low, analysis_rate);
    Ok(SimilarityTrack { package: package.to_string(), pooled, tags, timbre })
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

pub fn similarity(
    manifest: &Path,
    jobs: Option<usize>,
    profile: selecta_core::embed::SamplingProfile,
    model_dir: Option<&Path>,
    json: bool,
) -> Result<()> {
    use selecta_core::similar::{Similarity, TrackView, Weights, cosine_distance, dimension_stats, z_score};
    let rows = read_manifest(manifest, "source_package")?;
    let embedder = crate::model::load(model_dir)?;
    let threads = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let results: Vec<_> = pool.install(|| {
        rows.par_iter().map(|(path, pkg)| (path.clone(), similarity_track(path, pkg, &embedder, profile))).collect()
    });
    let mut tracks = Vec::new();
    let mut skipped = Vec::new();
    for (path, r) in results {
        match r {
            Ok(t) => tracks.push(t),
            Err(e) => skipped.push(format!("{}: {e}", path.display())),
        }
    }
    let mut methods = Vec::new();
    let mut add = |name: String, (top1, p5, _): (f64, f64, usize)| {
        methods.push(SimilarityScore { method: name, top1, precision_at_5: p5 });
    };
    let variant_names: Vec<&'static str> =
        tracks.first().map(|t| t.pooled.iter().map(|(n, _)| *n).collect()).unwrap_or_default();
    for (vi, name) in variant_names.iter().enumerate() {
        let vecs: Vec<&[f32]> = tracks.iter().map(|t| t.pooled[vi].1.as_slice()).collect();
        add(format!("{name} cosine"), score(&tracks, &|a, b| Some(cosine_distance(vecs[a], vecs[b]))));
        if let Some((m, s)) = dimension_stats(&vecs) {
            let z: Vec<Vec<f32>> = vecs.iter().map(|v| z_score(v, &m, &s)).collect();
            add(format!("{name} z-scored cosine"), score(&tracks, &|a, b| Some(cosine_distance(&z[a], &z[b]))));
        }
    }
    // MFCC mean + std baseline (z-scored, Euclidean).
    let mfcc: Vec<Option<Vec<f32>>> = tracks
        .iter()
        .map(|t| {
            t.timbre.as_ref().map(|s| {
                let n = selecta_core::features::timbre::MFCCS;
                let mut v = s[..n].to_vec();
                let mut k = n;
                for i in 0..n {
                    v.push(s[k].max(0.0).sqrt());
                    k += n - i;
                }
                v
            })
        })
        .collect();
    let present: Vec<&[f32]> = mfcc.iter().flatten().map(Vec::as_slice).collect();
    if let Some((m, s)) = dimension_stats(&present) {
        let z: Vec<Option<Vec<f32>>> = mfcc.iter().map(|v| v.as_ref().map(|v| z_score(v, &m, &s))).collect();
        add(
            "MFCC mean+std (z-scored, Euclidean)".into(),
            score(&tracks, &|a, b| {
                let (x, y) = (z[a].as_ref()?, z[b].as_ref()?);
                Some(x.iter().zip(y).map(|(p, q)| (p - q).powi(2)).sum::<f32>().sqrt())
            }),
        );
    }
    add(
        "MFCC Gaussian, symmetric KL (Mandel-Ellis)".into(),
        score(&tracks, &|a, b| {
            selecta_core::features::timbre::timbre_distance(tracks[a].timbre.as_ref()?, tracks[b].timbre.as_ref()?)
        }),
    );
    add(
        "tag probabilities cosine".into(),
        score(&tracks, &|a, b| Some(cosine_distance(tracks[a].tags.as_ref()?, tracks[b].tags.as_ref()?))),
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
        add(label.into(), score(&tracks, &|a, b| sim.distance(&views[a], &views[b])));
    }
    let (_, _, queries) = score(&tracks, &|_, _| Some(0.0));
    let chance = {
        let n = tracks.len();
        let mut sum = 0.0;
        let mut q = 0;
        for t in &tracks {
            let same = tracks.iter().filter(|o| o.package == t.package).count() - 1;
            if same > 0 {
                sum += same as f64 / (n - 1).max(1) as f64;
                q += 1;
            }
        }
        sum / f64::from(q.max(1))
    };
    let report = SimilarityReport {
        tracks: tracks.len(),
        queries,
        skipped,
        chance_top1: chance,
        profile: profile.name(),
        methods,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} tracks ({} queries), profile {}, chance top-1 {:.3}",
            report.tracks, report.queries, report.profile, report.chance_top1
        );
        println!("{:<50} {:>7} {:>7}", "method", "top-1", "P@5");
        for m in &report.methods {
            println!("{:<50} {:>7.3} {:>7.3}", m.method, m.top1, m.precision_at_5);
        }
        for s in &report.skipped {
            println!("skipped: {s}");
        }
    }
    Ok(())
}

pub struct TasteEvalArgs<'a> {
    pub labels: &'a Path,
    pub folds: usize,
    pub library: Option<&'a Path>,
    pub params: BoostParams,
    pub json: bool,
}

pub fn taste(args: &TasteEvalArgs<'_>) -> Result<()> {
    let rows = crate::taste::read_label_csv(args.labels)?;
    let store = crate::taste::open_library(args.library, rows.first().map(|r| r.path.as_path()))?;
    let (mut profiles, mut labels, mut truth, mut skipped) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in &rows {
        let liked = match row.label {
            Label::Liked => true,
            Label::Disliked => false,
            Label::Neutral => continue,
        };
        let features = crate::taste::song_of(&store, &row.path)
            .and_then(|id| store.song_features(&id).map_err(|e| e.to_string())?.ok_or_else(|| "no features".into()));
        match features {
            Ok(f) => {
                profiles.push(TrackProfile::from_features(&f));
                labels.push(liked);
                truth.push(row.truth.map_or(liked, |t| t == Label::Liked));
            }
            Err(e) => skipped.push(format!("{}: {e}", row.path.display())),
        }
    }
    if profiles.is_empty() {
        bail!("{}: no labelled track has features", args.labels.display());
    }
    let against = if rows.iter().any(|r| r.truth.is_some()) { "truth" } else { "labels" };
    let started = std::time::Instant::now();
    let report = cross_validate(&profiles, &labels, &truth, args.folds, &args.params, 20_261_122);
    let elapsed = started.elapsed().as_secs_f64();
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        value["scoredAgainst"] = against.into();
        value["skipped"] = serde_json::to_value(&skipped)?;
        value["seconds"] = serde_json::to_value((elapsed * 10.0).round() / 10.0)?;
        println!("{value}");
        return Ok(());
    }
    println!(
        "{} labelled tracks ({} liked, {} liked in truth), {}-fold cross-validation, scored against the {against}, \
         {} skipped, {elapsed:.1} s",
        report.samples,
        report.positives,
        truth.iter().filter(|t| **t).count(),
        report.folds,
        skipped.len()
    );
    println!(
        "{:<6} {:>8} {:>9}  {:>19}  {:>19}  {:>19}",
        "model", "ROC-AUC", "fold-AUC", "P/R/NDCG@10", "P/R/NDCG@50", "P/R/NDCG@100"
    );
    for (name, m) in [("gbdt", &report.gbdt), ("knn", &report.knn)] {
        let cells: Vec<String> =
            m.at_k.iter().map(|a| format!("{:.3}/{:.3}/{:.3}", a.precision, a.recall, a.ndcg)).collect();
        println!(
            "{name:<6} {:>8.3} {:>9.3}  {:>19}  {:>19}  {:>19}",
            m.roc_auc, m.fold_auc_mean, cells[0], cells[1], cells[2]
        );
    }
    Ok(())
}
