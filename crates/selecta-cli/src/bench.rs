//! `selecta bench`: decode-only and full-analysis throughput, in × realtime per core, per file
//! format. Files are processed one at a time on one thread so the figure is per core.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use selecta_core::{AnalyzeOptions, analyze_bytes, decode_only};
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
    decode_x_realtime: f64,
    analysis_x_realtime: f64,
    analysis_over_decode: f64,
}

pub fn run(paths: &[PathBuf], json: bool) -> Result<()> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            files.extend(audio_files(p)?);
        } else if is_audio(p) {
            files.push(p.clone());
        }
    }
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
            }
            None => entry.failed += 1,
        }
    }
    for s in stats.values_mut() {
        s.decode_x_realtime = s.audio_sec / s.decode_sec.max(1e-9);
        s.analysis_x_realtime = s.audio_sec / s.analysis_sec.max(1e-9);
        s.analysis_over_decode = s.analysis_sec / s.decode_sec.max(1e-9);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        println!(
            "{:<6} {:>6} {:>7} {:>10} {:>14} {:>16} {:>16}",
            "format", "files", "failed", "audio min", "decode ×RT", "analysis ×RT", "analysis/decode"
        );
        for (ext, s) in &stats {
            println!(
                "{:<6} {:>6} {:>7} {:>10.1} {:>14.0} {:>16.0} {:>16.2}",
                ext,
                s.files,
                s.failed,
                s.audio_sec / 60.0,
                s.decode_x_realtime,
                s.analysis_x_realtime,
                s.analysis_over_decode
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
