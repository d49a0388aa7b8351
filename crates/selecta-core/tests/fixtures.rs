//! The committed fixtures (tests/fixtures/audio, made by scripts/make_fixtures.sh from a
//! synthesised 10 s track at 124 BPM in A minor): every format decodes with its tags, the
//! features agree across formats, and the Chromaprint matches `fpcalc -raw`.

use std::path::PathBuf;

use selecta_core::features::fingerprint::bit_agreement;
use selecta_core::features::{Key, Mode};
use selecta_core::{AnalyzeOptions, SongFeatures, analyze_bytes};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/audio").join(name)
}

fn analyse(name: &str) -> SongFeatures {
    let bytes = std::fs::read(fixture(name)).expect("fixture present");
    analyze_bytes(bytes, Some(name), &AnalyzeOptions::default(), None)
        .map(|a| a.features)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn every_format_decodes_with_tags_and_features() {
    for name in ["groove.wav", "groove.flac", "groove.mp3", "groove.ogg", "groove.m4a"] {
        let f = analyse(name);
        assert_eq!(f.sample_rate, 44_100, "{name}");
        assert_eq!(f.channels, 2, "{name}");
        // Lossy codecs may add encoder delay/padding that the container does not trim.
        let tolerance = if name.ends_with(".wav") || name.ends_with(".flac") { 0.010 } else { 0.080 };
        assert!((f.duration_sec - 10.0).abs() < tolerance, "{name}: duration {}", f.duration_sec);
        let bpm = f.bpm.expect("tempo");
        assert!((bpm / 124.0 - 1.0).abs() < 0.02, "{name}: bpm {bpm}");
        assert_eq!(f.key, Some(Key { tonic: 9, mode: Mode::Minor }), "{name}");
        // symphonia 0.6.1 parses RIFF INFO chunks of WAV files but does not expose them.
        if !name.ends_with(".wav") {
            assert_eq!(f.metadata.title.as_deref(), Some("Fixture Groove"), "{name}");
            assert_eq!(f.metadata.artist.as_deref(), Some("Selecta Synth"), "{name}");
            assert_eq!(f.metadata.album.as_deref(), Some("Test Pressings"), "{name}");
            assert_eq!(f.metadata.genre.as_deref(), Some("Techno"), "{name}");
            assert_eq!(f.metadata.year, Some(2024), "{name}");
        }
        if [".flac", ".ogg", ".m4a"].iter().any(|e| name.ends_with(e)) {
            assert_eq!(f.metadata.comment.as_deref(), Some("synthesised for tests"), "{name}");
        }
        let lufs = f.loudness_lufs.expect("loudness");
        assert!((-40.0..0.0).contains(&lufs), "{name}: {lufs}");
        assert_eq!(f.hpcp.as_ref().map(Vec::len), Some(12));
        let expected_kbps = if name.ends_with(".mp3") || name.ends_with(".m4a") { Some(128.0) } else { None };
        if let Some(k) = expected_kbps {
            assert!((f.bitrate_kbps - k).abs() < 20.0, "{name}: {} kbps", f.bitrate_kbps);
        }
    }
}

#[test]
fn lossless_formats_share_the_song_id_but_not_the_file_hash() {
    let wav = analyse("groove.wav");
    let flac = analyse("groove.flac");
    assert_eq!(wav.song_id, flac.song_id);
    assert_ne!(wav.file_hash, flac.file_hash);
    assert_eq!(wav.song_id.len(), 64);
}

#[test]
fn chromaprint_matches_fpcalc_raw() {
    let expected: Vec<u32> = std::fs::read_to_string(fixture("groove.flac.fpcalc-raw.txt"))
        .expect("reference")
        .trim()
        .split(',')
        .map(|v| v.trim().parse().expect("u32"))
        .collect();
    let f = analyse("groove.flac");
    let fp = f.chromaprint.expect("fingerprint");
    assert!(!fp.encoded.is_empty());
    let agreement = bit_agreement(&fp.raw, &expected);
    assert!((fp.raw.len() as i64 - expected.len() as i64).abs() <= 2, "lengths {} vs {}", fp.raw.len(), expected.len());
    eprintln!("chromaprint bit agreement with fpcalc -raw: {agreement:.4}");
    assert!(agreement >= 0.95, "bit agreement {agreement}");
}

#[test]
fn chromaprint_simhash_separates_different_music() {
    let a = analyse("groove.flac").chromaprint.expect("fp").simhash;
    let b = analyse("groove.mp3").chromaprint.expect("fp").simhash;
    let mut spec = selecta_core::synth::SynthSpec::new(97.0, Key { tonic: 2, mode: Mode::Major });
    spec.seconds = 10.0;
    let other = selecta_core::synth::wav_bytes(&selecta_core::synth::render(&spec), spec.sample_rate, 1);
    let c = analyze_bytes(other, Some("o.wav"), &AnalyzeOptions::default(), None)
        .map(|a| a.features)
        .expect("other")
        .chromaprint
        .expect("fp")
        .simhash;
    let same = (a ^ b).count_ones();
    let different = (a ^ c).count_ones();
    assert!(same < different, "re-encode distance {same} should be below other-music distance {different}");
}
