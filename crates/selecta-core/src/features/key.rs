//! Harmonic pitch-class profile (HPCP) and musical key.
//!
//! HPCP after Gómez (2006): spectral peaks between 50 Hz and 5 kHz, each credited to the pitch
//! classes of which it could be the 1st–4th harmonic (weights 1, 0.6, 0.36, 0.22), with a
//! cosine-squared window around the nearest semitone. Key: correlation of the track's HPCP with
//! the 24 rotations of the Krumhansl–Kessler major and minor profiles. Also the key notations a
//! DJ reads: name ("A minor"), Camelot ("8A") and Open Key ("1m").

use serde::{Deserialize, Serialize};

use super::fast_ln::ln_fast;
use super::lane_sum::larger;
use super::spectrum::Stft;

/// Sample rate the HPCP is computed at.
pub const CHROMA_SAMPLE_RATE: u32 = 11_025;
const N_FFT: usize = 4096;
const HOP: usize = 2048;
const HARMONIC_WEIGHTS: [f32; 4] = [1.0, 0.6, 0.36, 0.22];
/// How far each harmonic lies above its fundamental: 12·log₂ h semitones.
const HARMONIC_SEMITONES: [f32; 4] = [0.0, 12.0, 19.019_55, 24.0];
/// ln 440: the reference A.
const LN_REFERENCE_HZ: f32 = 6.086_775;
/// Semitones per unit of natural logarithm: 12 / ln 2.
const SEMITONES_PER_LN: f32 = 17.312_34;

const MAJOR_PROFILE: [f32; 12] = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
const MINOR_PROFILE: [f32; 12] = [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];

const MAJOR_NAMES: [&str; 12] = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
const MINOR_NAMES: [&str; 12] = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"];

/// Major or minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Major (Ionian).
    Major,
    /// Natural/harmonic minor.
    Minor,
}

/// A key: tonic pitch class (0 = C … 11 = B) and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Key {
    /// Pitch class of the tonic, 0 = C.
    pub tonic: u8,
    /// Major or minor.
    pub mode: Mode,
}

impl Key {
    /// Human name, e.g. `"A minor"`, `"Eb major"`.
    pub fn name(&self) -> String {
        let t = usize::from(self.tonic % 12);
        match self.mode {
            Mode::Major => format!("{} major", MAJOR_NAMES[t]),
            Mode::Minor => format!("{} minor", MINOR_NAMES[t]),
        }
    }

    /// Camelot wheel number 1–12 (8 = C major / A minor).
    pub fn camelot_number(&self) -> u8 {
        let major_pc = match self.mode {
            Mode::Major => self.tonic % 12,
            Mode::Minor => (self.tonic + 3) % 12,
        };
        (major_pc * 7 % 12 + 7) % 12 + 1
    }

    /// Camelot code, e.g. `"8A"` for A minor, `"8B"` for C major.
    pub fn camelot(&self) -> String {
        let letter = if self.mode == Mode::Minor { 'A' } else { 'B' };
        format!("{}{}", self.camelot_number(), letter)
    }

    /// Open Key code, e.g. `"1m"` for A minor, `"1d"` for C major.
    pub fn open_key(&self) -> String {
        let n = (self.camelot_number() + 4) % 12 + 1;
        let suffix = if self.mode == Mode::Minor { 'm' } else { 'd' };
        format!("{n}{suffix}")
    }

    /// Parse a name as produced by [`Key::name`] (sharps or flats accepted).
    pub fn parse(name: &str) -> Option<Key> {
        let mut parts = name.split_whitespace();
        let note = parts.next()?;
        let mode = match parts.next()?.to_ascii_lowercase().as_str() {
            "major" | "maj" => Mode::Major,
            "minor" | "min" => Mode::Minor,
            _ => return None,
        };
        let mut chars = note.chars();
        let base: i32 = match chars.next()?.to_ascii_uppercase() {
            'C' => 0,
            'D' => 2,
            'E' => 4,
            'F' => 5,
            'G' => 7,
            'A' => 9,
            'B' => 11,
            _ => return None,
        };
        let accidental: i32 = chars
            .map(|c| match c {
                '#' | '♯' => 1,
                'b' | '♭' => -1,
                _ => 0,
            })
            .sum();
        Some(Key { tonic: (base + accidental).rem_euclid(12) as u8, mode })
    }

