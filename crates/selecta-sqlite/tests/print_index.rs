//! The fingerprint index kept in the library folder: a later process loads it instead of
//! building it and identifies the same; a damaged, truncated or stale file is detected and
//! rebuilt, never trusted.

use std::path::Path;

use selecta_core::Engine;
use selecta_core::control::NoControl;
use selecta_core::embed::SamplingProfile;
use selecta_core::engine::IdentifyOutcome;
use selecta_core::features::{Key, Mode};
use selecta_core::testkit::synth::{SynthSpec, render, wav_bytes};
use selecta_sqlite::{INDEX_DIR, SqliteStore};

const RATE: u32 = 22_050;

fn track(bpm: f32, tonic: u8, seed: u64) -> Vec<f32> {
    render(&SynthSpec::library_track(bpm, Key { tonic, mode: Mode::Minor }, 30.0, seed))
}

fn open(dir: &Path) -> Engine<SqliteStore> {
    Engine::open(SqliteStore::open(dir).expect("store"), SamplingProfile::default(), 0).expect("engine")
}

fn identify(engine: &mut Engine<SqliteStore>, audio: &[f32]) -> IdentifyOutcome {
    let query = engine.audio_analyzer().analyze(wav_bytes(audio, RATE, 1), Some("q.wav"), false).expect("query");
    engine.identify(&query).expect("identified")
}

#[test]
fn a_kept_index_is_reused_and_a_damaged_or_stale_one_rebuilt() {
    let dir = tempfile::tempdir().expect("tmp");
    let tracks = [track(100.0, 0, 1), track(117.0, 5, 2), track(131.0, 9, 3)];
    let mut engine = open(dir.path());
    for (i, t) in tracks.iter().enumerate() {
        engine.analyze_file(&format!("t{i}.wav"), wav_bytes(t, RATE, 1), None, 0, 0, &mut NoControl).expect("analysed");
    }
    let snippet = &tracks[1][6 * RATE as usize..16 * RATE as usize];
    let first = identify(&mut engine, snippet);
    assert_eq!(first.identified.as_ref().and_then(|t| t.path.as_deref()), Some("t1.wav"), "{first:?}");
    let file = dir.path().join(INDEX_DIR).join("fingerprints.bin");
    let kept = std::fs::read(&file).expect("the index is kept in the library folder");
    drop(engine);

    // A later process: the same answer from the kept file, which it leaves as it is.
    let mut later = open(dir.path());
    assert_eq!(identify(&mut later, snippet), first);
    assert_eq!(std::fs::read(&file).expect("kept"), kept, "loaded, not rebuilt");
    drop(later);

    // Damaged (one byte flipped) and truncated files: detected, rebuilt, same answer.
    for damage in [
        Box::new(|b: &mut Vec<u8>| {
            let mid = b.len() / 2;
            b[mid] ^= 0x40;
        }) as Box<dyn Fn(&mut Vec<u8>)>,
        Box::new(|b: &mut Vec<u8>| b.truncate(b.len() / 3)),
    ] {
        let mut bytes = kept.clone();
        damage(&mut bytes);
        std::fs::write(&file, &bytes).expect("damaged");
        let mut after = open(dir.path());
        assert_eq!(identify(&mut after, snippet), first);
        assert_eq!(std::fs::read(&file).expect("rewritten"), kept, "the damaged file was replaced");
    }

    // Stale: a track added since; the kept index does not know it, so it is rebuilt.
    let mut more = open(dir.path());
    let new_track = track(142.0, 2, 4);
    more.analyze_file("t3.wav", wav_bytes(&new_track, RATE, 1), None, 0, 0, &mut NoControl).expect("analysed");
    drop(more);
    let mut after = open(dir.path());
    let found = identify(&mut after, &new_track[12 * RATE as usize..22 * RATE as usize]);
    assert_eq!(found.identified.and_then(|t| t.path).as_deref(), Some("t3.wav"));
    assert_ne!(std::fs::read(&file).expect("kept"), kept, "rebuilt for the new library");
}
