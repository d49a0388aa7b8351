//! `selecta similar FILE|--id ID`: the tracks of the library that sound most like a track, best
//! first, with the parts of each score; filters by tempo, key and duration. The search and its
//! rules are the engine's.

use std::path::Path;

use anyhow::{Result, anyhow};
use selecta_core::engine::SimilarOptions;
use selecta_core::retrieval::{SearchFilters, parse_range};

use crate::files::{open_library, song_of};

/// Settings of one `similar` call.
#[derive(Debug)]
pub struct SimilarArgs<'a> {
    pub file: Option<&'a Path>,
    pub id: Option<&'a str>,
    pub k: usize,
    pub filters: SearchFilters,
    pub explain: bool,
    pub exact: bool,
    pub library: Option<&'a Path>,
    pub json: bool,
    pub m3u: Option<&'a Path>,
}

pub fn run(args: SimilarArgs<'_>) -> Result<()> {
    let (root, mut engine) = open_library(args.library, args.file)?;
    let song_id = match (args.file, args.id) {
        (Some(file), _) => song_of(&root, &engine, file).map_err(|e| anyhow!("{}: {e}", file.display()))?,
        (None, Some(id)) => id.to_string(),
        (None, None) => return Err(anyhow!("give a FILE or --id ID")),
    };
    let options = SimilarOptions { k: Some(args.k), explain: args.explain, exact: args.exact, filters: args.filters };
    let outcome = engine.similar_tracks(&song_id, &options)?;
    if let Some(out) = args.m3u {
        let mut songs = vec![song_id.clone()];
        songs.extend(outcome.items.iter().map(|i| i.id.clone()));
        crate::interop::write_m3u(&root, &engine, &songs, out)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&outcome)?);
        return Ok(());
    }
    let part = |p: Option<f32>| p.map_or("    –".to_string(), |v| format!("{v:>5.2}"));
    println!("{:>6} {:>5} {:>5} {:>5}  track", "score", "embed", "timbr", "tags");
    for item in &outcome.items {
        let name = item.path.as_deref().map_or_else(|| item.id.clone(), |p| root.join(p).display().to_string());
        println!(
            "{:>6.2} {} {} {}  {name}",
            item.score,
            part(item.parts.embedding),
            part(item.parts.timbre),
            part(item.parts.tags)
        );
    }
    for f in outcome.filtered.iter().flatten() {
        println!("  filtered ({}): {}", serde_json::to_value(f.rule)?.as_str().unwrap_or(""), f.id);
    }
    Ok(())
}

/// Parsed here so clap reports a bad range as an argument error (exit code 2).
pub fn bpm_range(text: &str) -> Result<(f32, f32), String> {
    parse_range(text)
}

/// See [`bpm_range`].
pub fn seconds_range(text: &str) -> Result<(f64, f64), String> {
    parse_range(text)
}
