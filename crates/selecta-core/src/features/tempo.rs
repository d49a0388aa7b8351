//! Tempo (BPM) estimation from an onset-strength envelope.
//!
//! Method: spectral-flux onset envelope → autocorrelation → for each candidate tempo a comb
//! score (ACF at whole beat multiples) minus the ACF half-way between beats, so that a tempo
//! whose off-beats are as strong as its beats (i.e. half the true tempo) loses; a broad
//! log-normal prior around 120 BPM settles what the signal leaves open; a final search over
//! eight beat multiples refines the value to a fraction of a percent. Written here because no
//! maintained pure-Rust crate estimates tempo (aubio and essentia are C/C++ and not wasm-ready).

use rustfft::{FftPlanner, num_complex::Complex};

use super::spectrum::Stft;

/// Result of tempo estimation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TempoEstimate {
    /// Beats per minute.
    pub bpm: f32,
    /// 0 (no periodicity) to 1 (clear, steady pulse).
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
const OFFBEAT_RATIO_FOR_DOUBLE: f32 = 0.18;

/// Onset-strength envelope of a mono signal at [`ONSET_SAMPLE_RATE`], and its frame rate.
pub fn onset_envelope(signal: &[f32]) -> (Vec<f32>, f32) {
    let stft = Stft::new(ONSET_N_FFT, ONSET_HOP);
    let bin_hz = ONSET_SAMPLE_RATE as f32 / ONSET_N_FFT as f32;
    let lo = (30.0 / bin_hz).ceil() as usize;
    let hi = ((5000.0 / bin_hz) as usize).min(stft.bins() - 1);
    let mut prev: Vec<f32> = vec![0.0; stft.bins()];
    let mut env = Vec::with_capacity(signal.len() / ONSET_HOP + 1);
    stft.for_each_frame(signal, |t, mags| {
        let mut flux = 0.0f32;
        for k in lo..=hi {
            let v = (1.0 + 1000.0 * mags[k]).ln();
            if t > 0 {
                flux += (v - prev[k]).max(0.0);
            }
            prev[k] = v;
        }
        env.push(flux);
    });
    let fps = ONSET_SAMPLE_RATE as f32 / ONSET_HOP as f32;
    // Remove the slowly varying part (loudness changes) so the ACF sees pulses, not level.
    let half = (fps * 0.5) as usize;
    let detrended = subtract_moving_average(&env, half);
    (detrended, fps)
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

/// Estimate the tempo of an onset envelope sampled at `fps` frames per second.
///
/// 1. The periodicity with the strongest comb score (ACF at 1–4 beat multiples) in the range
///    picks the tempo family. 2. Among its octave variants in range, start at the slowest and
///    move to the double tempo while the midpoints between beats are nearly as strong as the
///    beats themselves (then the listener's pulse is the faster one).
pub fn estimate_tempo(envelope: &[f32], fps: f32, range: TempoRange) -> Option<TempoEstimate> {
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
    // Metrical level: slowest octave variant in range, doubled while its off-beats are strong.
    let mut level = best.0;
    while level / 2.0 >= range.min_bpm {
        level /= 2.0;
    }
    while level * 2.0 <= range.max_bpm && offbeat_ratio(envelope, fps, level) > OFFBEAT_RATIO_FOR_DOUBLE {
        level *= 2.0;
    }
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
    Some(TempoEstimate { bpm: refined, confidence })
}

/// Debug helper: off-beat ratio at a tempo.
#[doc(hidden)]
pub fn debug_offbeat(envelope: &[f32], fps: f32, bpm: f32) -> f32 {
    offbeat_ratio(envelope, fps, bpm)
}
