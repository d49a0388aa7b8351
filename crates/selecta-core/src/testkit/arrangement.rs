//! Dance-music arrangements with known structure, for the DJ-feature tests: per bar, which
//! parts play (four-on-the-floor kick, clap on 2 and 4, eighth-note closed hats with open hats
//! on the off-beats, a sub or a mid bass, a held pad, a formant-synthesised voice) and at what
//! level. The voice is a glottal-like harmonic source through vowel formants, with vibrato,
//! a sung melody and a new vowel on every beat, so it moves the way a singer does.

use super::synth::{Noise, midi_hz};

/// Which bass plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bass {
    /// None.
    Off,
    /// A sine an octave below the mid bass (≈ 40–55 Hz): all sub.
    Sub,
    /// A bright bass around 80–110 Hz with harmonics up to 500 Hz.
    Mid,
}

/// The parts playing in one bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layers {
    /// Kick on every beat.
    pub kick: bool,
    /// Clap on 2 and 4.
    pub clap: bool,
    /// Eighth-note closed hats (open hats on the off-beats).
    pub hats: bool,
    /// Sixteenth-note hats instead of eighths (with `hats`).
    pub sixteenths: bool,
    /// The bass.
    pub bass: Bass,
    /// A held minor chord.
    pub pad: bool,
    /// The voice.
    pub vocal: bool,
    /// Master level of the bar (linear).
    pub gain: f32,
}

impl Layers {
    /// Kick, clap and hats only.
    pub const BEAT: Layers = Layers {
        kick: true,
        clap: true,
        hats: true,
        sixteenths: false,
        bass: Bass::Off,
        pad: false,
        vocal: false,
        gain: 1.0,
    };
    /// Everything but the voice.
    pub const FULL: Layers = Layers {
        kick: true,
        clap: true,
        hats: true,
        sixteenths: false,
        bass: Bass::Mid,
        pad: true,
        vocal: false,
        gain: 1.0,
    };
    /// Nothing plays.
    pub const SILENT: Layers = Layers {
        kick: false,
        clap: false,
        hats: false,
        sixteenths: false,
        bass: Bass::Off,
        pad: false,
        vocal: false,
        gain: 1.0,
    };
}

/// Vowel formants (frequency, bandwidth) of a, e, i, o, u.
const VOWELS: [[(f32, f32); 3]; 5] = [
    [(800.0, 80.0), (1150.0, 90.0), (2900.0, 120.0)],
    [(400.0, 60.0), (1600.0, 80.0), (2700.0, 120.0)],
    [(300.0, 50.0), (2300.0, 100.0), (3000.0, 120.0)],
    [(450.0, 70.0), (800.0, 80.0), (2830.0, 100.0)],
    [(325.0, 50.0), (700.0, 60.0), (2530.0, 100.0)],
];

