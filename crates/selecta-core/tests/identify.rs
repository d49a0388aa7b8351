//! Snippet identification through the engine, on synthesised tracks: a short noisy crop, a crop
//! played 4 % fast on a pitch fader, a crop time-stretched with the pitch kept, and audio the
//! library does not hold.

use selecta_core::control::NoControl;
use selecta_core::embed::SamplingProfile;
use selecta_core::features::{Key, Mode};
use selecta_core::testkit::synth::{SynthSpec, render, wav_bytes};
use selecta_core::{Engine, MemoryStore};

const RATE: u32 = 22_050;

fn track(bpm: f32, tonic: u8, mode: Mode, seed: u64) -> Vec<f32> {
    render(&SynthSpec::library_track(bpm, Key { tonic, mode }, 40.0, seed))
}

/// Deterministic white noise at `snr_db` below the signal.
fn add_noise(signal: &mut [f32], snr_db: f32) {
    let power = signal.iter().map(|x| x * x).sum::<f32>() / signal.len() as f32;
    let amplitude = (power / 10f32.powf(snr_db / 10.0)).sqrt() * 3f32.sqrt();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for x in signal.iter_mut() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *x += amplitude * ((state >> 11) as f32 / (1u64 << 53) as f32 * 2.0 - 1.0);
    }
}

/// `seconds` of `signal` from `start`, read `rate_factor` times faster by linear interpolation
/// (a pitch fader: pitch and tempo together).
fn crop(signal: &[f32], start: f32, seconds: f32, rate_factor: f32) -> Vec<f32> {
    let n = (seconds * RATE as f32) as usize;
    let first = start * RATE as f32;
    (0..n)
        .map(|i| {
            let at = first + i as f32 * rate_factor;
            let (j, frac) = (at as usize, at.fract());
            let a = signal.get(j).copied().unwrap_or(0.0);
            let b = signal.get(j + 1).copied().unwrap_or(a);
            a + (b - a) * frac
        })
        .collect()
}

/// A library of six tracks with different tempi and keys.
fn library() -> (Engine<MemoryStore>, Vec<Vec<f32>>) {
    let tracks = vec![
        track(96.0, 0, Mode::Major, 1),
        track(104.0, 9, Mode::Minor, 2),
        track(118.0, 2, Mode::Major, 3),
        track(124.0, 7, Mode::Minor, 4),
        track(128.0, 5, Mode::Major, 5),
        track(140.0, 4, Mode::Minor, 6),
    ];
    let mut engine = Engine::open(MemoryStore::default(), SamplingProfile::default(), 0).expect("engine");
    for (i, t) in tracks.iter().enumerate() {
        let bytes = wav_bytes(t, RATE, 1);
        engine.analyze_file(&format!("t{i}.wav"), bytes, None, 0, 0, &mut NoControl).expect("analysed");
    }
    (engine, tracks)
}

fn identify(engine: &mut Engine<MemoryStore>, audio: &[f32]) -> selecta_core::engine::IdentifyOutcome {
    let query = engine.audio_analyzer().analyze(wav_bytes(audio, RATE, 1), Some("snippet.wav"), false).expect("query");
    engine.identify(&query).expect("identified")
}

/// The offset is right up to the arrangement's repetition (the synthesiser repeats a 4-bar
/// progression, as loops in real music do).
fn assert_offset(found: f64, truth: f64, bpm: f32) {
    let period = f64::from(16.0 * 60.0 / bpm);
    let off = (found - truth).rem_euclid(period);
    assert!(off.min(period - off) < 0.35, "offset {found:.2} s, truth {truth:.2} s (period {period:.2} s)");
}

