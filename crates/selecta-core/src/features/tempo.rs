//! Tempo (BPM) estimation from an onset-strength envelope.
//!
//! Method: spectral-flux onset envelopes (the full band, and an accent band below 1.5 kHz that
//! holds kick, snare body and bass but little of the hats) → autocorrelation → for each
//! candidate tempo a comb score (ACF at whole beat multiples) minus the ACF half-way between
//! beats; a broad log-normal prior around 120 BPM settles what the signal leaves open. The
//! metrical level (which octave of the winning periodicity listeners tap) is read from where the
//! accents fall, not from whether anything sounds between the beats: eighth- and sixteenth-note
//! hats do not double a tempo, a half-time backbeat over a moving bass does. A final search over
//! eight beat multiples refines the value to a fraction of a percent. Written here because no
//! maintained pure-Rust crate estimates tempo (aubio and essentia are C/C++ and not wasm-ready).

use rustfft::{FftPlanner, num_complex::Complex};
use serde::{Deserialize, Serialize};

use super::fast_ln::ln_fast;
use super::lane_sum::{larger, sum_pairs_by};
use super::spectrum::Stft;

/// Result of tempo estimation.
#[derive(Debug, Clone, PartialEq)]
pub struct TempoEstimate {
    /// Beats per minute.
    pub bpm: f32,
    /// 0 (no periodicity) to 1 (clear, steady pulse).
    pub confidence: f32,
    /// The other octave levels in range (half and double the tempo), most plausible first.
    pub alternatives: Vec<BpmAlternative>,
}

/// Another metrical level of the same pulse that listeners might tap instead.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BpmAlternative {
    /// Beats per minute (half or double the estimate).
    pub bpm: f32,
    /// 0–1, on the scale of the estimate's own confidence, which it never exceeds: the
    /// estimate's confidence times how close the level rule came to choosing this level (the
    /// rule's measure over its threshold; equal to the estimate's confidence at a coin toss).
    pub confidence: f32,
}

/// Settings of the tempo search.
#[derive(Debug, Clone, Copy)]
pub struct TempoRange {
    /// Slowest tempo reported.
    pub min_bpm: f32,
    /// Fastest tempo reported.
    pub max_bpm: f32,
}

impl Default for TempoRange {
    fn default() -> Self {
        Self { min_bpm: 60.0, max_bpm: 200.0 }
    }
}

/// Sample rate the onset envelope is computed at.
pub const ONSET_SAMPLE_RATE: u32 = 11_025;
const ONSET_N_FFT: usize = 512;
pub(crate) const ONSET_HOP: usize = 64;
const PRIOR_CENTER_BPM: f32 = 120.0;
const PRIOR_WIDTH_OCTAVES: f32 = 1.5;
/// Accent-band off-beat ratio above which the next faster level is the beat.
const ACCENT_OFFBEAT_FOR_DOUBLE: f32 = 0.28;
/// Accent-band off-beat ratio above which the next faster level is the beat when the full band
/// is busy between the beats too ([`BUSY_BAND_OFFBEAT`]).
const ACCENT_OFFBEAT_WITH_BUSY_BAND: f32 = 0.2;
/// Full-band off-beat ratio of a band busy between the beats.
const BUSY_BAND_OFFBEAT: f32 = 0.2;
/// Levels slower than this with a moving accent band are half-time feels.
const HALF_TIME_BELOW_BPM: f32 = 80.0;
/// Accent-band off-beat ratio above which a slow level is a half-time feel.
const HALF_TIME_OFFBEAT: f32 = 0.2;

/// Onset-strength envelopes of a mono signal at [`ONSET_SAMPLE_RATE`].
#[derive(Debug, Clone)]
pub struct Onsets {
    /// Spectral flux over 30 Hz–5 kHz: every onset, hi-hats included.
    pub full: Vec<f32>,
    /// Spectral flux over 30 Hz–[`ACCENT_MAX_HZ`]: kick, snare body, bass and chords, with
    /// little of the hi-hats and cymbals (their energy sits higher), so the metrical level is
    /// read from the drums' accents rather than from how busy the hats are.
    pub accent: Vec<f32>,
    /// Frames per second of both.
    pub fps: f32,
}

/// Top of the accent band.
pub const ACCENT_MAX_HZ: f32 = 1500.0;

