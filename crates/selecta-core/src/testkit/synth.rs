//! Synthesised music with a known tempo and key, for tests and benchmarks: a drum pattern
//! ([`DrumPattern`]: the rock beat, the pop/house beat with a kick on every beat, half-time and
//! drum & bass two-step in four, the waltz in three, 6/8 in two compound beats), closed hi-hats on quarter, eighth or sixteenth notes with optional
//! swing, over a I–IV–V–I (major) or i–iv–V–i (minor) cadence with a bass line, plus a WAV
//! writer. Deterministic for a given seed; no audio files needed.

use crate::features::{Key, Mode};

/// What to render.
#[derive(Debug, Clone, Copy)]
pub struct SynthSpec {
    /// Tempo in BPM (quarter notes).
    pub bpm: f32,
    /// Key of the cadence.
    pub key: Key,
    /// Length in seconds.
    pub seconds: f32,
    /// Output sample rate.
    pub sample_rate: u32,
    /// Seed of the noise generator (drums).
    pub seed: u64,
    /// Where kick and snare fall.
    pub drums: DrumPattern,
    /// How often the closed hi-hat strikes.
    pub hats: HatRate,
    /// Swing: how far the off-beat subdivisions are pushed towards the next one, as a share of
    /// a subdivision (0 straight, 1/3 a triplet shuffle).
    pub swing: f32,
}

/// Where kick and snare fall in a bar (of four beats, or three for [`DrumPattern::Waltz`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrumPattern {
    /// Kick on 1 and 3, snare on 2 and 4.
    Rock,
    /// Kick on every beat, snare on 2 and 4: pop, house, disco, most of what is danced to.
    FourOnTheFloor,
    /// Kick on 1, snare on 3 (dubstep, trap, half-time rock): the backbeat at half the tempo.
    HalfTime,
    /// Drum & bass two-step: kick on 1 and the "and" of 3, snare on 2 and 4.
    TwoStep,
    /// Three beats to the bar: kick on 1, snare on 2 and 3 ("oom-pah-pah"); the bass and the
    /// chords follow the three-beat bar.
    Waltz,
    /// 6/8: two dotted-quarter beats to the bar, each of three eighth notes (ballads, blues in
    /// 12/8, jigs). The tempo is the dotted quarter's; kick on 1, snare on 2; eighth and
    /// sixteenth hats both strike every eighth note.
    SixEight,
}

impl DrumPattern {
    /// Beats in one bar of the pattern.
    pub fn beats_per_bar(self) -> usize {
        match self {
            Self::Waltz => 3,
            Self::SixEight => 2,
            _ => 4,
        }
    }

    /// Steps of the drum grid in one beat: sixteenth notes, or eighth notes of a compound beat.
    fn steps_per_beat(self) -> usize {
        if self == Self::SixEight { 3 } else { 4 }
    }
}

/// Closed hi-hat rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HatRate {
    /// On the beats.
    Quarter,
    /// Two per beat.
    Eighth,
    /// Four per beat.
    Sixteenth,
}

impl SynthSpec {
    /// A 30-second track at 44.1 kHz.
    pub fn new(bpm: f32, key: Key) -> Self {
        Self {
            bpm,
            key,
            seconds: 30.0,
            sample_rate: 44_100,
            seed: 7,
            drums: DrumPattern::Rock,
            hats: HatRate::Quarter,
            swing: 0.0,
        }
    }

    /// A track of `seconds` at 22.05 kHz whose drums use noise `seed` (distinct tracks for a
    /// test library).
    pub fn library_track(bpm: f32, key: Key, seconds: f32, seed: u64) -> Self {
        Self { seconds, sample_rate: 22_050, seed, ..Self::new(bpm, key) }
    }
}

pub(crate) struct Noise(pub(crate) u64);

