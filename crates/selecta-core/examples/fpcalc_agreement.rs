//! How closely the analysis's Chromaprint matches `fpcalc` (chromaprint's own tool, which
//! AcoustID prints come from): for each file, the share of equal bits between the stored 120 s
//! print and `fpcalc -raw`, and between the whole-track print and `fpcalc -raw -length 0`.
//! Needs `fpcalc` on the PATH (Debian: libchromaprint-tools).
//!
//! `cargo run --release -p selecta-core --example fpcalc_agreement -- FILES...`

use std::process::Command;

use selecta_core::{AnalyzeOptions, analyze_bytes};

/// Share of equal bits over the common length; `None` when nothing overlaps.
fn agreement(a: &[u32], b: &[u32]) -> Option<f64> {
    let n = a.len().min(b.len());
    let differing: u32 = a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum();
    (n > 0).then(|| 1.0 - f64::from(differing) / (32 * n) as f64)
}

fn fpcalc_raw(path: &str, whole: bool) -> Result<Vec<u32>, String> {
    let mut command = Command::new("fpcalc");
    command.args(["-raw", "-plain"]);
    if whole {
        command.args(["-length", "0"]);
    }
    let out = command.arg(path).output().map_err(|e| format!("fpcalc: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .split(',')
        .map(|v| v.trim().parse().map_err(|_| format!("fpcalc printed no print for {path}")))
        .collect()
}

fn main() {
    let options = AnalyzeOptions::default();
    let (mut heads, mut tracks) = (Vec::new(), Vec::new());
    for path in std::env::args().skip(1) {
        let result = std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| analyze_bytes(bytes, Some(&path), &options, None).map_err(|e| e.to_string()))
            .and_then(|analysis| {
                let print = analysis.features.chromaprint.ok_or("no fingerprint")?;
                let head = agreement(&print.raw, &fpcalc_raw(&path, false)?);
                let track = agreement(&print.track, &fpcalc_raw(&path, true)?);
                Ok((head, track, print.raw.len(), print.track.len()))
            });
        match result {
            Ok((head, track, head_len, track_len)) => {
                println!("{path}\t{head:.4?} of {head_len}\t{track:.4?} of {track_len}");
                heads.extend(head);
                tracks.extend(track);
            }
            Err(e) => println!("{path}\terror: {e}"),
        }
    }
    for (name, mut values) in [("120 s print", heads), ("whole-track print", tracks)] {
        if values.is_empty() {
            continue;
        }
        values.sort_by(f64::total_cmp);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        println!(
            "{name}: {} files, mean {mean:.4}, median {:.4}, min {:.4}",
            values.len(),
            values[values.len() / 2],
            values[0]
        );
    }
}