/// Onset-strength envelopes of a mono signal at [`ONSET_SAMPLE_RATE`] (one STFT for both).
pub fn onsets(signal: &[f32]) -> Onsets {
    crate::simd::with_x86_v3(
        #[inline(always)]
        || onsets_in(signal),
    )
}

#[inline(always)]
fn onsets_in(signal: &[f32]) -> Onsets {
    let stft = Stft::new(ONSET_N_FFT, ONSET_HOP);
    let bin_hz = ONSET_SAMPLE_RATE as f32 / ONSET_N_FFT as f32;
    let lo = (30.0 / bin_hz).ceil() as usize;
    let hi = ((5000.0 / bin_hz) as usize).min(stft.bins() - 1);
    let accent_hi = ((ACCENT_MAX_HZ / bin_hz) as usize).min(hi);
    // Log-compressed magnitudes of bins lo..=hi, this frame's and the previous one's.
    let (mut now, mut prev) = (vec![0.0f32; hi + 1 - lo], vec![0.0f32; hi + 1 - lo]);
    let accent_len = accent_hi + 1 - lo;
    let mut full = Vec::with_capacity(signal.len() / ONSET_HOP + 1);
    let mut accent = Vec::with_capacity(signal.len() / ONSET_HOP + 1);
    stft.for_each_frame(
        signal,
        #[inline(always)]
        |t, mags| {
            for (v, &m) in now.iter_mut().zip(&mags[lo..=hi]) {
                *v = ln_fast(1.0 + 1000.0 * m);
            }
            let (mut flux, mut low_flux) = (0.0f32, 0.0f32);
            if t > 0 {
                // The accent band is the full band's lower part: summed once, the rest beside it.
                let rise = |v: f32, p: f32| larger(v - p, 0.0);
                low_flux = sum_pairs_by(&now[..accent_len], &prev[..accent_len], rise);
                flux = low_flux + sum_pairs_by(&now[accent_len..], &prev[accent_len..], rise);
            }
            std::mem::swap(&mut now, &mut prev);
            full.push(flux);
            accent.push(low_flux);
        },
    );
    let fps = ONSET_SAMPLE_RATE as f32 / ONSET_HOP as f32;
    // Remove the slowly varying part (loudness changes) so the ACF sees pulses, not level.
    let half = (fps * 0.5) as usize;
    Onsets { full: subtract_moving_average(&full, half), accent: subtract_moving_average(&accent, half), fps }
}

/// The full-band onset envelope of a mono signal at [`ONSET_SAMPLE_RATE`], and its frame rate.
pub fn onset_envelope(signal: &[f32]) -> (Vec<f32>, f32) {
    let o = onsets(signal);
    (o.full, o.fps)
}

fn subtract_moving_average(x: &[f32], half: usize) -> Vec<f32> {
    let n = x.len();
    let mut prefix = vec![0.0f64; n + 1];
    for i in 0..n {
        prefix[i + 1] = prefix[i] + f64::from(x[i]);
    }
    (0..n)
        .map(|i| {
            let a = i.saturating_sub(half);
            let b = (i + half + 1).min(n);
            let mean = (prefix[b] - prefix[a]) / (b - a) as f64;
            (f64::from(x[i]) - mean).max(0.0) as f32
        })
        .collect()
}

/// Normalised autocorrelation (ACF[0] = 1) up to `max_lag`, computed with an FFT.
fn autocorrelation(x: &[f32], max_lag: usize) -> Vec<f32> {
    let n = x.len();
    let size = (2 * n).next_power_of_two();
    // Zero mean: a non-negative envelope would otherwise lift every lag by the same offset.
    let mean = x.iter().sum::<f32>() / n.max(1) as f32;
    let mut buf: Vec<Complex<f32>> = x.iter().map(|&v| Complex::new(v - mean, 0.0)).collect();
    buf.resize(size, Complex::new(0.0, 0.0));
    let mut planner = FftPlanner::new();
    planner.plan_fft_forward(size).process(&mut buf);
    for c in &mut buf {
        *c = Complex::new(c.norm_sqr(), 0.0);
    }
    planner.plan_fft_inverse(size).process(&mut buf);
    let zero = buf[0].re.max(f32::MIN_POSITIVE);
    (0..=max_lag.min(n.saturating_sub(1)))
        // Unbiased: longer lags overlap fewer frames.
        .map(|lag| buf[lag].re / zero * n as f32 / (n - lag) as f32)
        .collect()
}

