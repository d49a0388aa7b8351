//! Accuracy on synthesised music with known truth: tempo within 2 % (never half or double)
//! from 70 to 180 BPM, the key exactly right in all 24 keys, duration within 10 ms.

use selecta_core::features::{Key, Mode};
use selecta_core::testkit::synth::{SynthSpec, render, wav_bytes};
use selecta_core::{AnalyzeOptions, analyze_bytes};

fn analyse(spec: &SynthSpec) -> selecta_core::SongFeatures {
    let mono = render(spec);
    let wav = wav_bytes(&mono, spec.sample_rate, 1);
    analyze_bytes(wav, Some("synth.wav"), &AnalyzeOptions::default(), None).map(|a| a.features).expect("analysis")
}

#[test]
fn tempo_within_two_percent_from_70_to_180_bpm() {
    let mut failures = Vec::new();
    for (i, bpm) in (70..=180).step_by(5).enumerate() {
        let key = Key { tonic: (i % 12) as u8, mode: if i % 2 == 0 { Mode::Major } else { Mode::Minor } };
        let mut spec = SynthSpec::new(bpm as f32, key);
        spec.seconds = 20.0;
        spec.sample_rate = 22_050;
        let f = analyse(&spec);
        let got = f.bpm.expect("a tempo");
        let err = (got / bpm as f32 - 1.0).abs();
        if err > 0.02 {
            failures.push(format!("{bpm} BPM → {got:.2}"));
        }
    }
    assert!(failures.is_empty(), "tempo errors: {failures:?}");
}

#[test]
fn key_exact_in_all_24_keys() {
    let mut failures = Vec::new();
    for tonic in 0..12u8 {
        for mode in [Mode::Major, Mode::Minor] {
            let key = Key { tonic, mode };
            let mut spec = SynthSpec::new(100.0 + f32::from(tonic) * 3.0, key);
            spec.seconds = 12.0;
            spec.sample_rate = 22_050;
            let f = analyse(&spec);
            if f.key != Some(key) {
                failures.push(format!("{} → {:?}", key.name(), f.key.map(|k| k.name())));
            }
        }
    }
    assert!(failures.is_empty(), "key errors: {failures:?}");
}

#[test]
fn duration_within_10_ms() {
    let mut spec = SynthSpec::new(120.0, Key { tonic: 9, mode: Mode::Minor });
    spec.seconds = 7.3;
    let f = analyse(&spec);
    assert!((f.duration_sec - 7.3).abs() < 0.010, "{}", f.duration_sec);
    assert_eq!(f.sample_rate, 44_100);
    assert_eq!(f.channels, 1);
}