    /// Parse a Camelot code (`"8A"` = A minor, `"8B"` = C major; case and spaces ignored).
    pub fn from_camelot(code: &str) -> Option<Key> {
        let code = code.trim();
        let (number, letter) = code.split_at(code.len().checked_sub(1)?);
        let number: u8 = number.trim().parse().ok().filter(|n| (1..=12).contains(n))?;
        let mode = match letter.to_ascii_uppercase().as_str() {
            "A" => Mode::Minor,
            "B" => Mode::Major,
            _ => return None,
        };
        // Camelot n (major) is the major key (n - 8) * 7 fifths from C; its relative minor is 3
        // semitones below.
        let major_pc = ((i32::from(number) - 8) * 7).rem_euclid(12);
        let tonic = if mode == Mode::Major { major_pc } else { (major_pc + 9) % 12 };
        Some(Key { tonic: tonic as u8, mode })
    }

    /// The keys a DJ mixes into without a clash, on the Camelot wheel: the same key, one step
    /// either way (a fifth up or down), and the relative major/minor.
    pub fn compatible(&self) -> [Key; 4] {
        let step =
            |fifths: i32| Key { tonic: ((i32::from(self.tonic) + 7 * fifths).rem_euclid(12)) as u8, mode: self.mode };
        let relative = match self.mode {
            Mode::Major => Key { tonic: (self.tonic + 9) % 12, mode: Mode::Minor },
            Mode::Minor => Key { tonic: (self.tonic + 3) % 12, mode: Mode::Major },
        };
        [*self, step(-1), step(1), relative]
    }

    /// Whether two keys mix without a clash ([`Key::compatible`]).
    pub fn is_compatible_with(&self, other: &Key) -> bool {
        self.compatible().contains(other)
    }
}

/// The Camelot codes compatible with `code` ([`Key::compatible`]), or `None` when `code` is not a
/// Camelot code.
pub fn compatible_camelot(code: &str) -> Option<Vec<String>> {
    Some(Key::from_camelot(code)?.compatible().iter().map(Key::camelot).collect())
}

/// Key with its strength (correlation of the HPCP with the key profile, 0–1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeyEstimate {
    /// The most likely key.
    pub key: Key,
    /// Correlation with the winning profile, clamped to 0–1; low values mean an unclear key.
    pub strength: f32,
}

/// Track-level 12-bin HPCP (index 0 = C), normalised to a maximum of 1. `None` for silence.
pub fn hpcp(signal: &[f32]) -> Option<[f32; 12]> {
    crate::simd::with_x86_v3(
        #[inline(always)]
        || hpcp_in(signal),
    )
}

#[inline(always)]
fn hpcp_in(signal: &[f32]) -> Option<[f32; 12]> {
    let stft = Stft::new(N_FFT, HOP);
    let bin_hz = CHROMA_SAMPLE_RATE as f32 / N_FFT as f32;
    let lo = (50.0 / bin_hz) as usize;
    let hi = ((5000.0 / bin_hz) as usize).min(stft.bins() - 2);
    let mut total = [0.0f64; 12];
    let mut frame_pcp = [0.0f32; 12];
    let mut peaks = Peaks::default();
    stft.for_each_frame(
        signal,
        #[inline(always)]
        |_, mags| {
            let frame_max = mags[lo..=hi].iter().copied().fold(0.0f32, larger);
            if frame_max < 1e-4 {
                return;
            }
            peaks.find(mags, lo.max(1)..=hi, frame_max * 0.01, bin_hz);
            frame_pcp = [0.0; 12];
            // Each peak credits the pitch classes of which it could be a harmonic, in peak order.
            peaks.credit();
            for i in 0..peaks.magnitude.len() {
                for (pc, value) in peaks.pitch_class.iter().zip(&peaks.credit) {
                    frame_pcp[pc[i] as usize] += value[i];
                }
            }
            let fmax = frame_pcp.iter().copied().fold(0.0f32, f32::max);
            if fmax > 0.0 {
                for (t, v) in total.iter_mut().zip(frame_pcp) {
                    *t += f64::from(v / fmax);
                }
            }
        },
    );
    let max = total.iter().copied().fold(0.0f64, f64::max);
    if max <= 0.0 {
        return None;
    }
    let mut out = [0.0f32; 12];
    for (o, t) in out.iter_mut().zip(total) {
        *o = (t / max) as f32;
    }
    Some(out)
}