fn acf_at(acf: &[f32], lag: f32) -> f32 {
    if lag < 0.0 {
        return 0.0;
    }
    let i = lag.floor() as usize;
    if i + 1 >= acf.len() {
        return 0.0;
    }
    let frac = lag - i as f32;
    acf[i] * (1.0 - frac) + acf[i + 1] * frac
}

/// Mean envelope at the midpoints between beats over the mean at the beats, for a pulse of
/// `bpm`, with the beat phase fitted every eight beats (tolerates slow drift). Near 1 when the
/// midpoints are as strong as the beats (the pulse is twice as fast); small when the beats are
/// clearly accented.
fn offbeat_ratio(envelope: &[f32], fps: f32, bpm: f32) -> f32 {
    let l = fps * 60.0 / bpm;
    let block = 8usize;
    let peak = |pos: f32| -> f32 {
        let c = pos.round() as isize;
        (c - 1..=c + 1)
            .filter_map(|i| usize::try_from(i).ok().and_then(|i| envelope.get(i)))
            .copied()
            .fold(0.0f32, f32::max)
    };
    let (mut on, mut off) = (0.0f32, 0.0f32);
    let mut start = 0.0f32;
    while start + (block as f32 + 0.5) * l < envelope.len() as f32 {
        let mut best = (0.0f32, f32::MIN);
        let mut phase = 0.0f32;
        while phase < l {
            let s: f32 = (0..block).map(|k| peak(start + phase + k as f32 * l)).sum();
            if s > best.1 {
                best = (phase, s);
            }
            phase += 1.0;
        }
        on += best.1;
        off += (0..block).map(|k| peak(start + best.0 + (k as f32 + 0.5) * l)).sum::<f32>();
        start += block as f32 * l;
    }
    if on <= 0.0 { 1.0 } else { off / on }
}

/// The metrical level a listener taps, among the octave variants of `family` in `range`, with
/// how close the rule came to the levels beside it.
///
/// Start at the slowest variant and double while the drums' accents (the accent band: kick,
/// snare, bass) fall between its beats about as often as on them ([`ACCENT_OFFBEAT_FOR_DOUBLE`]);
/// hi-hats on eighth or sixteenth notes do not count, since listeners tap the kick and snare.
/// Then the half-time feel: a level slower than [`HALF_TIME_BELOW_BPM`] whose accent band still
/// moves between its beats (bass or syncopated kicks, [`HALF_TIME_OFFBEAT`]) is a backbeat at
/// half the tempo the genre counts (dubstep and trap at 140, not 70), so it is doubled.
fn metrical_level(onsets: &Onsets, family: f32, range: TempoRange) -> Level {
    let mut level = family;
    while level / 2.0 >= range.min_bpm {
        level /= 2.0;
    }
    // The evidence of the last doubling taken (> 1), and for the next one not taken (< 1).
    let mut taken: Option<f32> = None;
    let mut refused = 0.0f32;
    while level * 2.0 <= range.max_bpm {
        let evidence = doubling_evidence(onsets, level);
        if evidence <= 1.0 {
            refused = evidence;
            break;
        }
        taken = Some(evidence);
        level *= 2.0;
    }
    if level < HALF_TIME_BELOW_BPM && level * 2.0 <= range.max_bpm {
        let half_time = offbeat_ratio(&onsets.accent, onsets.fps, level) / HALF_TIME_OFFBEAT;
        if half_time > 1.0 {
            taken = Some(half_time);
            level *= 2.0;
            refused = if level * 2.0 <= range.max_bpm { doubling_evidence(onsets, level).min(1.0) } else { 0.0 };
        } else {
            refused = refused.max(half_time);
        }
    }
    let half = (level / 2.0 >= range.min_bpm).then(|| taken.map_or(0.0, |e| 1.0 / e));
    let double = (level * 2.0 <= range.max_bpm).then_some(refused);
    Level { bpm: level, half, double }
}

/// A chosen metrical level and the plausibility (0–1, 1 = a coin toss) of half and double it,
/// where those are in range.
struct Level {
    bpm: f32,
    half: Option<f32>,
    double: Option<f32>,
}

