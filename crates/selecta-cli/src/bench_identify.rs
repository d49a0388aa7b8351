//! `selecta bench --identify QUERIES.csv --library DIR`: snippet identification at library
//! scale. The library's real whole-track prints are indexed together with synthetic distractors
//! up to `--tracks` (50 000 by default): each distractor is a real print with every value XORed
//! by a mask of its own, so it keeps real music's bit statistics and time structure but matches
//! nothing. Every query of the CSV (made by `scripts/make_retrieval_queries.py`) is then
//! identified on one thread: index build time and size, the kept file's size and read-back
//! time, p50/p95 latency of the lookup and
//! verification (the snippet's decoding and fingerprinting are measured apart), and Recall@1
//! per augmentation against the distractors.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use rayon::prelude::*;
use selecta_core::Store;
use selecta_core::retrieval::PrintIndex;
use serde_json::json;

use crate::files::open_library;

#[derive(Debug, serde::Deserialize)]
struct QueryRow {
    query: String,
    target: String,
    augmentation: String,
}

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    let i = ((sorted_ms.len() as f64 - 1.0) * p).round() as usize;
    sorted_ms.get(i).copied().unwrap_or(f64::NAN)
}

/// The mask of distractor `i` (xorshift of its number: deterministic, no dependency).
fn mask(i: usize) -> u32 {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x >> 16) as u32 | 1
}

pub fn run(queries_csv: &Path, library: &Path, tracks: usize, json: bool) -> Result<()> {
    let (_, engine) = open_library(Some(library), None)?;
    let mut real_ids: Vec<String> = engine.list_songs()?.into_iter().map(|r| r.song_id).collect();
    real_ids.sort();
    real_ids.dedup();
    let real: HashMap<String, Vec<u32>> = real_ids
        .iter()
        .map(|id| Ok((id.clone(), engine.store().track_print(id)?)))
        .collect::<Result<_, selecta_core::StoreError>>()?;
    let real_ids: Vec<String> = real_ids.into_iter().filter(|id| !real[id].is_empty()).collect();
    anyhow::ensure!(!real_ids.is_empty(), "{}: no track has a whole-track print", library.display());
    let distractors = tracks.saturating_sub(real_ids.len());
    let print_of = |id: &str| -> Result<Vec<u32>, std::convert::Infallible> {
        if let Some(p) = real.get(id) {
            return Ok(p.clone());
        }
        let i: usize = id.trim_start_matches("distractor-").parse().unwrap_or(0);
        let m = mask(i);
        Ok(real[&real_ids[i % real_ids.len()]].iter().map(|v| v ^ m).collect())
    };
    let ids: Vec<String> =
        real_ids.iter().cloned().chain((0..distractors).map(|i| format!("distractor-{i:06}"))).collect();
    let started = Instant::now();
    let index = PrintIndex::build(ids, print_of)?;
    let build_s = started.elapsed().as_secs_f64();
    // What a later process pays instead: reading the kept file back.
    let file = index.to_file("bench")?;
    let started = Instant::now();
    let reloaded = PrintIndex::from_file(&file, "bench")?;
    let load_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(reloaded.as_ref() == Some(&index), "the kept index does not read back equal");
    drop(reloaded);

    let mut reader =
        csv::Reader::from_path(queries_csv).with_context(|| format!("{}: cannot read", queries_csv.display()))?;
    let rows: Vec<QueryRow> = reader.deserialize().collect::<Result<_, _>>()?;
    let folder = queries_csv.parent().unwrap_or(Path::new(".")).to_path_buf();
    let analyzer = engine.audio_analyzer();
    let started = Instant::now();
    let analysed: Vec<_> = rows
        .par_iter()
        .map(|row| {
            let bytes = std::fs::read(folder.join(&row.query))?;
            Ok(analyzer.analyze(bytes, Some(&row.query), false)?)
        })
        .collect::<Vec<Result<_>>>();
    let analyse_ms = started.elapsed().as_secs_f64() * 1000.0 / rows.len().max(1) as f64;

    let mut times = Vec::new();
    let mut recall: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (row, query) in rows.iter().zip(analysed) {
        let Ok(query) = query else { continue };
        let Some(target) = engine.song_for_path(&row.target)? else { continue };
        let t = Instant::now();
        let matches = index.identify(query.prints(), 5, print_of)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        let entry = recall.entry(row.augmentation.as_str()).or_default();
        entry.1 += 1;
        if matches.iter().any(|m| m.matched && m.id == target) {
            entry.0 += 1;
        }
    }
    times.sort_by(f64::total_cmp);
    let report = json!({
        "tracks": index.len(),
        "realTracks": real_ids.len(),
        "postings": index.postings(),
        "indexMegabytes": index.memory_bytes() as f64 / 1e6,
        "buildSeconds": build_s,
        "keptFileMegabytes": file.len() as f64 / 1e6,
        "keptFileLoadSeconds": load_s,
        "queries": times.len(),
        "lookupP50Ms": percentile(&times, 0.5),
        "lookupP95Ms": percentile(&times, 0.95),
        "analysisMsPerQuery": analyse_ms,
        "recallAt1": recall.iter().map(|(a, (hit, n))| (a.to_string(), *hit as f64 / (*n).max(1) as f64)).collect::<BTreeMap<_, _>>(),
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} tracks ({} real, the rest distractors): index of {} postings, {:.0} MB, built in {:.2} s; kept file {:.0} MB, read back in {:.2} s",
        index.len(),
        real_ids.len(),
        index.postings(),
        index.memory_bytes() as f64 / 1e6,
        build_s,
        file.len() as f64 / 1e6,
        load_s
    );
    println!(
        "{} queries: lookup + verification p50 {:.2} ms, p95 {:.2} ms (decoding and fingerprinting {:.1} ms per snippet, apart)",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        analyse_ms
    );
    for (augmentation, (hit, n)) in &recall {
        println!("  {augmentation:<16} Recall@1 {:5.1} % of {n}", *hit as f64 * 100.0 / (*n).max(1) as f64);
    }
    Ok(())
}
