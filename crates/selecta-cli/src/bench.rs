//! `selecta bench`: decode-only and full-analysis throughput, in × realtime per core, per file
//! format. Files are processed one at a time on one thread so the figure is per core.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use selecta_core::embed::{NodeTime, SamplingProfile};
use selecta_core::{AnalyzeOptions, analyze_bytes, decode_mono, decode_only};
use serde::Serialize;

use crate::files::{audio_files, is_audio};

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct FormatStats {
    files: usize,
    failed: usize,
    audio_sec: f64,
    decode_sec: f64,
    analysis_sec: f64,
    /// Of `analysis_sec`: the DJ features alone (timed apart on the same signal).
    dj_sec: f64,
    decode_x_realtime: f64,
    analysis_x_realtime: f64,
    analysis_over_decode: f64,
    /// What the DJ features add to the rest of the analysis (`dj / (analysis − dj)`).
    dj_added_share: f64,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbeddingStats {
    tracks: usize,
    audio_sec: f64,
    patches: usize,
    seconds: f64,
    front_end_seconds: f64,
    ms_per_patch: f64,
    front_end_ms_per_patch: f64,
    x_realtime: f64,
}

/// Embedding throughput per sampling profile, one thread, on up to `limit` files.
pub fn run_embedding(paths: &[PathBuf], limit: usize, model_dir: Option<&Path>, json: bool) -> Result<()> {
    let files = collect(paths)?;
    let t0 = Instant::now();
    let embedder = crate::model::load(model_dir)?;
    let load_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let rate = embedder.manifest().front_end.sample_rate;
    let options = AnalyzeOptions::default();
    let profiles = [SamplingProfile::Full, SamplingProfile::ClubHifi150s, SamplingProfile::Fast];
    let mut stats: BTreeMap<&'static str, EmbeddingStats> = BTreeMap::new();
    // One patch of the first track, timed node by node afterwards.
    let mut sample_patch: Option<Vec<f32>> = None;
    for f in files.iter().take(limit) {
        let Ok(bytes) = std::fs::read(f) else { continue };
        let Ok((_, mono, native)) = decode_mono(bytes, f.file_name().and_then(|n| n.to_str()), &options) else {
            continue;
        };
        let audio = selecta_core::audio::resample_mono(&mono, native, rate)?;
        let duration = audio.len() as f64 / f64::from(rate);
        for p in profiles {
            let t = Instant::now();
            let regions = p.regions(&audio, rate, embedder.front_end().spec().patch_samples());
            let out = embedder.run_regions(&audio, &regions)?;
            let seconds = t.elapsed().as_secs_f64();
            // The front-end alone (log-mel patches), to see where the time goes.
            let t = Instant::now();
            let patches = embedder.patches(&audio, &regions);
            if sample_patch.is_none() {
                sample_patch = patches.into_iter().next().map(|(patch, _, _)| patch);
            }
            let s = stats.entry(p.name()).or_default();
            s.seconds += seconds;
            s.front_end_seconds += t.elapsed().as_secs_f64();
            s.tracks += 1;
            s.audio_sec += duration;
            s.patches += out.rms.len();
        }
    }
    for s in stats.values_mut() {
        s.ms_per_patch = s.seconds * 1000.0 / s.patches.max(1) as f64;
        s.front_end_ms_per_patch = s.front_end_seconds * 1000.0 / s.patches.max(1) as f64;
        s.x_realtime = s.audio_sec / s.seconds.max(1e-9);
    }
    let slowest = match &sample_patch {
        Some(patch) => slowest_nodes(&embedder, patch)?,
        None => Vec::new(),
    };
    if json {
        let report = serde_json::json!({"modelLoadMs": load_ms, "profiles": stats, "slowestNodes": slowest});
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("model {} loaded and optimised in {load_ms:.0} ms", embedder.manifest().model_version);
        println!(
            "{:<15} {:>6} {:>10} {:>8} {:>10} {:>16} {:>14}",
            "profile", "tracks", "audio min", "patches", "ms/patch", "front-end ms/p", "×RT per core"
        );
        for (name, s) in &stats {
            println!(
                "{:<15} {:>6} {:>10.1} {:>8} {:>10.1} {:>16.1} {:>14.1}",
                name,
                s.tracks,
                s.audio_sec / 60.0,
                s.patches,
                s.ms_per_patch,
                s.front_end_ms_per_patch,
                s.x_realtime
            );
        }
        if !slowest.is_empty() {
            println!("slowest model nodes (ms per patch, one patch of the first track):");
            for node in &slowest {
                println!("  {:>7.1}  {} ({})", node.ms, node.name, node.op);
            }
        }
    }
    Ok(())
}

/// The five nodes of the model that take longest on `patch`, in ms per run (after two warm-up
/// runs, mean of ten).
fn slowest_nodes(embedder: &selecta_core::embed::Embedder, patch: &[f32]) -> Result<Vec<NodeTime>> {
    let t0 = Instant::now();
    let mut clock = || t0.elapsed().as_secs_f64() * 1000.0;
    embedder.profile_patch(patch, 2, &mut clock)?;
    let runs = 10;
    let mut nodes = embedder.profile_patch(patch, runs, &mut clock)?;
    for node in &mut nodes {
        node.ms /= runs as f64;
    }
    nodes.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    nodes.truncate(5);
    Ok(nodes)
}

fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            files.extend(audio_files(p)?);
        } else if is_audio(p) {
            files.push(p.clone());
        }
    }
    Ok(files)
}