/// One frame's spectral peaks, worked on in passes over arrays (the log magnitudes, the
/// frequencies, each harmonic's credit) that the compiler vectorises; a loop doing all of it
/// peak by peak stayed scalar, and a dense frame has hundreds of peaks. The buffers live across
/// frames.
#[derive(Debug, Default)]
struct Peaks {
    bin: Vec<usize>,
    magnitude: Vec<f32>,
    /// Log magnitudes of the searched bins and one either side, in bin order: one contiguous
    /// pass, where looking up three bins around each peak was a scattered read per value.
    log: Vec<f32>,
    /// Frequency (Hz) and semitones above C of each peak.
    freq: Vec<f32>,
    semis: Vec<f32>,
    /// Per harmonic: the pitch class each peak credits, and how much.
    pitch_class: [Vec<u8>; 4],
    credit: [Vec<f32>; 4],
}

impl Peaks {
    /// Local maxima of `mags` in `bins` at or above `floor`, with their frequencies refined by
    /// a parabola through the log magnitudes.
    #[inline(always)]
    fn find(&mut self, mags: &[f32], bins: std::ops::RangeInclusive<usize>, floor: f32, bin_hz: f32) {
        let (first, last) = (*bins.start(), *bins.end());
        self.log.clear();
        self.log.extend(mags[first - 1..=last + 1].iter().map(|&m| ln_fast(larger(m, 1e-9))));
        // A branch-free compaction: every bin is written, and the count moves on past the
        // peaks only (whether a bin is a peak is a coin toss the branch predictor loses).
        self.bin.clear();
        self.bin.resize(last + 2 - first, 0);
        let mut found = 0;
        for (k, w) in mags[first - 1..=last + 1].windows(3).enumerate() {
            self.bin[found] = first + k;
            found += usize::from((w[1] >= floor) & (w[1] > w[0]) & (w[1] >= w[2]));
        }
        self.bin.truncate(found);
        self.magnitude.clear();
        self.magnitude.extend(self.bin.iter().map(|&k| mags[k]));
        self.freq.clear();
        let log = &self.log;
        self.freq.extend(self.bin.iter().map(|&k| {
            // `log[k - first]` is bin k − 1.
            let (a, b, c) = (log[k - first], log[k + 1 - first], log[k + 2 - first]);
            let denom = a - 2.0 * b + c;
            let offset = if denom.abs() > 1e-9 { 0.5 * (a - c) / denom } else { 0.0 };
            (k as f32 + offset.clamp(-0.5, 0.5)) * bin_hz
        }));
        self.semis.clear();
        self.semis.extend(self.freq.iter().map(|&f| SEMITONES_PER_LN * (ln_fast(f) - LN_REFERENCE_HZ) + 9.0));
    }

    /// For each harmonic h: the pitch class each peak credits as its fundamental, and how much
    /// (0 when the fundamental would lie below 40 Hz). A harmonic's fundamental lies 12·log₂ h
    /// semitones below the peak, credited with a cosine-squared window around the nearest
    /// semitone.
    #[inline(always)]
    fn credit(&mut self) {
        for h in 0..HARMONIC_WEIGHTS.len() {
            let (weight, below, lowest) = (HARMONIC_WEIGHTS[h], HARMONIC_SEMITONES[h], 40.0 * (h + 1) as f32);
            let (pitch_class, credit) = (&mut self.pitch_class[h], &mut self.credit[h]);
            pitch_class.clear();
            credit.clear();
            for ((&s, &f), &m) in self.semis.iter().zip(&self.freq).zip(&self.magnitude) {
                let n = nearest_semitone(s - below);
                pitch_class.push(n.rem_euclid(12) as u8);
                credit.push(if f < lowest { 0.0 } else { weight * cos_squared_pi(s - below - n as f32) * m });
            }
        }
    }
}