/// Render `bars` bars at `bpm` (mono, `[-1, 1]`, at `sample_rate`), each bar's parts given by
/// `layers(bar)`. Deterministic for a seed.
pub fn render_arrangement(
    bpm: f32,
    bars: usize,
    sample_rate: u32,
    seed: u64,
    layers: impl Fn(usize) -> Layers,
) -> Vec<f32> {
    let sr = sample_rate as f32;
    let beat = 60.0 / bpm;
    let bar_len = 4.0 * beat;
    let n = (bars as f32 * bar_len * sr) as usize;
    let mut out = vec![0.0f32; n];
    let two_pi = 2.0 * std::f32::consts::PI;
    let mut noise = Noise(seed.max(1));
    // A minor (i–VI–III–VII): bass roots and pad chords per bar.
    let roots = [45.0f32, 41.0, 48.0, 43.0];
    let mut vocal_phase = [0.0f32; 24];
    let melody = [69.0f32, 72.0, 71.0, 67.0, 69.0, 64.0, 65.0, 67.0];
    for b in 0..bars {
        let l = layers(b);
        let bar_start = b as f32 * bar_len;
        let root = roots[b % 4];
        let bar_range = ((bar_start * sr) as usize).min(n)..(((bar_start + bar_len) * sr) as usize).min(n);
        if l.pad {
            let chord = [root + 12.0, root + 15.0, root + 19.0, root + 24.0];
            for i in bar_range.clone() {
                let t = i as f32 / sr;
                let mut v = 0.0;
                for &note in &chord {
                    let f = midi_hz(note);
                    v += (two_pi * f * t).sin()
                        + 0.3 * (two_pi * 2.0 * f * t).sin()
                        + 0.1 * (two_pi * 3.0 * f * t).sin();
                }
                out[i] += 0.05 * l.gain * v;
            }
        }
        if l.vocal {
            let harmonics = vocal_phase.len();
            for i in bar_range.clone() {
                let t = i as f32 / sr;
                let in_bar = t - bar_start;
                let beat_no = (in_bar / beat) as usize;
                let note = melody[(b * 2 + beat_no / 2) % melody.len()];
                let vowel = &VOWELS[(b * 4 + beat_no) % VOWELS.len()];
                let in_beat = in_bar - beat_no as f32 * beat;
                // Phrased like singing: each syllable swells and fades within its beat.
                let env = (in_beat / 0.04).min(1.0) * (1.0 - (in_beat / beat).powi(3)).max(0.0);
                let f0 = midi_hz(note - 12.0) * (1.0 + 0.025 * (two_pi * 5.5 * t).sin());
                let mut v = 0.0;
                for (h, phase) in vocal_phase.iter_mut().enumerate().take(harmonics) {
                    let f = f0 * (h + 1) as f32;
                    *phase = (*phase + two_pi * f / sr) % two_pi;
                    if f > 4000.0 {
                        continue;
                    }
                    let gain: f32 = vowel.iter().map(|&(fc, bw)| 1.0 / (1.0 + ((f - fc) / bw).powi(2))).sum();
                    v += gain * phase.sin() / (h + 1) as f32;
                }
                out[i] += 0.2 * l.gain * env * v;
            }
        }
        for q in 0..4 {
            let s = ((bar_start + q as f32 * beat) * sr) as usize;
            if s >= n {
                break;
            }
            if l.kick {
                let len = ((0.3 * sr) as usize).min(n - s);
                let mut phase = 0.0f32;
                for i in 0..len {
                    let t = i as f32 / sr;
                    let f = 48.0 + 110.0 * (-t * 35.0).exp();
                    phase += two_pi * f / sr;
                    out[s + i] += 0.6 * l.gain * (-t * 9.0).exp() * phase.sin();
                }
            }
            if l.clap && q % 2 == 1 {
                let len = ((0.15 * sr) as usize).min(n - s);
                let mut prev = 0.0;
                for i in 0..len {
                    let t = i as f32 / sr;
                    let w = noise.next();
                    out[s + i] += 0.35 * l.gain * (w - 0.5 * prev) * (-t * 22.0).exp();
                    prev = w;
                }
            }
            if l.bass != Bass::Off {
                // Off-beat bass, the house way: it enters on the "and" of every beat.
                let bs = s + (beat / 2.0 * sr) as usize;
                let len = ((beat * 0.45 * sr) as usize).min(n.saturating_sub(bs));
                let f = match l.bass {
                    Bass::Sub => midi_hz(root - 12.0),
                    _ => midi_hz(root),
                };
                for i in 0..len {
                    let t = i as f32 / sr;
                    let env = (t / 0.005).min(1.0) * (-t * 4.0).exp();
                    let v = match l.bass {
                        Bass::Sub => (two_pi * f * t).sin(),
                        _ => (1..=5).map(|h| (two_pi * f * h as f32 * t).sin() / h as f32).sum::<f32>() * 0.7,
                    };
                    out[bs + i] += 0.4 * l.gain * env * v;
                }
            }
            if l.hats {
                let steps = if l.sixteenths { 4 } else { 2 };
                for e in 0..steps {
                    let hs = s + (e as f32 * beat / steps as f32 * sr) as usize;
                    if hs >= n {
                        break;
                    }
                    let open = !l.sixteenths && e == 1;
                    let decay = if open { 18.0 } else { 70.0 };
                    let len = ((if open { 0.2 } else { 0.05 } * sr) as usize).min(n - hs);
                    let mut prev = 0.0;
                    for i in 0..len {
                        let t = i as f32 / sr;
                        let w = noise.next();
                        out[hs + i] += 0.12 * l.gain * (w - prev) * (-t * decay).exp();
                        prev = w;
                    }
                }
            }
        }
    }
    let peak = out.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
    if peak > 0.98 {
        let g = 0.98 / peak;
        out.iter_mut().for_each(|x| *x *= g);
    }
    out
}
