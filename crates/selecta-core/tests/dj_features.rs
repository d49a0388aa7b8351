//! The DJ features against arrangements whose truth is known: which parts play, how loud, where
//! the intro ends and the outro starts. Each track goes through the whole analysis (WAV bytes →
//! decode → features), as a user's file would.

use selecta_core::features::DjFeatures;
use selecta_core::testkit::arrangement::{Bass, Layers, render_arrangement};
use selecta_core::testkit::synth::wav_bytes;
use selecta_core::{AnalyzeOptions, analyze_bytes};

const RATE: u32 = 22_050;

fn analyse(samples: &[f32], name: &str) -> (DjFeatures, Option<f32>) {
    let wav = wav_bytes(samples, RATE, 1);
    let analysis = analyze_bytes(wav, Some(name), &AnalyzeOptions::default(), None).expect("analyses");
    (analysis.features.dj.unwrap_or_else(|| panic!("{name}: no DJ features")), analysis.features.bpm)
}

fn track(bpm: f32, bars: usize, layers: impl Fn(usize) -> Layers) -> Vec<f32> {
    render_arrangement(bpm, bars, RATE, 11, layers)
}

#[test]
fn drums_alone_are_percussive_and_a_held_pad_is_not() {
    let (drums, _) = analyse(&track(124.0, 16, |_| Layers::BEAT), "drums.wav");
    let pad_only = Layers { pad: true, ..Layers::SILENT };
    let (pad, _) = analyse(&track(124.0, 16, |_| pad_only), "pad.wav");
    assert!(drums.percussive_ratio >= 0.8, "drums-only loop: percussive ratio {}", drums.percussive_ratio);
    assert!(pad.percussive_ratio <= 0.2, "sustained pad: percussive ratio {}", pad.percussive_ratio);
}

#[test]
fn a_sung_line_raises_the_vocal_presence() {
    let base = Layers { vocal: false, ..Layers::FULL };
    let sung = Layers { vocal: true, ..Layers::FULL };
    let (without, _) = analyse(&track(122.0, 16, |_| base), "instrumental.wav");
    let (with, _) = analyse(&track(122.0, 16, |_| sung), "vocal mix.wav");
    assert!(
        with.vocal_presence >= without.vocal_presence + 0.3,
        "vocal presence with the voice {} vs without {}",
        with.vocal_presence,
        without.vocal_presence
    );
    assert!(without.vocal_presence <= 0.2, "instrumental: vocal presence {}", without.vocal_presence);
}

#[test]
fn a_sub_bass_loop_has_more_sub_than_the_same_loop_without_bass() {
    let sub = Layers { bass: Bass::Sub, ..Layers::BEAT };
    let mid = Layers { bass: Bass::Mid, ..Layers::BEAT };
    let (with_sub, _) = analyse(&track(126.0, 16, |_| sub), "sub.wav");
    let (with_mid, _) = analyse(&track(126.0, 16, |_| mid), "mid.wav");
    let none = Layers { hats: true, ..Layers::BEAT };
    let (without, _) = analyse(&track(126.0, 16, |_| Layers { kick: false, ..none }), "no bass.wav");
    assert!(with_sub.low_end.sub > with_mid.low_end.sub, "sub {:?} vs mid {:?}", with_sub.low_end, with_mid.low_end);
    assert!(with_mid.low_end.bass > without.low_end.bass, "mid {:?} vs none {:?}", with_mid.low_end, without.low_end);
    assert!(with_sub.low_end.low() > without.low_end.low() + 0.2, "{:?} vs {:?}", with_sub.low_end, without.low_end);
}

#[test]
fn a_build_up_series_never_loses_energy() {
    // Sparser to denser, quieter to louder: hats only, + kick, + clap and bass, + pad,
    // + sixteenth hats, each step louder.
    let steps = [
        Layers { hats: true, gain: 0.25, ..Layers::SILENT },
        Layers { hats: true, kick: true, gain: 0.35, ..Layers::SILENT },
        Layers { bass: Bass::Mid, gain: 0.5, ..Layers::BEAT },
        Layers { gain: 0.7, ..Layers::FULL },
        Layers { sixteenths: true, gain: 1.0, ..Layers::FULL },
    ];
    let energies: Vec<f32> = steps
        .iter()
        .enumerate()
        .map(|(i, &l)| analyse(&track(128.0, 12, |_| l), &format!("step {i}.wav")).0.energy)
        .collect();
    for w in energies.windows(2) {
        assert!(w[1] >= w[0], "energy fell along the build-up: {energies:?}");
    }
    assert!(energies[4] - energies[0] >= 3.0, "the build-up spans too little energy: {energies:?}");
}

#[test]
fn a_beat_only_intro_and_outro_are_found_within_a_bar() {
    let bpm = 124.0;
    let bar = 4.0 * 60.0 / bpm;
    let full = Layers { vocal: true, ..Layers::FULL };
    let samples = track(bpm, 64, |b| if (16..48).contains(&b) { full } else { Layers::BEAT });
    let (dj, detected) = analyse(&samples, "Intro – Outro (Extended Mix).wav");
    let detected = detected.expect("a tempo");
    assert!((detected - bpm).abs() < 1.0, "tempo {detected}");
    let intro = dj.intro.expect("an intro");
    let outro = dj.outro.expect("an outro");
    assert!((intro.end_sec - 16.0 * bar).abs() <= bar, "intro ends at {} s, truth {} s", intro.end_sec, 16.0 * bar);
    assert!(
        (outro.start_sec - 48.0 * bar).abs() <= bar,
        "outro starts at {} s, truth {} s",
        outro.start_sec,
        48.0 * bar
    );
    assert!(intro.start_sec <= bar, "intro starts at {}", intro.start_sec);
    assert!((outro.end_sec - 64.0 * bar).abs() <= bar, "outro ends at {}", outro.end_sec);
    assert!(intro.boundary && outro.boundary);
    let downbeat = dj.first_downbeat_sec.expect("a downbeat");
    // The first downbeat is the first kick of bar 1 (a beat later or earlier is a wrong grid).
    assert!(downbeat < 0.1 || (downbeat - bar).abs() < 0.1, "first downbeat {downbeat}");
    // Beat-only sections with no voice mix well; the vocal middle does not count in them.
    assert!(intro.mixability >= 0.7 && outro.mixability >= 0.7, "{intro:?} {outro:?}");
    assert!(intro.vocal_presence < 0.1, "{intro:?}");
}
