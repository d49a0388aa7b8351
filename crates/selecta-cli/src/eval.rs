//! `selecta eval tempo`: tempo accuracy against a manifest's ground truth; `eval similarity`:
//! nearest-neighbour quality by source package; `eval taste`: cross-validated taste-model
//! quality on a labels CSV. This file reads manifests and files (on all cores) and prints;
//! what is measured and how it is scored is `selecta_core::eval` and `taste::eval`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use selecta_core::Label;
use selecta_core::embed::SamplingProfile;
use selecta_core::eval::similarity::{self, SimilarityTrack};
use selecta_core::eval::tempo;
use selecta_core::eval::weights::{LabelledTrack, choose_weights};
use selecta_core::retrieval::track_view;
use selecta_core::taste::eval::cross_validate;
use selecta_core::taste::{BoostParams, TrackProfile};

/// A worker pool with `jobs` threads (default: all cores).
fn pool(jobs: Option<usize>) -> Result<rayon::ThreadPool> {
    let threads = jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1);
    Ok(rayon::ThreadPoolBuilder::new().num_threads(threads).build()?)
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
    let results = pool(jobs)?.install(|| {
        rows.par_iter()
            .map(|(path, truth)| {
                let bytes = std::fs::read(path).map_err(|e| e.to_string());
                tempo::evaluate_file(path.display().to_string(), bytes, *truth)
            })
            .collect()
    });
    let report = tempo::report(results);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for r in &report.results {
            println!(
                "{:>7.2} {:>7} {:>15} {} {}  {}",
                r.bpm_truth,
                r.bpm.map_or("–".into(), |b| format!("{b:.2}")),
                r.alternative.map_or("–".into(), |(b, c)| format!("or {b:.2} ({c:.2})")),
                if r.acc1 { "acc1" } else { "    " },
                if r.acc2 { "acc2" } else { "    " },
                r.error.as_deref().unwrap_or(&r.path)
            );
        }
        println!(
            "tracks {}  Acc1 {:.3}  Acc2 {:.3}  Acc1 with the first alternative {:.3}",
            report.tracks, report.acc1, report.acc2, report.acc1_with_alternative
        );
    }
    Ok(())
}

pub fn similarity(
    manifest: &Path,
    jobs: Option<usize>,
    profile: SamplingProfile,
    model_dir: Option<&Path>,
    json: bool,
) -> Result<()> {
    let rows = read_manifest(manifest, "source_package")?;
    let embedder = crate::model::load(model_dir)?;
    let results: Vec<_> = pool(jobs)?.install(|| {
        rows.par_iter()
            .map(|(path, package)| {
                let track = std::fs::read(path).map_err(|e| e.to_string()).and_then(|bytes| {
                    let name = path.file_name().and_then(|n| n.to_str());
                    SimilarityTrack::analyse(bytes, name, package, &embedder, profile)
                });
                (path, track)
            })
            .collect()
    });
    let mut tracks = Vec::new();
    let mut skipped = Vec::new();
    for (path, r) in results {
        match r {
            Ok(t) => tracks.push(t),
            Err(e) => skipped.push(format!("{}: {e}", path.display())),
        }
    }
    let report = similarity::evaluate(&tracks, skipped, profile);
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

pub fn weights(library: &Path, json: bool) -> Result<()> {
    let (_, engine) = crate::files::open_library(Some(library), None)?;
    let mut tracks = Vec::new();
    let mut paths: Vec<(String, String)> = engine.song_paths()?.into_iter().collect();
    paths.sort_by(|a, b| a.1.cmp(&b.1));
    for (song_id, path) in paths {
        let Some(features) = engine.song_features(&song_id)? else { continue };
        let Some((package, _)) = path.split_once('/') else { continue };
        tracks.push(LabelledTrack { package: package.to_string(), view: track_view(&features) });
    }
    let report = choose_weights(&tracks);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} tracks, {} weightings tried; held-out packages: {}",
        report.tracks,
        report.grid_size,
        report.held_out_packages.join(", ")
    );
    println!("{:<28} {:>22} {:>16} {:>16}", "", "weights (emb/timb/tags)", "tuned top-1/P@5", "held-out top-1/P@5");
    for r in &report.rows {
        let w = r.weights;
        println!(
            "{:<28} {:>22} {:>16} {:>16}",
            r.label,
            format!("{}/{}/{}", w.embedding, w.timbre, w.tags),
            format!("{:.3}/{:.3} ({})", r.tuned.top1, r.tuned.precision_at_5, r.tuned.queries),
            format!("{:.3}/{:.3} ({})", r.held_out.top1, r.held_out.precision_at_5, r.held_out.queries)
        );
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
    let (root, engine) = crate::files::open_library(args.library, rows.first().map(|r| r.path.as_path()))?;
    let (mut profiles, mut labels, mut truth, mut skipped) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for row in &rows {
        let liked = match row.label {
            Label::Liked => true,
            Label::Disliked => false,
            Label::Neutral => continue,
        };
        let features = crate::files::song_of(&root, &engine, &row.path)
            .and_then(|id| engine.song_features(&id).map_err(|e| e.to_string())?.ok_or_else(|| "no features".into()));
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
