//! `selecta eval tempo`: tempo accuracy against a manifest's ground truth (MIREX-style Acc1 and
//! Acc2 with a 4 % tolerance).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rayon::prelude::*;
use selecta_core::{AnalyzeOptions, analyze_bytes};
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

pub fn tempo(manifest: &Path, jobs: Option<usize>, json: bool) -> Result<()> {
    let mut reader =
        csv::Reader::from_path(manifest).with_context(|| format!("{}: cannot read", manifest.display()))?;
    let headers = reader.headers()?.clone();
    let col =
        |name: &str| headers.iter().position(|h| h == name).with_context(|| format!("manifest has no `{name}` column"));
    let (path_col, bpm_col) = (col("path")?, col("bpm_gt")?);
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record?;
        let Some(truth) = record.get(bpm_col).and_then(|v| v.trim().parse::<f64>().ok()) else { continue };
        let Some(rel) = record.get(path_col) else { continue };
        rows.push((resolve(manifest, rel), truth));
    }
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
