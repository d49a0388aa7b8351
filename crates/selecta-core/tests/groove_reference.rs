//! Native side of the wasm parity check: analyses tests/fixtures/audio/groove.flac and asserts
//! the reference values in tests/reference/groove_flac.rs, which tests/wasm_parity.rs asserts
//! for the same bytes analysed in wasm32 (where there is no file system to read them from).

#[path = "reference/groove_flac.rs"]
mod reference;

use std::path::PathBuf;

use selecta_core::{AnalyzeOptions, analyze_bytes};

#[test]
fn groove_flac_matches_the_reference_values_shared_with_wasm() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/audio/groove.flac");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let f = analyze_bytes(bytes, Some("groove.flac"), &AnalyzeOptions::default(), None).expect("analysis").features;
    eprintln!(
        "native groove.flac: songId {} fileHash {} bpm {:?} key {:?}",
        f.song_id,
        f.file_hash,
        f.bpm,
        f.key.map(|k| k.name())
    );
    reference::assert_matches(&f);
}

#[test]
fn groove_mp3_song_id_matches_the_reference_shared_with_wasm() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/audio/groove.mp3");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let f = analyze_bytes(bytes, Some("groove.mp3"), &AnalyzeOptions::default(), None).expect("analysis").features;
    assert_eq!(f.song_id, reference::MP3_SONG_ID);
}