pub fn run(paths: &[PathBuf], json: bool) -> Result<()> {
    let files = collect(paths)?;
    let options = AnalyzeOptions::default();
    let mut stats: BTreeMap<String, FormatStats> = BTreeMap::new();
    for f in &files {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        let entry = stats.entry(ext).or_default();
        match measure(f, &options) {
            Some((audio, decode, analysis)) => {
                entry.files += 1;
                entry.audio_sec += audio;
                entry.decode_sec += decode;
                entry.analysis_sec += analysis;
                entry.dj_sec += dj_seconds(f, &options).unwrap_or(0.0);
            }
            None => entry.failed += 1,
        }
    }
    for s in stats.values_mut() {
        s.decode_x_realtime = s.audio_sec / s.decode_sec.max(1e-9);
        s.analysis_x_realtime = s.audio_sec / s.analysis_sec.max(1e-9);
        s.analysis_over_decode = s.analysis_sec / s.decode_sec.max(1e-9);
        s.dj_added_share = s.dj_sec / (s.analysis_sec - s.dj_sec).max(1e-9);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        println!(
            "{:<6} {:>6} {:>7} {:>10} {:>14} {:>16} {:>16} {:>10}",
            "format", "files", "failed", "audio min", "decode ×RT", "analysis ×RT", "analysis/decode", "DJ adds"
        );
        for (ext, s) in &stats {
            println!(
                "{:<6} {:>6} {:>7} {:>10.1} {:>14.0} {:>16.0} {:>16.2} {:>9.1}%",
                ext,
                s.files,
                s.failed,
                s.audio_sec / 60.0,
                s.decode_x_realtime,
                s.analysis_x_realtime,
                s.analysis_over_decode,
                100.0 * s.dj_added_share
            );
        }
    }
    Ok(())
}

/// (audio seconds, decode-only seconds, full-analysis seconds) of one file.
fn measure(path: &Path, options: &AnalyzeOptions) -> Option<(f64, f64, f64)> {
    let bytes = std::fs::read(path).ok()?;
    let name = path.file_name().and_then(|n| n.to_str());
    let t0 = Instant::now();
    let audio = decode_only(bytes.clone(), name, &options.limits).ok()?;
    let decode = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    analyze_bytes(bytes, name, options, None).ok()?;
    let analysis = t1.elapsed().as_secs_f64();
    Some((audio, decode, analysis))
}

/// Seconds the DJ features take on one file, timed alone on the signal the analysis gives them.
fn dj_seconds(path: &Path, options: &AnalyzeOptions) -> Option<f64> {
    use selecta_core::features::{dj, tempo};
    let bytes = std::fs::read(path).ok()?;
    let (_, mono, rate) = decode_mono(bytes, path.file_name().and_then(|n| n.to_str()), options).ok()?;
    let signal = selecta_core::audio::resample_mono(&mono, rate, tempo::ONSET_SAMPLE_RATE).ok()?;
    let onsets = tempo::onsets(&signal);
    let bpm = tempo::estimate_tempo(&onsets, options.tempo_range).map(|t| t.bpm);
    let t = Instant::now();
    dj::dj_features(&signal, &onsets.full, onsets.fps, bpm, Some(-12.0));
    Some(t.elapsed().as_secs_f64())
}
