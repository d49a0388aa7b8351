//! Next-track ranking and set planning speed in wasm32 under Node, on the synthetic library
//! `selecta bench --next` uses natively (50 000 tracks; next: k = 10, goal `up`, pool 200;
//! planSet: 20 tracks, warmup arc): p50 and p95 per call. A benchmark, not a check — it is
//! ignored unless asked for:
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test -p selecta-core --target wasm32-unknown-unknown --test wasm_next_speed --release -- --include-ignored --nocapture`
#![cfg(target_arch = "wasm32")]

use selecta_core::dj::plan::{EnergyArc, PlanOptions};
use selecta_core::dj::{Goal, NextOptions};
use selecta_core::embed::SamplingProfile;
use selecta_core::testkit::synth_library::SyntheticLibrary;
use selecta_core::{Engine, MemoryStore};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: `std::time::Instant` panics in wasm32-unknown-unknown.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run with --include-ignored"]
fn next_and_plan_time_at_50_000_tracks() {
    let n = 50_000;
    let mut store = MemoryStore::new();
    let ids = SyntheticLibrary::new(16, 7).store_into(&mut store, n).expect("store");
    let mut engine = Engine::open(store, SamplingProfile::Full, 0).expect("engine");
    let t = performance_now();
    let searcher = engine.searcher().expect("index");
    let build_ms = performance_now() - t;
    let options = NextOptions { goal: Goal::Up, ..NextOptions::default() };
    let mut times = Vec::new();
    for id in ids.iter().step_by(n / 100) {
        let t = performance_now();
        let outcome = searcher.next_tracks(id, &[], &options).expect("next");
        times.push(performance_now() - t);
        assert!(outcome.items.len() <= 10);
    }
    times.sort_by(f64::total_cmp);
    let plan = PlanOptions { length: Some(20), arc: EnergyArc::Warmup, ..PlanOptions::default() };
    let mut plans = Vec::new();
    for id in ids.iter().step_by(n / 5).take(5) {
        let t = performance_now();
        searcher.plan_set(id, &plan).expect("plan");
        plans.push(performance_now() - t);
    }
    plans.sort_by(f64::total_cmp);
    console_log!(
        "wasm next, {n} tracks: p50 {:.2} ms, p95 {:.2} ms over {} queries; planSet(20) p50 {:.0} ms, max {:.0} ms; \
         index built in {build_ms:.0} ms",
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        times.len(),
        percentile(&plans, 0.5),
        plans[plans.len() - 1]
    );
}
