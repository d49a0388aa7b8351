//! `selecta bench --next`: the next-track ranking and set planning on synthetic libraries
//! (feature records from [`selecta_core::testkit::synth_library`] with embeddings, intro and
//! outro embeddings and DJ features) of the `--tracks` sizes, on one thread: `nextTracks` p50/p95
//! (k = 10, goal `up`, default pool and rules) and `planSet` of 20 tracks (warmup arc).

use std::time::Instant;

use anyhow::Result;
use selecta_core::dj::plan::{EnergyArc, PlanOptions};
use selecta_core::dj::{Goal, NextOptions};
use selecta_core::embed::SamplingProfile;
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_core::{Engine, MemoryStore};
use serde_json::{Value, json};

use crate::bench_search::percentile;

fn bench_size(n: usize, queries: usize) -> Result<Value> {
    let lib = SyntheticLibrary::new(16, 7);
    let mut store = MemoryStore::new();
    let ids = lib.store_into(&mut store, n)?;
    let mut engine = Engine::open(store, SamplingProfile::Full, 0)?;
    let started = Instant::now();
    let searcher = engine.searcher()?;
    let index_s = started.elapsed().as_secs_f64();
    let step = (n / queries.max(1)).max(1);
    let options = NextOptions { goal: Goal::Up, ..NextOptions::default() };
    let mut times = Vec::new();
    let mut returned = 0usize;
    for id in ids.iter().step_by(step).take(queries) {
        let t = Instant::now();
        let outcome = searcher.next_tracks(id, &[], &options)?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        returned += outcome.items.len();
    }
    times.sort_by(f64::total_cmp);
    let mut plan_times = Vec::new();
    let mut lengths = Vec::new();
    let plan = PlanOptions { length: Some(20), arc: EnergyArc::Warmup, ..PlanOptions::default() };
    for id in ids.iter().step_by((n / 5).max(1)).take(5) {
        let t = Instant::now();
        let outcome = searcher.plan_set(id, &plan)?;
        plan_times.push(t.elapsed().as_secs_f64() * 1000.0);
        lengths.push(outcome.items.len());
    }
    plan_times.sort_by(f64::total_cmp);
    Ok(json!({
        "tracks": n,
        "indexBuildSeconds": index_s,
        "next": {"queries": times.len(), "p50Ms": percentile(&times, 0.5), "p95Ms": percentile(&times, 0.95),
                 "meanItems": returned as f64 / times.len().max(1) as f64},
        "plan20": {"runs": plan_times.len(), "p50Ms": percentile(&plan_times, 0.5), "maxMs": plan_times.last(),
                   "lengths": lengths},
    }))
}

pub fn run(sizes: &[usize], queries: usize, json_out: bool) -> Result<()> {
    let mut results = Vec::new();
    for &n in sizes {
        let r = bench_size(n, queries)?;
        if !json_out {
            println!(
                "{n:>6} tracks: next p50 {:.2} ms, p95 {:.2} ms; planSet(20) p50 {:.0} ms, max {:.0} ms",
                r["next"]["p50Ms"].as_f64().unwrap_or(f64::NAN),
                r["next"]["p95Ms"].as_f64().unwrap_or(f64::NAN),
                r["plan20"]["p50Ms"].as_f64().unwrap_or(f64::NAN),
                r["plan20"]["maxMs"].as_f64().unwrap_or(f64::NAN),
            );
        }
        results.push(r);
    }
    if json_out {
        println!("{}", serde_json::to_string_pretty(&json!({ "sizes": results }))?);
    }
    Ok(())
}