#[test]
fn identifies_noisy_sped_up_and_stretched_snippets_and_rejects_strangers() {
    let (mut engine, tracks) = library();

    let mut noisy = crop(&tracks[3], 13.0, 5.0, 1.0);
    add_noise(&mut noisy, 20.0);
    let out = identify(&mut engine, &noisy);
    let found = out.identified.as_ref().expect("5 s at SNR 20 dB is identified");
    assert_eq!(found.path.as_deref(), Some("t3.wav"), "{out:?}");
    assert_offset(found.offset_sec, 13.0, 124.0);

    // Played 4 % fast on a pitch fader: every chroma bin moves by 0.7 semitone.
    let fast = crop(&tracks[1], 21.0, 10.0, 1.04);
    let out = identify(&mut engine, &fast);
    let found = out.identified.as_ref().expect("a pitch-fader snippet is identified");
    assert_eq!(found.path.as_deref(), Some("t1.wav"), "{out:?}");
    assert_eq!(found.speed, 1.04);
    assert_offset(found.offset_sec, 21.0, 104.0);

    // 4 % slower with the pitch kept: bars of the snippet drift against the track.
    let mut stretched = Vec::new();
    for block in crop(&tracks[4], 8.0, 10.0, 1.0).chunks(RATE as usize / 25) {
        // Repeat every 25th block of 40 ms: a crude time-stretch that keeps the pitch.
        stretched.extend_from_slice(block);
        if stretched.len() / block.len().max(1) % 25 == 0 {
            stretched.extend_from_slice(block);
        }
    }
    let out = identify(&mut engine, &stretched);
    assert_eq!(out.identified.as_ref().and_then(|t| t.path.as_deref()), Some("t4.wav"), "{out:?}");

    // A track the library does not hold: a key and tempo of its own.
    let stranger = crop(&track(87.0, 11, Mode::Minor, 9), 10.0, 10.0, 1.0);
    let out = identify(&mut engine, &stranger);
    assert!(out.identified.is_none(), "a stranger is not identified: {out:?}");
    assert!(!out.candidates.is_empty(), "the candidates are still listed");
}

#[test]
fn search_by_audio_names_the_track_and_lists_others_without_it() {
    let (mut engine, tracks) = library();
    let snippet = crop(&tracks[2], 5.0, 10.0, 1.0);
    let query = engine.audio_analyzer().analyze(wav_bytes(&snippet, RATE, 1), Some("s.wav"), true).expect("query");
    let options = selecta_core::engine::SimilarOptions { k: Some(3), ..Default::default() };
    let out = engine.search_by_audio(&query, &options).expect("searched");
    let identified = out.identified.expect("identified");
    assert_eq!(identified.path.as_deref(), Some("t2.wav"));
    assert_eq!(out.items.len(), 3);
    assert!(out.items.iter().all(|i| i.id != identified.id), "the identified track is not repeated");
}

#[test]
fn an_empty_library_and_a_too_short_snippet_identify_nothing() {
    let mut engine = Engine::open(MemoryStore::default(), SamplingProfile::default(), 0).expect("engine");
    let audio = crop(&track(120.0, 0, Mode::Major, 1), 0.0, 10.0, 1.0);
    assert!(identify(&mut engine, &audio).identified.is_none());
    let (mut engine, tracks) = library();
    // One second is below what identification needs (≈2 s of sub-fingerprints).
    let out = identify(&mut engine, &crop(&tracks[0], 3.0, 1.0, 1.0));
    assert!(out.identified.is_none(), "{out:?}");
}

#[test]
fn prints_travel_in_the_library_bundle_and_a_format_1_bundle_still_imports() {
    let (source, tracks) = library();
    let bundle = source.export_library().expect("export");
    let mut copy = Engine::open(MemoryStore::default(), SamplingProfile::default(), 0).expect("engine");
    copy.import_library(&bundle, 1).expect("import");
    let out = identify(&mut copy, &crop(&tracks[5], 20.0, 10.0, 1.0));
    assert_eq!(out.identified.and_then(|t| t.path).as_deref(), Some("t5.wav"), "identified after the move");

    // A bundle written before the prints existed: the same fields, without the prints.
    let store = source.store();
    use selecta_core::Store;
    let songs: Vec<_> = store
        .song_versions()
        .expect("versions")
        .iter()
        .filter_map(|v| store.song_features(&v.song_id).expect("read"))
        .collect();
    let old = selecta_core::bundle::format_1_bundle(songs, store.path_entries().expect("paths")).expect("sealed");
    let mut from_old = Engine::open(MemoryStore::default(), SamplingProfile::default(), 0).expect("engine");
    let summary = from_old.import_library(&old, 1).expect("a format-1 bundle imports");
    assert_eq!(summary.songs, 6);
    // Its tracks have no whole-track print until they are analysed again: nothing to match.
    assert!(identify(&mut from_old, &crop(&tracks[5], 20.0, 10.0, 1.0)).identified.is_none());
}