/// The semitone nearest to `semis` (−64 < semis < 64), ties rounded up. A float-to-int
/// conversion instead of `round`, which is a libm call on the baseline x86-64 target and was a
/// tenth of the HPCP's time.
#[inline(always)]
fn nearest_semitone(semis: f32) -> i32 {
    (semis + 64.5) as i32 - 64
}

/// cos²(π·d) for |d| ≤ ½: cos(π·d) by its Taylor series in d² to the d¹² term (error < 1e-8 on
/// that range), squared. Plain arithmetic instead of libm's `cos`, one call per harmonic of each
/// spectral peak; it gives the same value on every target.
#[inline(always)]
fn cos_squared_pi(d: f32) -> f32 {
    const C: [f32; 7] = [1.0, -4.934_802, 4.058_712, -1.335_262_8, 0.235_330_63, -0.025_806_89, 0.001_929_574_3];
    let x = d * d;
    let c = C[0] + x * (C[1] + x * (C[2] + x * (C[3] + x * (C[4] + x * (C[5] + x * C[6])))));
    c * c
}

fn pearson(a: &[f32; 12], b: &[f32; 12]) -> f32 {
    let ma = a.iter().sum::<f32>() / 12.0;
    let mb = b.iter().sum::<f32>() / 12.0;
    let (mut num, mut da, mut db) = (0.0f32, 0.0f32, 0.0f32);
    for i in 0..12 {
        num += (a[i] - ma) * (b[i] - mb);
        da += (a[i] - ma).powi(2);
        db += (b[i] - mb).powi(2);
    }
    if da <= 0.0 || db <= 0.0 { 0.0 } else { num / (da * db).sqrt() }
}

