//! The step-wise analysis (`AnalysisJob`, what the bindings run so that they can report
//! progress and stop a file part-way): its progress only moves forward through the phases and
//! ends at 100 %, the work really is split, and the result is the one-call analysis's — and,
//! since `analyze_bytes` runs the same steps, also the reference values of groove.flac that the
//! native and wasm tests assert (tests/reference), which a change in the stepping would miss.

#[path = "reference/groove_flac.rs"]
#[allow(dead_code)] // only the FLAC values are asserted here
mod reference;

use std::path::PathBuf;

use selecta_core::embed::{Embedder, SamplingProfile};
use selecta_core::{AnalysisJob, AnalysisPhase, AnalyzeOptions, JobOutput, Want, analyze_bytes};

fn read(relative: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn musicnn() -> Embedder {
    let manifest = read("resources/models/musicnn-msd/manifest.json");
    Embedder::load(&manifest, Some(&read("resources/models/musicnn-msd/model.onnx"))).expect("model loads")
}

/// Run a job step by step, checking its progress after each step; returns the output and the
/// phases seen, in order, without repeats.
fn run_in_steps(mut job: AnalysisJob<'_>) -> (JobOutput, Vec<AnalysisPhase>, usize) {
    let mut phases = vec![job.progress().phase];
    let mut last_percent = job.progress().percent;
    let mut steps = 0;
    loop {
        steps += 1;
        let done = job.step().expect("step");
        let p = job.progress();
        assert!(p.percent >= last_percent, "progress went back: {last_percent} → {}", p.percent);
        assert!(p.percent <= 100);
        last_percent = p.percent;
        if phases.last() != Some(&p.phase) {
            assert!(!phases.contains(&p.phase), "phase {:?} came back: {phases:?}", p.phase);
            phases.push(p.phase);
        }
        if let Some(output) = done {
            assert_eq!(p.percent, 100);
            return (output, phases, steps);
        }
        assert!(p.percent < 100, "100 % before the end");
    }
}

#[test]
fn steps_without_a_model_give_the_one_call_result() {
    let bytes = read("tests/fixtures/audio/groove.flac");
    let options = AnalyzeOptions::default();
    let job = AnalysisJob::new(bytes.clone(), Some("groove.flac"), &options, None, Want::Everything).expect("opens");
    let (output, phases, steps) = run_in_steps(job);
    let JobOutput::Analysis(stepped) = output else { panic!("features expected") };
    // 10 s of audio: two decoding steps and the features step.
    assert!(steps >= 3, "{steps} steps");
    assert_eq!(phases, [AnalysisPhase::Decode, AnalysisPhase::Features]);
    reference::assert_matches(&stepped.features);
    let whole = analyze_bytes(bytes, Some("groove.flac"), &options, None).expect("analysis");
    assert_eq!(serde_json::to_value(&stepped.features).ok(), serde_json::to_value(&whole.features).ok());
}

#[test]
fn steps_with_a_model_run_one_patch_at_a_time() {
    let embedder = musicnn();
    let bytes = read("tests/fixtures/audio/groove.ogg");
    let options = AnalyzeOptions { profile: SamplingProfile::Full, ..AnalyzeOptions::default() };
    let job = AnalysisJob::new(bytes.clone(), Some("groove.ogg"), &options, Some(&embedder), Want::Everything)
        .expect("opens");
    let (output, phases, steps) = run_in_steps(job);
    let JobOutput::Analysis(stepped) = output else { panic!("features expected") };
    assert_eq!(phases, [AnalysisPhase::Decode, AnalysisPhase::Features, AnalysisPhase::Embed]);
    let embedding = stepped.features.embedding.as_ref().expect("embedding");
    // 10 s at 50 % overlap of 3 s patches: 5 patches, each its own step.
    assert!(steps >= 2 + 1 + 1 + 5, "{steps} steps");
    assert_eq!(embedding.vector.len(), 200);
    let whole = analyze_bytes(bytes, Some("groove.ogg"), &options, Some(&embedder)).expect("analysis");
    assert_eq!(serde_json::to_value(&stepped.features).ok(), serde_json::to_value(&whole.features).ok());
}

#[test]
fn an_embedding_only_job_gives_the_song_id_and_embedding() {
    let embedder = musicnn();
    let bytes = read("tests/fixtures/audio/groove.mp3");
    let options = AnalyzeOptions { profile: SamplingProfile::Fast, ..AnalyzeOptions::default() };
    let job = AnalysisJob::new(bytes.clone(), Some("groove.mp3"), &options, Some(&embedder), Want::EmbeddingOnly)
        .expect("opens");
    let (output, phases, _) = run_in_steps(job);
    let JobOutput::Embedding { song_id, embedding } = output else { panic!("embedding only expected") };
    assert_eq!(phases, [AnalysisPhase::Decode, AnalysisPhase::Features, AnalysisPhase::Embed]);
    let whole = analyze_bytes(bytes, Some("groove.mp3"), &options, Some(&embedder)).expect("analysis");
    assert_eq!(song_id, whole.features.song_id);
    assert_eq!(embedding, whole.features.embedding);
}

#[test]
fn bad_input_fails_at_open_or_in_a_step_with_the_analysis_error() {
    let options = AnalyzeOptions::default();
    let err = AnalysisJob::new(b"not audio at all".to_vec(), Some("x.mp3"), &options, None, Want::Everything)
        .expect_err("refused");
    assert_eq!(selecta_core::error::Coded::code(&err), selecta_core::ErrorCode::UnsupportedFormat);
    // A FLAC cut in half opens, then fails while decoding with the truncation named.
    let mut bytes = read("tests/fixtures/audio/groove.flac");
    bytes.truncate(bytes.len() / 2);
    let mut job = AnalysisJob::new(bytes, Some("groove.flac"), &options, None, Want::Everything).expect("opens");
    let err = loop {
        match job.step() {
            Ok(Some(_)) => panic!("a truncated file analysed"),
            Ok(None) => continue,
            Err(e) => break e,
        }
    };
    assert!(err.to_string().contains("truncated"), "{err}");
}
