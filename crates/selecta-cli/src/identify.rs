//! `selecta identify SNIPPET...`: which library track each recording is and where in it it
//! starts (snippet identification), with the best other candidates; `selecta index
//! stats|rebuild`: the fingerprint index behind it. The matching, its rules and the kept index
//! are the engine's.

use std::path::{Path, PathBuf};

use anyhow::Result;
use selecta_core::engine::IdentifyOutcome;

use crate::files::open_library;

/// Identify each snippet; a snippet that cannot be read or decoded is reported and the others
/// go on (exit status 1 when any failed).
pub fn run(snippets: &[PathBuf], library: Option<&Path>, json: bool) -> Result<()> {
    let (root, mut engine) = open_library(library, None)?;
    let analyzer = engine.audio_analyzer();
    let mut failed = 0usize;
    for snippet in snippets {
        let name = snippet.display().to_string();
        let outcome = std::fs::read(snippet)
            .map_err(|e| anyhow::anyhow!("{name}: cannot read: {e}"))
            .and_then(|bytes| {
                let file_name = snippet.file_name().and_then(|n| n.to_str());
                Ok(analyzer.analyze(bytes, file_name, false)?)
            })
            .and_then(|query| Ok(engine.identify(&query)?));
        match outcome {
            Ok(outcome) if json => {
                println!("{}", serde_json::json!({"snippet": name, "outcome": outcome}));
            }
            Ok(outcome) => print_outcome(&root, &name, &outcome),
            Err(e) => {
                failed += 1;
                eprintln!("error: {e:#}");
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} snippets could not be identified", snippets.len());
    }
    Ok(())
}

fn print_outcome(root: &Path, name: &str, outcome: &IdentifyOutcome) {
    match &outcome.identified {
        Some(t) => {
            let track = t.path.as_deref().map_or_else(|| t.id.clone(), |p| root.join(p).display().to_string());
            println!(
                "{name}: {track} at {:.1} s (fingerprint agreement {:.3}, speed ×{:.2}, stretch ×{:.2})",
                t.offset_sec, t.parts.fingerprint, t.speed, t.stretch
            );
        }
        None => {
            let best = outcome.candidates.first().map_or(0.0, |c| c.parts.fingerprint);
            println!("{name}: not in the library (best fingerprint agreement {best:.3})");
        }
    }
}

/// `selecta index stats` (`rebuild = false`) or `selecta index rebuild`.
pub fn index(rebuild: bool, library: Option<&Path>, json: bool) -> Result<()> {
    let (root, mut engine) = open_library(library, None)?;
    let stats = if rebuild { engine.rebuild_print_index()? } else { engine.print_index_stats()? };
    if json {
        println!("{}", serde_json::to_string(&stats)?);
        return Ok(());
    }
    let source = serde_json::to_value(stats.source)?;
    println!(
        "{}: fingerprint index of {} tracks, {} postings, {:.1} MB in memory ({})",
        root.display(),
        stats.tracks,
        stats.postings,
        stats.memory_bytes as f64 / 1e6,
        source.as_str().unwrap_or("")
    );
    Ok(())
}