/// The key whose profile best matches `hpcp`.
pub fn estimate_key(hpcp: &[f32; 12]) -> KeyEstimate {
    let mut best = KeyEstimate { key: Key { tonic: 0, mode: Mode::Major }, strength: f32::MIN };
    for tonic in 0..12u8 {
        let mut rotated = [0.0f32; 12];
        for (i, r) in rotated.iter_mut().enumerate() {
            *r = hpcp[(i + usize::from(tonic)) % 12];
        }
        for (mode, profile) in [(Mode::Major, &MAJOR_PROFILE), (Mode::Minor, &MINOR_PROFILE)] {
            let r = pearson(&rotated, profile);
            if r > best.strength {
                best = KeyEstimate { key: Key { tonic, mode }, strength: r };
            }
        }
    }
    best.strength = best.strength.clamp(0.0, 1.0);
    best
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_branch_free_peak_search_finds_what_a_plain_one_finds() {
        let mut state = 7u64;
        let mags: Vec<f32> = (0..600)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                // Few distinct values: plateaus and ties at the edges of the range are common.
                (state >> 61) as f32 * 0.25
            })
            .collect();
        for (first, last, floor) in [(1, 598, 0.0), (5, 400, 0.5), (10, 10, 0.0), (3, 4, 1.0)] {
            let mut peaks = super::Peaks::default();
            peaks.find(&mags, first..=last, floor, 2.7);
            let plain: Vec<usize> = (first..=last)
                .filter(|&k| mags[k] >= floor && mags[k] > mags[k - 1] && mags[k] >= mags[k + 1])
                .collect();
            assert_eq!(peaks.bin, plain, "bins {first}..={last}, floor {floor}");
            assert_eq!(peaks.magnitude, plain.iter().map(|&k| mags[k]).collect::<Vec<_>>());
        }
    }

    #[test]
    fn camelot_codes_round_trip_and_neighbours_follow_the_wheel() {
        for tonic in 0..12 {
            for mode in [Mode::Major, Mode::Minor] {
                let key = Key { tonic, mode };
                assert_eq!(Key::from_camelot(&key.camelot()), Some(key), "{}", key.name());
            }
        }
        // Written out from the Camelot wheel: 8A is A minor; its neighbours 7A (D minor) and
        // 9A (E minor), and its relative 8B (C major).
        assert_eq!(Key::from_camelot("8a").map(|k| k.name()), Some("A minor".into()));
        assert_eq!(compatible_camelot("8A"), Some(vec!["8A".into(), "7A".into(), "9A".into(), "8B".into()]));
        assert_eq!(compatible_camelot("12B"), Some(vec!["12B".into(), "11B".into(), "1B".into(), "12A".into()]));
        assert_eq!(compatible_camelot("1A"), Some(vec!["1A".into(), "12A".into(), "2A".into(), "1B".into()]));
        for bad in ["", "A", "13A", "0B", "8C", "x8A"] {
            assert_eq!(compatible_camelot(bad), None, "{bad:?}");
        }
    }

    use super::*;

    #[test]
    fn the_semitone_window_and_rounding_agree_with_the_library_functions() {
        for i in -5000..=5000 {
            let d = i as f32 / 10_000.0;
            let exact = (std::f32::consts::PI * d).cos().powi(2);
            assert!((cos_squared_pi(d) - exact).abs() < 1e-6, "d {d}: {} vs {exact}", cos_squared_pi(d));
        }
        for i in -6400..6400 {
            let semis = i as f32 / 100.0 + 0.003;
            assert_eq!(nearest_semitone(semis), semis.round() as i32, "{semis}");
        }
        assert!((HARMONIC_SEMITONES[2] - 12.0 * 3f32.log2()).abs() < 1e-5);
        assert!((LN_REFERENCE_HZ - 440f32.ln()).abs() < 1e-6);
        assert!((SEMITONES_PER_LN - 12.0 / std::f32::consts::LN_2).abs() < 1e-5);
    }

    #[test]
    fn notations() {
        let a_minor = Key { tonic: 9, mode: Mode::Minor };
        assert_eq!(a_minor.name(), "A minor");
        assert_eq!(a_minor.camelot(), "8A");
        assert_eq!(a_minor.open_key(), "1m");
        let c_major = Key { tonic: 0, mode: Mode::Major };
        assert_eq!(c_major.camelot(), "8B");
        assert_eq!(c_major.open_key(), "1d");
        let cs_major = Key { tonic: 1, mode: Mode::Major };
        assert_eq!(cs_major.camelot(), "3B");
        let f_minor = Key { tonic: 5, mode: Mode::Minor };
        assert_eq!(f_minor.camelot(), "4A");
        assert_eq!(f_minor.open_key(), "9m");
        let b_major = Key { tonic: 11, mode: Mode::Major };
        assert_eq!(b_major.camelot(), "1B");
        assert_eq!(b_major.open_key(), "6d");
    }

    #[test]
    fn parse_round_trip() {
        for tonic in 0..12 {
            for mode in [Mode::Major, Mode::Minor] {
                let k = Key { tonic, mode };
                assert_eq!(Key::parse(&k.name()), Some(k));
            }
        }
        assert_eq!(Key::parse("A# major"), Some(Key { tonic: 10, mode: Mode::Major }));
        assert_eq!(Key::parse("nonsense"), None);
    }

    /// Pitch-class counts of a cadence spelled by hand in `key` (not taken from the profiles):
    /// I–IV–V–I in major, i–iv–V–i in minor (the dominant with its raised leading tone).
    fn cadence(key: Key) -> [f32; 12] {
        let third = if key.mode == Mode::Major { 4 } else { 3 };
        let chords = [[0, third, 7], [5, 5 + third, 12], [7, 11, 14], [0, third, 7]];
        let mut h = [0.0f32; 12];
        for note in chords.iter().flatten() {
            h[(note + usize::from(key.tonic)) % 12] += 1.0;
        }
        h
    }

    #[test]
    fn every_key_is_recognised_from_a_cadence_in_it() {
        for tonic in 0..12u8 {
            for mode in [Mode::Major, Mode::Minor] {
                let key = Key { tonic, mode };
                let found = estimate_key(&cadence(key));
                assert_eq!(found.key, key, "{}: found {}", key.name(), found.key.name());
                assert!(found.strength > 0.7, "{}: strength {}", key.name(), found.strength);
            }
        }
    }
}