impl Noise {
    pub(crate) fn next(&mut self) -> f32 {
        // xorshift64*: deterministic everywhere, no dependency.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (v >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

pub(crate) fn midi_hz(note: f32) -> f32 {
    440.0 * 2f32.powf((note - 69.0) / 12.0)
}

/// Render a mono track in `[-1, 1]`.
pub fn render(spec: &SynthSpec) -> Vec<f32> {
    let sr = spec.sample_rate as f32;
    let n = (spec.seconds * sr) as usize;
    let mut out = vec![0.0f32; n];
    let beat = 60.0 / spec.bpm;
    let beats_per_bar = spec.drums.beats_per_bar();
    let bar = beat * beats_per_bar as f32;
    let tonic = f32::from(spec.key.tonic);
    // Chord roots in semitones above the tonic, and the chord's third (major/minor).
    let progression: [(f32, f32); 4] = match spec.key.mode {
        Mode::Major => [(0.0, 4.0), (5.0, 4.0), (7.0, 4.0), (0.0, 4.0)],
        Mode::Minor => [(0.0, 3.0), (5.0, 3.0), (7.0, 4.0), (0.0, 3.0)],
    };
    let two_pi = 2.0 * std::f32::consts::PI;
    // Harmony: one chord per bar, pad voices with a few harmonics, re-struck on each bar.
    let bars = (spec.seconds / bar).ceil() as usize;
    for b in 0..bars {
        let (root, third) = progression[b % 4];
        let start = (b as f32 * bar * sr) as usize;
        let end = (((b + 1) as f32 * bar * sr) as usize).min(n);
        let chord = [60.0 + tonic + root, 60.0 + tonic + root + third, 60.0 + tonic + root + 7.0];
        for (i, sample) in out[start.min(n)..end].iter_mut().enumerate() {
            let t = i as f32 / sr;
            let env = (t / 0.02).min(1.0) * (-t / (bar * 1.5)).exp();
            let mut v = 0.0;
            for &note in &chord {
                let f = midi_hz(note);
                for h in 1..=4 {
                    v += (two_pi * f * h as f32 * t).sin() / (h * h) as f32;
                }
            }
            *sample += 0.06 * env * v;
        }
        // Bass: chord root two octaves down, on every beat.
        for q in 0..beats_per_bar {
            let s = ((b as f32 * bar + q as f32 * beat) * sr) as usize;
            let e = (s + (beat * 0.9 * sr) as usize).min(n);
            let f = midi_hz(36.0 + tonic + root);
            for (i, sample) in out[s.min(n)..e].iter_mut().enumerate() {
                let t = i as f32 / sr;
                let env = (t / 0.005).min(1.0) * (-t * 3.0).exp();
                *sample += 0.18 * env * ((two_pi * f * t).sin() + 0.3 * (two_pi * 2.0 * f * t).sin());
            }
        }
    }
    // Drums on a sixteenth-note grid (step 0 of the bar's 16, or 12 in three, is beat 1), or an
    // eighth-note grid of compound beats.
    let mut noise = Noise(spec.seed.max(1));
    let steps_per_beat = spec.drums.steps_per_beat();
    let sixteenth = beat / steps_per_beat as f32;
    let steps = (spec.seconds / sixteenth).ceil() as usize;
    let hat_every = match (spec.hats, steps_per_beat) {
        (HatRate::Quarter, n) => n,
        (_, 3) => 1,
        (HatRate::Eighth, _) => 2,
        (HatRate::Sixteenth, _) => 1,
    };
    for step in 0..steps {
        let in_bar = step % (steps_per_beat * beats_per_bar);
        // Swing delays the off-beat subdivision of the hat rate (the "and" of eighth-note swing,
        // the "e" and "a" of sixteenth-note swing).
        let swung = hat_every < steps_per_beat && steps_per_beat == 4 && (step / hat_every) % 2 == 1;
        let at = step as f32 * sixteenth + if swung { spec.swing * hat_every as f32 * sixteenth } else { 0.0 };
        let s = (at * sr) as usize;
        if s >= n {
            break;
        }
        let (kick, snare) = match spec.drums {
            DrumPattern::Rock => (in_bar == 0 || in_bar == 8, in_bar == 4 || in_bar == 12),
            DrumPattern::FourOnTheFloor => (in_bar.is_multiple_of(4), in_bar == 4 || in_bar == 12),
            DrumPattern::HalfTime => (in_bar == 0, in_bar == 8),
            DrumPattern::TwoStep => (in_bar == 0 || in_bar == 10, in_bar == 4 || in_bar == 12),
            DrumPattern::Waltz => (in_bar == 0, in_bar == 4 || in_bar == 8),
            DrumPattern::SixEight => (in_bar == 0, in_bar == 3),
        };
        if kick {
            let len = ((0.25 * sr) as usize).min(n - s);
            let mut phase = 0.0f32;
            for i in 0..len {
                let t = i as f32 / sr;
                let f = 50.0 + 100.0 * (-t * 30.0).exp();
                phase += two_pi * f / sr;
                out[s + i] += 0.7 * (-t * 12.0).exp() * phase.sin();
            }
        }
        if snare {
            let len = ((0.18 * sr) as usize).min(n - s);
            for i in 0..len {
                let t = i as f32 / sr;
                let body = (two_pi * 190.0 * t).sin() * (-t * 25.0).exp();
                out[s + i] += 0.6 * (noise.next() * (-t * 18.0).exp() + body);
            }
        }
        if step % hat_every != 0 {
            continue;
        }
        // Off-beat hats a little softer than those on the beat, as drummers play them.
        let gain = if step % steps_per_beat == 0 { 0.08 } else { 0.06 };
        let len = ((0.04 * sr) as usize).min(n - s);
        let mut prev = 0.0f32;
        for i in 0..len {
            let t = i as f32 / sr;
            let w = noise.next();
            // First difference: a crude high-pass that leaves the hats bright.
            out[s + i] += gain * (w - prev) * (-t * 90.0).exp();
            prev = w;
        }
    }
    let peak = out.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
    if peak > 0.95 {
        let g = 0.95 / peak;
        out.iter_mut().for_each(|x| *x *= g);
    }
    out
}

/// Append a chunk to RIFF file bytes, padded to an even length, and update the RIFF size.
pub fn push_riff_chunk(riff: &mut Vec<u8>, id: &[u8; 4], payload: &[u8]) {
    riff.extend_from_slice(id);
    riff.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    riff.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        riff.push(0);
    }
    let size = (riff.len() - 8) as u32;
    riff[4..8].copy_from_slice(&size.to_le_bytes());
}

/// An ID3v2.3 tag of text frames, each in UTF-16 with a byte-order mark, as rekordbox and
/// Mp3tag write them.
pub fn id3v23_text_tag(frames: &[(&[u8; 4], &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (id, text) in frames {
        let mut value = vec![1u8, 0xff, 0xfe];
        value.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        value.extend_from_slice(&[0, 0]);
        body.extend_from_slice(*id);
        body.extend_from_slice(&(value.len() as u32).to_be_bytes());
        body.extend_from_slice(&[0, 0]);
        body.extend(value);
    }
    let n = body.len() as u32;
    let mut tag = b"ID3\x03\x00\x00".to_vec();
    tag.extend([21, 14, 7, 0].map(|shift| ((n >> shift) & 0x7f) as u8));
    tag.extend(body);
    tag
}

/// 16-bit PCM WAV file bytes of interleaved samples.
pub fn wav_bytes(interleaved: &[f32], sample_rate: u32, channels: u16) -> Vec<u8> {
    let data_len = (interleaved.len() * 2) as u32;
    let mut b = Vec::with_capacity(44 + data_len as usize);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&sample_rate.to_le_bytes());
    b.extend_from_slice(&(sample_rate * u32::from(channels) * 2).to_le_bytes());
    b.extend_from_slice(&(channels * 2).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for &s in interleaved {
        b.extend_from_slice(&crate::hash::f32_to_i16(s).to_le_bytes());
    }
    b
}
