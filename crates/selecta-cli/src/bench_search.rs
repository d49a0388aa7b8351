//! `selecta bench --search`: similar-track search on synthetic libraries (feature records from
//! [`selecta_core::testkit::synth_library`] with embeddings, tags and timbre models) of 1 000,
//! 10 000 and 50 000 tracks, on one thread:
//! - the exact search: p50/p95 latency and queries per second (k = 10, no filters);
//! - the approximate index: build time, kept-file size and read-back time, p50/p95 and
//!   recall@10 against the exact search at several beam widths, and the time to add the last
//!   100 tracks of the library to a graph built without them;
//! - the engine's own `similarTracks` (which picks exact or approximate by library size).

use std::time::Instant;

use anyhow::Result;
use selecta_core::embed::SamplingProfile;
use selecta_core::engine::{APPROXIMATE_FROM_TRACKS, SimilarOptions};
use selecta_core::record::PathEntry;
use selecta_core::retrieval::ann::{AnnIndex, DEFAULT_EF};
use selecta_core::retrieval::{SearchFilters, SearchIndex};
use selecta_core::store::Store;
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_core::{Engine, MemoryStore};
use serde_json::{Value, json};

const BEAMS: [usize; 4] = [DEFAULT_EF / 2, DEFAULT_EF, DEFAULT_EF * 2, DEFAULT_EF * 4];

/// The `p` quantile (0–1) of sorted milliseconds, nearest rank.
pub(crate) fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    let i = ((sorted_ms.len() as f64 - 1.0) * p).round() as usize;
    sorted_ms.get(i).copied().unwrap_or(f64::NAN)
}

/// p50, p95 (ms) and queries per second of timed calls.
fn latency(mut times_ms: Vec<f64>) -> Value {
    times_ms.sort_by(f64::total_cmp);
    let total_s = times_ms.iter().sum::<f64>() / 1000.0;
    json!({
        "p50Ms": percentile(&times_ms, 0.5),
        "p95Ms": percentile(&times_ms, 0.95),
        "queriesPerSecond": times_ms.len() as f64 / total_s.max(1e-9),
    })
}

fn bench_size(n: usize, queries: usize) -> Result<Value> {
    let lib = SyntheticLibrary::new(16, 7);
    let index = lib.search_index(n);
    let step = (n / queries.max(1)).max(1);
    let query_positions: Vec<usize> = (0..n).step_by(step).take(queries).collect();
    let k = 10;
    let none = SearchFilters::default();

    let mut exact_times = Vec::new();
    let mut exact_ids = Vec::new();
    for &q in &query_positions {
        let (view, facts) = (index.view_at(q), *index.facts_at(q));
        let t = Instant::now();
        let (hits, _) = index.search(Some(index.id(q)), &view, &facts, &none, k, false);
        exact_times.push(t.elapsed().as_secs_f64() * 1000.0);
        exact_ids.push(hits.into_iter().map(|h| h.id).collect::<Vec<_>>());
    }

    let started = Instant::now();
    let ann = AnnIndex::build(&index);
    let build_s = started.elapsed().as_secs_f64();
    let file = ann.to_file()?;
    let started = Instant::now();
    let mut reread = AnnIndex::from_file(&file)?;
    reread.sync(&index);
    let reread_s = started.elapsed().as_secs_f64();

    let mut beams = Vec::new();
    for ef in BEAMS {
        let (mut times, mut found, mut wanted) = (Vec::new(), 0usize, 0usize);
        for (&q, truth) in query_positions.iter().zip(&exact_ids) {
            let view = index.view_at(q);
            let t = Instant::now();
            let hits = ann.search(&index, &view, Some(q), &|_| true, k, ef.max(k));
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            found += hits.iter().filter(|h| truth.contains(&h.id)).count();
            wanted += truth.len();
        }
        let mut row = latency(times);
        row["ef"] = json!(ef);
        row["recallAt10"] = json!(found as f64 / wanted.max(1) as f64);
        beams.push(row);
    }

    let added = 100.min(n / 2);
    let mut growing = AnnIndex::build(&lib.search_index(n - added));
    let started = Instant::now();
    let summary = growing.sync(&index);
    let add_s = started.elapsed().as_secs_f64();

    let engine = engine_latency(&lib, n, &query_positions, &index)?;
    Ok(json!({
        "tracks": n,
        "queries": query_positions.len(),
        "exact": latency(exact_times),
        "approximate": {
            "buildSeconds": build_s,
            "fileBytes": file.len(),
            "readBackSeconds": reread_s,
            "beams": beams,
            "add": {"tracks": added, "seconds": add_s, "inserted": summary.inserted, "rebuilt": summary.rebuilt},
        },
        "engine": engine,
    }))
}

