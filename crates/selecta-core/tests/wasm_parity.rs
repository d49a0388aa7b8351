//! The portable core in wasm32 against the same references as the native tests: the log-mel
//! front-end against librosa, the musicnn model against TensorFlow, and the analysis of
//! groove.flac against the values tests/groove_reference.rs asserts natively. Prints the
//! per-patch inference time for the native comparison (`selecta bench --embedding`).
//!
//! Run (release: debug wasm inference is very slow):
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner cargo test -p selecta-core --target wasm32-unknown-unknown --test wasm_parity --release`
//! with `wasm-bindgen-cli` of the version pinned in Cargo.toml on PATH. There is no file system
//! in wasm32: every fixture is compiled in with `include_bytes!`.
#![cfg(target_arch = "wasm32")]

#[path = "reference/groove_flac.rs"]
mod reference;

use selecta_core::embed::{Embedder, SamplingProfile};
use selecta_core::{AnalyzeOptions, analyze_bytes};
use serde_json::Value;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

const MANIFEST: &[u8] = include_bytes!("../../../resources/models/musicnn-msd/manifest.json");
/// The browser package reads the NNEF archive only, and so do these tests.
const MODEL: &[u8] = include_bytes!("../../../resources/models/musicnn-msd/model.nnef.tar");
const ONNX_MODEL: &[u8] = include_bytes!("../../../resources/models/musicnn-msd/model.onnx");
const AUDIO: &[u8] = include_bytes!("../../../resources/models/musicnn-msd/fixtures/audio.f32");
const LOGMEL: &[u8] = include_bytes!("../../../resources/models/musicnn-msd/fixtures/logmel.f32");
const EXPECTED: &[u8] = include_bytes!("../../../resources/models/musicnn-msd/fixtures/expected.json");
const GROOVE_FLAC: &[u8] = include_bytes!("../../../tests/fixtures/audio/groove.flac");
const GROOVE_MP3: &[u8] = include_bytes!("../../../tests/fixtures/audio/groove.mp3");

/// Same bound as tests/embedding.rs asserts natively, so |wasm − native| ≤ 1e-4.
const MODEL_TOLERANCE: f32 = 5e-5;
/// The log-mel criterion (librosa reference).
const LOGMEL_TOLERANCE: f32 = 1e-3;

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: `std::time::Instant` panics in wasm32-unknown-unknown.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn musicnn() -> Embedder {
    Embedder::load(MANIFEST, Some(MODEL)).expect("model loads")
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

fn as_f32(v: &Value) -> Vec<f32> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number") as f32).collect()
}

#[wasm_bindgen_test]
fn front_end_matches_librosa_in_wasm() {
    let audio = f32s(AUDIO);
    let expected = f32s(LOGMEL);
    let embedder = musicnn();
    let (mut mel, frames) = embedder.front_end().mel(&audio);
    assert_eq!(frames, 501);
    embedder.front_end().log_patch(&mut mel);
    let diff = max_abs_diff(&mel, &expected);
    console_log!("wasm log-mel max abs difference vs librosa: {diff:.2e}");
    assert!(diff <= LOGMEL_TOLERANCE, "{diff}");
}

/// This build has no ONNX parser: the ONNX file is refused by name, with what to load instead.
#[wasm_bindgen_test]
fn the_onnx_file_is_refused_with_what_to_load_instead() {
    match Embedder::load(MANIFEST, Some(ONNX_MODEL)) {
        Err(e @ selecta_core::embed::EmbedError::RuntimeUnavailable(_)) => {
            assert!(e.to_string().contains("nnefFile"), "{e}")
        }
        other => panic!("expected runtime_unavailable, got {other:?}"),
    }
}

#[wasm_bindgen_test]
fn model_matches_tensorflow_in_wasm() {
    let logmel = f32s(LOGMEL);
    let expected: Value = serde_json::from_slice(EXPECTED).expect("json");
    let t0 = performance_now();
    let embedder = musicnn();
    let load_ms = performance_now() - t0;
    assert_eq!(embedder.output_names(), ["embedding", "tags", "penultimate"]);
    let mut worst = 0.0f32;
    let mut model_ms = Vec::new();
    for (p, start) in [0usize, 187].into_iter().enumerate() {
        let patch = &logmel[start * 96..(start + 187) * 96];
        let t = performance_now();
        let outs = embedder.run_patch(patch).expect("inference");
        model_ms.push(performance_now() - t);
        for (i, name) in ["embedding", "tags", "penultimate"].iter().enumerate() {
            let want = as_f32(&expected["tf"][name][p]);
            worst = worst.max(max_abs_diff(&outs[i], &want));
        }
    }
    console_log!("wasm model outputs max abs difference vs TensorFlow: {worst:.2e}");
    console_log!("wasm model load: {load_ms:.0} ms; run_patch (model only, first calls): {model_ms:.0?} ms");
    assert!(worst <= MODEL_TOLERANCE, "{worst}");
}

/// Per-patch time measured like `selecta bench --embedding`: front-end and inference through
/// `run_regions` over the whole-track regions of the fixture audio.
#[wasm_bindgen_test]
fn per_patch_inference_time() {
    let audio = f32s(AUDIO);
    let embedder = musicnn();
    let rate = embedder.manifest().front_end.sample_rate;
    let regions = SamplingProfile::Full.regions(&audio, rate, embedder.front_end().spec().patch_samples());
    // Warm-up: first-call allocations, and V8 compiles hot functions again with its optimising
    // tier while they run.
    for _ in 0..3 {
        embedder.run_regions(&audio, &regions).expect("inference");
    }
    let runs = 5;
    let (mut patches, mut ms, mut best) = (0usize, 0.0f64, f64::INFINITY);
    let mut first_run: Option<Vec<Vec<f32>>> = None;
    for _ in 0..runs {
        let t = performance_now();
        let out = embedder.run_regions(&audio, &regions).expect("inference");
        let elapsed = performance_now() - t;
        patches += out.rms.len();
        ms += elapsed;
        best = best.min(elapsed / out.rms.len().max(1) as f64);
        // What is timed is the real inference: every run gives the same embeddings.
        match &first_run {
            None => first_run = Some(out.outputs[0].clone()),
            Some(first) => assert_eq!(first, &out.outputs[0], "a later run differs"),
        }
    }
    // The whole-track path (front-end and model on the audio) agrees with TensorFlow on the
    // first patch within the model's own bound (measured 7.2e-6).
    let expected: Value = serde_json::from_slice(EXPECTED).expect("json");
    let first = first_run.expect("runs");
    let diff = max_abs_diff(&first[0], &as_f32(&expected["tf"]["embedding"][0]));
    console_log!("wasm whole-track path, first patch vs TensorFlow: {diff:.2e}");
    assert!(diff <= MODEL_TOLERANCE, "{diff}");
    let mean = ms / patches as f64;
    // The front-end's share: the log-mel of the same audio.
    let t = performance_now();
    let (mut mel, _) = embedder.front_end().mel(&audio);
    embedder.front_end().log_patch(&mut mel);
    let mel_ms = (performance_now() - t) / (patches / runs) as f64;
    console_log!(
        "wasm inference: {mean:.1} ms/patch (mean over {patches} patches, front-end + model), best run {best:.1} \
         ms/patch; front-end ≈ {mel_ms:.1} ms/patch"
    );
    // Where the time goes, as `selecta bench --embedding` prints it natively.
    let mut nodes = embedder.profile_patch(&mel[..187 * 96], runs, &mut performance_now).expect("profile");
    nodes.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    for node in nodes.iter().take(5) {
        console_log!("  {:>7.1} ms/patch  {} ({})", node.ms / runs as f64, node.name, node.op);
    }
}

#[wasm_bindgen_test]
fn groove_flac_analysis_matches_native() {
    let t = performance_now();
    let f = analyze_bytes(GROOVE_FLAC.to_vec(), Some("groove.flac"), &AnalyzeOptions::default(), None)
        .expect("analysis")
        .features;
    console_log!(
        "wasm groove.flac ({:.0} ms): songId {} fileHash {} bpm {:?} key {:?} loudness {:?} LUFS",
        performance_now() - t,
        f.song_id,
        f.file_hash,
        f.bpm,
        f.key.map(|k| k.name()),
        f.loudness_lufs
    );
    reference::assert_matches(&f);
}

#[wasm_bindgen_test]
fn groove_mp3_song_id_matches_native() {
    let f = analyze_bytes(GROOVE_MP3.to_vec(), Some("groove.mp3"), &AnalyzeOptions::default(), None)
        .expect("analysis")
        .features;
    assert_eq!(f.song_id, reference::MP3_SONG_ID);
}

/// The 8-bit first pass of exact search runs on wasm SIMD's 16-bit dot product in wasm32: its
/// interval must hold the exact dot product, as natively.
#[wasm_bindgen_test]
fn the_coarse_interval_holds_the_exact_dot_product_in_wasm() {
    use selecta_core::features::timbre::dot;
    use selecta_core::retrieval::coarse::CoarseColumn;

    let mut state = 0x9e37_79b9_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state as f32 / u32::MAX as f32 - 0.5
    };
    for width in [200, 50, 13] {
        let rows: Vec<Vec<f32>> = (0..120)
            .map(|_| {
                let v: Vec<f32> = (0..width).map(|_| next()).collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.into_iter().map(|x| x / norm).collect()
            })
            .collect();
        let mut column = CoarseColumn::with_capacity(rows.len());
        rows.iter().for_each(|r| column.push(Some(r)));
        for q in rows.iter().step_by(7) {
            let coarse = column.query(q).expect("query");
            for (i, r) in rows.iter().enumerate() {
                let exact = dot(q, r);
                let (lo, hi) = column.dot_interval(&coarse, i).expect("row");
                assert!(lo <= exact && exact <= hi && hi - lo < 0.05, "width {width}, row {i}: {exact} in {lo}..{hi}");
            }
        }
    }
}

/// The exact search's 8-bit first pass runs on wasm SIMD's 16-bit dot product in wasm32: its
/// answer must still be what scoring every track gives.
#[wasm_bindgen_test]
fn exact_search_in_wasm_equals_scoring_every_track() {
    use selecta_core::MemoryStore;
    use selecta_core::retrieval::{SearchFilters, SearchIndex};
    use selecta_core::testkit::synth_library::SyntheticLibrary;

    let mut store = MemoryStore::new();
    SyntheticLibrary::new(6, 11).store_into(&mut store, 600).expect("store");
    let index = SearchIndex::build(&store).expect("index");
    let none = SearchFilters::default();
    for q in (0..index.len()).step_by(37) {
        let (view, facts, id) = (index.view_at(q), *index.facts_at(q), index.id(q).to_string());
        let (hits, _) = index.search(Some(&id), &view, &facts, &none, 10, false);
        let mut all: Vec<(f32, String)> = (0..index.len())
            .filter(|&i| i != q)
            .filter_map(|i| index.score_of(&view, index.id(i)).map(|(score, _)| (-score, index.id(i).to_string())))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let want: Vec<(String, f32)> = all.into_iter().take(10).map(|(d, id)| (id, -d)).collect();
        let got: Vec<(String, f32)> = hits.into_iter().map(|h| (h.id, h.score)).collect();
        assert_eq!(got, want, "query {q}");
    }
}

/// The approximate index's walk compares 8-bit rows with wasm SIMD's 16-bit dot product in
/// wasm32: its distance must stay within a few hundredths of the exact one (as natively), and
/// the default beam must still find the exact top 10.
#[wasm_bindgen_test]
fn approximate_search_in_wasm_finds_the_exact_top_ten() {
    use selecta_core::retrieval::ann::AnnIndex;
    use selecta_core::testkit::synth_library::{SyntheticLibrary, approximate_recall_at_10};

    let index = SyntheticLibrary::new(16, 7).search_index(3_000);
    let ann = AnnIndex::build(&index);
    let recall = approximate_recall_at_10(&index, &ann, 29);
    assert!(recall >= 0.98, "recall@10 {recall:.4}");
    let (mut total, mut worst, mut pairs) = (0.0f32, 0.0f32, 0usize);
    for q in (0..index.len()).step_by(97) {
        let view = index.view_at(q);
        for p in (0..index.len()).filter(|&p| p != q).step_by(7) {
            let difference = (ann.walk_distance(&index, &view, p) - index.distance(&view, p)).abs();
            total += difference;
            worst = worst.max(difference);
            pairs += 1;
        }
    }
    let mean = total / pairs as f32;
    assert!(mean < 0.02 && worst < 0.1, "walk distance off the exact one: mean {mean}, largest {worst}");
}