/// How strongly the pulse twice as fast as `level` is the beat, as the larger of the rule's
/// measures over their thresholds (> 1: it is): the accent band falls between `level`'s beats
/// about as often as on them, or somewhat less often while everything else (hats, strums, the
/// whole band) clearly does too.
fn doubling_evidence(onsets: &Onsets, level: f32) -> f32 {
    let accent = offbeat_ratio(&onsets.accent, onsets.fps, level);
    let full = offbeat_ratio(&onsets.full, onsets.fps, level);
    (accent / ACCENT_OFFBEAT_FOR_DOUBLE).max((accent / ACCENT_OFFBEAT_WITH_BUSY_BAND).min(full / BUSY_BAND_OFFBEAT))
}

/// Estimate the tempo from a signal's onset envelopes.
///
/// 1. The periodicity with the strongest comb score (ACF at 1–4 beat multiples) of the full-band
///    envelope in the range picks the tempo family. 2. [`metrical_level`] picks the octave
///    variant listeners tap from the accent band. 3. A search over eight beat multiples refines it.
pub fn estimate_tempo(onsets: &Onsets, range: TempoRange) -> Option<TempoEstimate> {
    let (envelope, fps) = (&onsets.full[..], onsets.fps);
    let beats_needed = 8.0;
    let max_lag = (fps * 60.0 / range.min_bpm * beats_needed * 1.1).ceil() as usize;
    let range_ok = range.min_bpm > 0.0 && range.min_bpm <= range.max_bpm;
    if !range_ok || envelope.len() < (fps * 4.0) as usize || envelope.iter().all(|&v| v <= 0.0) {
        return None;
    }
    let acf = autocorrelation(envelope, max_lag);
    let beat_lag = |bpm: f32| fps * 60.0 / bpm;
    let comb = |bpm: f32, beats: usize| -> f32 {
        let l = beat_lag(bpm);
        (1..=beats).map(|k| acf_at(&acf, k as f32 * l)).sum::<f32>() / beats as f32
    };
    let prior = |bpm: f32| {
        let z = (bpm / PRIOR_CENTER_BPM).log2() / PRIOR_WIDTH_OCTAVES;
        (-0.5 * z * z).exp()
    };
    // Coarse search on a 0.25 BPM grid.
    let mut best = (range.min_bpm, f32::MIN);
    let mut scores = Vec::new();
    let mut bpm = range.min_bpm;
    while bpm <= range.max_bpm {
        let raw = comb(bpm, 4);
        scores.push(raw);
        let score = raw * prior(bpm);
        if score > best.1 {
            best = (bpm, score);
        }
        bpm += 0.25;
    }
    if best.1 <= 0.0 {
        return None;
    }
    let chosen = metrical_level(onsets, best.0, range);
    let level = chosen.bpm;
    // Refine within ±2 % using eight beat multiples (long lags resolve small tempo errors).
    let mut refined = level;
    let mut refined_score = f32::MIN;
    let mut b = level * 0.98;
    while b <= level * 1.02 {
        let s = comb(b, 8);
        if s > refined_score {
            refined_score = s;
            refined = b;
        }
        b += 0.01;
    }
    let peak = comb(refined, 4);
    let mut sorted = scores.clone();
    sorted.sort_by(f32::total_cmp);
    let median = sorted[sorted.len() / 2];
    let confidence = ((peak - median) / (1.0 - median).max(1e-6)).clamp(0.0, 1.0);
    let mut alternatives: Vec<BpmAlternative> = [(0.5, chosen.half), (2.0, chosen.double)]
        .into_iter()
        .filter_map(|(factor, plausibility)| {
            plausibility.map(|p| BpmAlternative { bpm: refined * factor, confidence: confidence * p.clamp(0.0, 1.0) })
        })
        .collect();
    alternatives.sort_by(|a, b| b.confidence.total_cmp(&a.confidence).then(a.bpm.total_cmp(&b.bpm)));
    Some(TempoEstimate { bpm: refined, confidence, alternatives })
}

/// Debug helper: off-beat ratio at a tempo.
#[doc(hidden)]
pub fn debug_offbeat(envelope: &[f32], fps: f32, bpm: f32) -> f32 {
    offbeat_ratio(envelope, fps, bpm)
}
