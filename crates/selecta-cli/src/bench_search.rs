//! `selecta bench --search`: exact similar-track search on synthetic libraries (feature records
//! from [`selecta_core::testkit::synth_library`] with embeddings, tags and timbre models, in the
//! in-memory store) of 1 000, 10 000 and 50 000 tracks, on one thread: index build time, and
//! p50/p95 latency and queries per second of `Engine::similar_tracks` (k = 10, no filters).

use std::time::Instant;

use anyhow::Result;
use selecta_core::embed::SamplingProfile;
use selecta_core::engine::SimilarOptions;
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_core::{Engine, MemoryStore};
use serde_json::json;

fn percentile(sorted_ms: &[f64], p: f64) -> f64 {
    let i = ((sorted_ms.len() as f64 - 1.0) * p).round() as usize;
    sorted_ms.get(i).copied().unwrap_or(f64::NAN)
}

pub fn run(sizes: &[usize], queries: usize, json: bool) -> Result<()> {
    let mut rows = Vec::new();
    for &n in sizes {
        let mut store = MemoryStore::new();
        let ids = SyntheticLibrary::new(16, 7).store_into(&mut store, n)?;
        let mut engine = Engine::open(store, SamplingProfile::Full, 0)?;
        let options = SimilarOptions { k: Some(10), ..SimilarOptions::default() };
        // The first query builds the index.
        let started = Instant::now();
        engine.similar_tracks(&ids[0], &options)?;
        let build_s = started.elapsed().as_secs_f64();
        let mut times = Vec::with_capacity(queries);
        let step = (n / queries.max(1)).max(1);
        for id in ids.iter().step_by(step).take(queries) {
            let t = Instant::now();
            let out = engine.similar_tracks(id, &options)?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            std::hint::black_box(out);
        }
        times.sort_by(f64::total_cmp);
        let total_s: f64 = times.iter().sum::<f64>() / 1000.0;
        let row = json!({
            "tracks": n,
            "queries": times.len(),
            "indexBuildSeconds": build_s,
            "p50Ms": percentile(&times, 0.5),
            "p95Ms": percentile(&times, 0.95),
            "queriesPerSecond": times.len() as f64 / total_s.max(1e-9),
        });
        if !json {
            println!(
                "{n:>6} tracks: first query (index build) {build_s:.2} s; exact search p50 {:.2} ms, p95 {:.2} ms, {:.0} queries/s",
                row["p50Ms"].as_f64().unwrap_or(f64::NAN),
                row["p95Ms"].as_f64().unwrap_or(f64::NAN),
                row["queriesPerSecond"].as_f64().unwrap_or(f64::NAN)
            );
        }
        rows.push(row);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&json!({"exactSearch": rows}))?);
    }
    Ok(())
}
