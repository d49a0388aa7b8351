//! Exact similar-track search speed in wasm32 under Node, on the synthetic libraries
//! `selecta bench --search` uses natively (10 000 and 50 000 tracks, k = 10, no filters): p50
//! and p95 per query, the next-track ranking's (default options), and the module's linear
//! memory. The records sit in a `MemoryStore`, so the index reads its full-precision rows
//! from them, as in the browser. A benchmark, not a check — it is ignored unless asked for:
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test -p selecta-core --target wasm32-unknown-unknown --test wasm_search_speed --release -- --include-ignored --nocapture`
#![cfg(target_arch = "wasm32")]

use selecta_core::MemoryStore;
use selecta_core::dj::{Context, NextOptions, rank_next};
use selecta_core::retrieval::{SearchFilters, SearchIndex};
use selecta_core::testkit::synth_library::SyntheticLibrary;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: `std::time::Instant` panics in wasm32-unknown-unknown.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// The module's linear memory in MiB. It only grows, so it is the peak so far.
fn memory_mib() -> f64 {
    core::arch::wasm32::memory_size::<0>() as f64 * 65_536.0 / 1_048_576.0
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run with --include-ignored"]
fn exact_search_time_at_10_000_and_50_000_tracks() {
    for n in [10_000, 50_000] {
        let mut store = MemoryStore::new();
        SyntheticLibrary::new(16, 7).store_into(&mut store, n).expect("store");
        let stored_mib = memory_mib();
        let t = performance_now();
        let index = SearchIndex::build(&store).expect("index");
        let build_ms = performance_now() - t;
        let mut times = Vec::new();
        for q in (0..n).step_by(n / 200) {
            let (view, facts) = (index.view_at(q), *index.facts_at(q));
            let t = performance_now();
            let (hits, _) = index.search(Some(index.id(q)), &view, &facts, &SearchFilters::default(), 10, false);
            times.push(performance_now() - t);
            assert_eq!(hits.len(), 10);
        }
        times.sort_by(f64::total_cmp);
        let mut next_times = Vec::new();
        for q in (0..n).step_by(n / 50) {
            let t = performance_now();
            let ctx = Context { current: q, played: &[], target_energy: None };
            let (suggestions, _) = rank_next(&index, &ctx, &NextOptions::default());
            next_times.push(performance_now() - t);
            assert!(!suggestions.is_empty());
        }
        next_times.sort_by(f64::total_cmp);
        console_log!(
            "wasm exact search, {n} tracks: p50 {:.2} ms, p95 {:.2} ms over {} queries; next track p50 {:.2} ms, p95 {:.2} ms over {} queries; index built in {build_ms:.0} ms; linear memory {stored_mib:.0} MiB with the records stored, {:.0} MiB with the index",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times.len(),
            percentile(&next_times, 0.5),
            percentile(&next_times, 0.95),
            next_times.len(),
            memory_mib()
        );
    }
}