/// The engine's `similarTracks` on the same library in the in-memory store (the first call
/// builds the search index, and the approximate one from [`APPROXIMATE_FROM_TRACKS`] tracks).
fn engine_latency(lib: &SyntheticLibrary, n: usize, queries: &[usize], index: &SearchIndex) -> Result<Value> {
    let mut store = MemoryStore::new();
    let ids = lib.store_into(&mut store, n)?;
    // A file for every song, as in a real library: answers name each song's path.
    for (i, id) in ids.iter().enumerate() {
        let file_path = format!("Artist {:04}/Album/{i:05} Title.flac", i % 2_500);
        let entry = PathEntry {
            path_key: selecta_core::path_index::path_key(&file_path),
            file_path,
            size: 30_000_000,
            mtime_ms: 1,
            song_id: id.clone(),
            file_hash: format!("{i:064x}"),
        };
        store.put_path_entry(&entry, 1)?;
    }
    let mut engine = Engine::open(store, SamplingProfile::Full, 0)?;
    let options = SimilarOptions { k: Some(10), ..SimilarOptions::default() };
    let started = Instant::now();
    let first = engine.similar_tracks(index.id(0), &options)?;
    let first_s = started.elapsed().as_secs_f64();
    let mut times = Vec::new();
    for &q in queries {
        let t = Instant::now();
        std::hint::black_box(engine.similar_tracks(index.id(q), &options)?);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let mut row = latency(times);
    row["firstCallSeconds"] = json!(first_s);
    row["approximate"] = json!(first.approximate);
    Ok(row)
}

pub fn run(sizes: &[usize], queries: usize, json: bool) -> Result<()> {
    let mut rows = Vec::new();
    for &n in sizes {
        let row = bench_size(n, queries)?;
        if !json {
            print_row(&row);
        }
        rows.push(row);
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"search": rows, "approximateFrom": APPROXIMATE_FROM_TRACKS}))?
        );
    }
    Ok(())
}

fn print_row(row: &Value) {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let (exact, ann, engine) = (&row["exact"], &row["approximate"], &row["engine"]);
    println!(
        "{:>6} tracks: exact p50 {:.2} ms, p95 {:.2} ms, {:.0} q/s",
        row["tracks"],
        f(&exact["p50Ms"]),
        f(&exact["p95Ms"]),
        f(&exact["queriesPerSecond"])
    );
    println!(
        "        approximate: build {:.2} s, file {:.1} MB read back + bound in {:.2} s; adding {} tracks {:.3} s",
        f(&ann["buildSeconds"]),
        f(&ann["fileBytes"]) / 1e6,
        f(&ann["readBackSeconds"]),
        ann["add"]["tracks"],
        f(&ann["add"]["seconds"])
    );
    for b in ann["beams"].as_array().into_iter().flatten() {
        println!(
            "        ef {:>3}: p50 {:.3} ms, p95 {:.3} ms, {:.0} q/s, recall@10 {:.4}",
            b["ef"],
            f(&b["p50Ms"]),
            f(&b["p95Ms"]),
            f(&b["queriesPerSecond"]),
            f(&b["recallAt10"]),
        );
    }
    println!(
        "        engine similarTracks ({}): p50 {:.3} ms, p95 {:.3} ms; first call {:.2} s",
        if engine["approximate"].as_bool() == Some(true) { "approximate" } else { "exact" },
        f(&engine["p50Ms"]),
        f(&engine["p95Ms"]),
        f(&engine["firstCallSeconds"])
    );
}
