//! DJ features of one track: energy (1–10), low-end profile, onset density, brightness, vocal
//! presence, percussive ratio, the beat grid's first downbeat, and the intro and outro found from
//! the audio's structure, each with a mixability score. Computed from the mono signal at
//! [`ONSET_SAMPLE_RATE`] and the tempo module's onset envelope, in one extra STFT pass (2048
//! points, hop 512: 5.4 Hz bins resolve the 20–60 Hz sub band) with a harmonic/percussive split on
//! a compressed copy of its spectrogram, so that it adds little to the analysis time.
//!
//! Formulas (the numbers a user sees):
//! - **energy** = 1 + 9 × (0.55 × loudness + 0.30 × onset density + 0.05 × brightness + 0.10 ×
//!   percussive ratio), each term scaled to 0–1: loudness from −36 LUFS (0) to −6 LUFS (1),
//!   onset density from 0 to 8 onsets/s, brightness (spectral centroid) from 500 to 3000 Hz.
//!   Brightness weighs little: a hi-hat-only intro is bright but not energetic.
//! - **low-end profile**: the shares of the 20–5000 Hz power in 20–60 (sub), 60–250 (bass) and
//!   250–500 Hz (low-mid).
//! - **percussive ratio**: the share of the power a median-filter harmonic/percussive
//!   separation (across 0.8 s of time for the harmonic part, across 390 Hz for the percussive
//!   part, soft masks, on 43 Hz bands) gives to the percussive part.
//! - **vocal presence**: the share of sounding frames where a voice's pitch moves: the 250–1500 Hz
//!   band holds a real part of the frame's power above 250 Hz (kick and bass carry most of a
//!   club track's power and say nothing about a voice), is pitched (spectral flatness < 0.3, so
//!   not drums), and two or more of its eight strongest peaks moved by 1–5 % within 0.09 s
//!   (vibrato and glides; a held chord or a repeated bass note stays put, a new note jumps
//!   further), in two or more of the five frames around it (an attack or a chord change moves
//!   peaks for a single frame). A lead synth with vibrato counts as voice: the measure is
//!   a proxy. A melodic lead synth moves too and
//!   counts as voice: the measure is a proxy, not a singing-voice detector.
//! - **intro / outro**: bars laid from the first downbeat; the intro ends and the outro starts at
//!   the bar line where the arrangement changes most (band energies and vocal activity, four bars
//!   before against four after) within the first / last third of the track (at most 64 bars),
//!   phrase lines (every 8 bars) preferred. **Mixability** = 0.4 × steady beat (percussive
//!   share and beat accent) + 0.3 × stable loudness (bar-to-bar spread) + 0.3 × (1 − vocal).

use serde::{Deserialize, Serialize};

use super::lane_sum::{LANES, larger, smaller, sum_by};
use super::spectrum::Stft;
use super::tempo::ONSET_SAMPLE_RATE;

const N_FFT: usize = 2048;
const HOP: usize = 512;
/// Highest frequency the DJ features look at (the analysis signal is band-limited near 5.5 kHz).
const TOP_HZ: f32 = 5000.0;
/// Width of one compressed band of the harmonic/percussive split (43 Hz).
const GROUP_BINS: usize = 8;
/// Harmonic median across time: 17 frames ≈ 0.8 s (every other one is used).
const HARMONIC_KERNEL: usize = 17;
/// Percussive median across frequency: 9 compressed bands ≈ 390 Hz.
const PERCUSSIVE_KERNEL: usize = 9;
const VOCAL_LOW_HZ: f32 = 250.0;
const VOCAL_HIGH_HZ: f32 = 1500.0;
/// Peaks followed per frame.
const VOCAL_PEAKS: usize = 8;
/// Frames between the two spectra compared (≈ 0.09 s: half a vibrato cycle, where a sung
/// partial sits furthest from where it was).
const VOCAL_LAG: usize = 2;
/// Smallest relative pitch move that counts (a held note's peak stays within this).
const VOCAL_MIN_GLIDE: f32 = 0.01;
/// Largest: beyond a semitone it is another note, not the same one moving.
const VOCAL_MAX_GLIDE: f32 = 0.05;
/// Moving peaks a frame needs.
const VOCAL_MIN_MOVED_PEAKS: usize = 2;
/// Spectral flatness of the band above which the frame counts as noise (drums).
const VOCAL_MAX_FLATNESS: f32 = 0.3;
/// Share of a frame's power above 250 Hz the voice band must hold.
const VOCAL_MIN_SHARE: f32 = 0.15;
/// Bars compared on each side of a candidate section boundary.
const NOVELTY_BARS: usize = 4;
/// Longest intro or outro searched, in bars.
const MAX_SECTION_BARS: usize = 64;
/// Below this novelty (mean change of the log10 band energies) no boundary is taken, and the
/// section is the first / last 8 bars.
const MIN_NOVELTY: f32 = 0.12;
const FALLBACK_SECTION_BARS: usize = 8;

/// Energy shares of the low end (of the 20–5000 Hz power).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LowEnd {
    /// 20–60 Hz.
    pub sub: f32,
    /// 60–250 Hz.
    pub bass: f32,
    /// 250–500 Hz.
    pub low_mid: f32,
}

impl LowEnd {
    /// Sub plus bass: what clashes when two tracks play their low end together.
    pub fn low(&self) -> f32 {
        self.sub + self.bass
    }
}

/// An intro or an outro.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Section {
    /// Start, seconds.
    pub start_sec: f32,
    /// End, seconds.
    pub end_sec: f32,
    /// Length in bars of the detected tempo.
    pub bars: u32,
    /// `true` when a structure boundary was found; `false` for the 8-bar fallback.
    pub boundary: bool,
    /// 0–1: how easy it is to mix over (steady beat, stable loudness, little vocal).
    pub mixability: f32,
    /// Sub + bass share inside the section.
    pub low_share: f32,
    /// Vocal presence inside the section.
    pub vocal_presence: f32,
    /// Energy inside the section, on the track's 1–10 scale.
    pub energy: f32,
}

/// The DJ features of a track.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DjFeatures {
    /// 1 (ambient) to 10 (peak time).
    pub energy: f32,
    /// Low-end shares.
    pub low_end: LowEnd,
    /// Onsets per second.
    pub onset_density: f32,
    /// Spectral centroid, Hz.
    pub brightness_hz: f32,
    /// 0–1.
    pub vocal_presence: f32,
    /// 0–1: percussive share of the power.
    pub percussive_ratio: f32,
    /// First downbeat of the beat grid, seconds (`None` without a tempo).
    pub first_downbeat_sec: Option<f32>,
    /// The intro (`None` without a tempo or for a track shorter than 16 bars).
    pub intro: Option<Section>,
    /// The outro.
    pub outro: Option<Section>,
}

/// Per-frame measurements of the STFT pass.
struct Frames {
    /// Power in sub, bass, low-mid, mid (500–2000), high (2000–5000) per frame.
    bands: Vec<[f32; 5]>,
    /// Total 20–5000 Hz power per frame.
    total: Vec<f32>,
    /// Magnitude-weighted frequency sum and magnitude sum per frame (centroid).
    centroid: Vec<(f32, f32)>,
    /// Compressed magnitudes, `groups` per frame.
    grouped: Vec<f32>,
    groups: usize,
    /// The strongest spectral peaks of the voice band per frame (Hz, 0 = none).
    peaks: Vec<[f32; VOCAL_PEAKS]>,
    /// Spectral flatness of the voice band per frame.
    flatness: Vec<f32>,
    /// Power of the voice band per frame.
    voice_power: Vec<f32>,
}

/// What the harmonic/percussive split gives per frame.
struct Split {
    percussive: Vec<f32>,
    harmonic: Vec<f32>,
    /// 1 when the frame's harmonic mid band moves like a voice, else 0.
    vocal: Vec<f32>,
}

/// The STFT frame centred nearest to `sec`.
fn frame_at(sec: f32, frames: usize) -> usize {
    let t = (sec * ONSET_SAMPLE_RATE as f32 - (N_FFT / 2) as f32) / HOP as f32;
    (t.round().max(0.0) as usize).min(frames.saturating_sub(1))
}

/// Centre of STFT frame `t`, seconds.
fn frame_sec(t: usize) -> f32 {
    (t * HOP + N_FFT / 2) as f32 / ONSET_SAMPLE_RATE as f32
}

fn measure(signal: &[f32]) -> Frames {
    crate::simd::with_x86_v3(
        #[inline(always)]
        || measure_in(signal),
    )
}

#[inline(always)]
fn measure_in(signal: &[f32]) -> Frames {
    let stft = Stft::new(N_FFT, HOP);
    let bin_hz = ONSET_SAMPLE_RATE as f32 / N_FFT as f32;
    let bin = |hz: f32| ((hz / bin_hz).round() as usize).min(stft.bins() - 1);
    let edges = [bin(20.0), bin(60.0), bin(250.0), bin(500.0), bin(2000.0), bin(TOP_HZ)];
    let groups = (edges[5] - edges[0]) / GROUP_BINS;
    let mut f = Frames {
        bands: Vec::new(),
        total: Vec::new(),
        centroid: Vec::new(),
        grouped: Vec::new(),
        groups,
        peaks: Vec::new(),
        flatness: Vec::new(),
        voice_power: Vec::new(),
    };
    let (voice_lo, voice_hi) = (bin(VOCAL_LOW_HZ), bin(VOCAL_HIGH_HZ));
    stft.for_each_frame(
        signal,
        #[inline(always)]
        |_, mags| {
            f.peaks.push(strongest_peaks(&mags[voice_lo - 1..=voice_hi + 1], voice_lo - 1, bin_hz));
            let band = &mags[voice_lo..=voice_hi];
            // The geometric mean through products of 16 values in f64 (no underflow above 1e-9 each):
            // one logarithm per 16 bins instead of one per bin.
            let log_sum: f64 =
                band.chunks(16).map(|c| c.iter().map(|&m| f64::from(m) + 1e-9).product::<f64>().ln()).sum();
            let lin_sum: f64 = band.iter().map(|&m| f64::from(m) + 1e-9).sum();
            let count = band.len() as f64;
            f.flatness.push(((log_sum / count).exp() / (lin_sum / count)) as f32);
            f.voice_power.push(sum_by(band, |m| m * m));
            let mut bands = [0.0f32; 5];
            for (b, band) in bands.iter_mut().enumerate() {
                *band = sum_by(&mags[edges[b]..edges[b + 1]], |m| m * m);
            }
            f.total.push(bands.iter().sum());
            f.bands.push(bands);
            f.centroid.push(centroid_sums(&mags[edges[0]..edges[5]], edges[0], bin_hz));
            for g in 0..groups {
                let a = edges[0] + g * GROUP_BINS;
                f.grouped.push(mags[a..a + GROUP_BINS].iter().sum());
            }
        },
    );
    f
}

/// (Σ k·bin_hz·m, Σ m) over `mags`, whose first value is bin `first`: the spectral centroid's
/// numerator and denominator, in partial sums side by side ([`super::lane_sum`]).
#[inline(always)]
fn centroid_sums(mags: &[f32], first: usize, bin_hz: f32) -> (f32, f32) {
    let (mut weighted, mut sum) = ([0.0f32; LANES], [0.0f32; LANES]);
    // Bin numbers as floats, exact below 2^24.
    let mut k: [f32; LANES] = std::array::from_fn(|lane| (first + lane) as f32);
    let chunks = mags.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for lane in 0..LANES {
            weighted[lane] += k[lane] * bin_hz * chunk[lane];
            sum[lane] += chunk[lane];
            k[lane] += LANES as f32;
        }
    }
    let (mut w, mut m) = (weighted.iter().sum::<f32>(), sum.iter().sum::<f32>());
    for (i, &x) in rest.iter().enumerate() {
        w += (first + mags.len() - rest.len() + i) as f32 * bin_hz * x;
        m += x;
    }
    (w, m)
}

/// The [`VOCAL_PEAKS`] strongest local maxima of `mags` (bins from `offset`) above a tenth of
/// the strongest, in Hz refined by a parabola through the log magnitudes; 0 fills the rest.
fn strongest_peaks(mags: &[f32], offset: usize, bin_hz: f32) -> [f32; VOCAL_PEAKS] {
    let top = mags.iter().fold(0.0f32, |m, &v| larger(m, v));
    let mut found: Vec<(f32, f32)> = Vec::new();
    for k in 1..mags.len().saturating_sub(1) {
        let (a, b, c) = (mags[k - 1], mags[k], mags[k + 1]);
        if b > a && b >= c && b > 0.1 * top {
            let (la, lb, lc) = ((a + 1e-9).ln(), (b + 1e-9).ln(), (c + 1e-9).ln());
            let denom = la - 2.0 * lb + lc;
            let shift = if denom < 0.0 { (0.5 * (la - lc) / denom).clamp(-0.5, 0.5) } else { 0.0 };
            found.push((b, ((offset + k) as f32 + shift) * bin_hz));
        }
    }
    found.sort_by(|x, y| y.0.total_cmp(&x.0));
    let mut out = [0.0f32; VOCAL_PEAKS];
    for (slot, (_, hz)) in out.iter_mut().zip(found) {
        *slot = hz;
    }
    out
}

/// The median of nine values by a fixed network of 19 compare-exchanges (Paeth's, as in
/// Devillard's `opt_med9`): several times faster than a general selection on the hot path. `T`
/// is one value, or [`LANES`] of them side by side (nine medians at once, lane by lane).
#[inline(always)]
fn median9<T: MinMax>(p: &mut [T; 9]) -> T {
    // Branch-free min/max on fixed positions: the compiler keeps all nine in registers.
    macro_rules! sort {
        ($($a:literal $b:literal),*) => {$(
            let (x, y) = (p[$a], p[$b]);
            p[$a] = x.min_of(y);
            p[$b] = x.max_of(y);
        )*};
    }
    sort!(1 2, 4 5, 7 8, 0 1, 3 4, 6 7, 1 2, 4 5, 7 8, 0 3, 5 8, 4 7, 3 6, 1 4, 2 5, 4 7, 2 4, 4 6, 2 4);
    p[4]
}

/// The smaller and the larger of two, on one value or lane by lane ([`smaller`], [`larger`]).
trait MinMax: Copy {
    fn min_of(self, other: Self) -> Self;
    fn max_of(self, other: Self) -> Self;
}

impl MinMax for f32 {
    #[inline(always)]
    fn min_of(self, other: Self) -> Self {
        smaller(self, other)
    }
    #[inline(always)]
    fn max_of(self, other: Self) -> Self {
        larger(self, other)
    }
}

impl MinMax for [f32; LANES] {
    #[inline(always)]
    fn min_of(self, other: Self) -> Self {
        std::array::from_fn(|i| smaller(self[i], other[i]))
    }
    #[inline(always)]
    fn max_of(self, other: Self) -> Self {
        std::array::from_fn(|i| larger(self[i], other[i]))
    }
}

fn median_of(buf: &mut [f32]) -> f32 {
    if let Ok(nine) = <&mut [f32; 9]>::try_from(&mut *buf) {
        return median9(nine);
    }
    if buf.is_empty() {
        return 0.0;
    }
    let mid = buf.len() / 2;
    *buf.select_nth_unstable_by(mid, f32::total_cmp).1
}

/// Median-filter harmonic/percussive split of the compressed spectrogram, with the vocal frames.
fn split(f: &Frames) -> Split {
    crate::simd::with_x86_v3(
        #[inline(always)]
        || split_in(f),
    )
}

#[inline(always)]
fn split_in(f: &Frames) -> Split {
    let (n, g) = (f.total.len(), f.groups);
    let at = |t: usize, k: usize| f.grouped[t * g + k];
    let mut out = Split { percussive: vec![0.0; n], harmonic: vec![0.0; n], vocal: vocal_frames(f) };
    let mut buf = Vec::with_capacity(HARMONIC_KERNEL.max(PERCUSSIVE_KERNEL));
    let pk = PERCUSSIVE_KERNEL / 2;
    // Masks from every other frame (43 ms apart), each applied to its frame and the next: half
    // the medians, and the time median still spans 0.8 s.
    let reach = HARMONIC_KERNEL / 2 / 2 * 2;
    let mut masks = vec![0.0f32; g];
    for t in (0..n).step_by(2) {
        // Away from the edges, both medians take nine values, and [`LANES`] neighbouring bands
        // are worked together: their nine values across time are rows of the spectrogram, and
        // across frequency sliding windows of one row.
        let whole_time = t >= reach && t + reach < n;
        let mut k = 0;
        while k < g {
            if whole_time && k >= pk && k + LANES + pk <= g {
                let mut across_time: [[f32; LANES]; 9] =
                    std::array::from_fn(|i| std::array::from_fn(|lane| at(t - reach + 2 * i, k + lane)));
                let mut across_bands: [[f32; LANES]; 9] =
                    std::array::from_fn(|i| std::array::from_fn(|lane| at(t, k + lane - pk + i)));
                let (h, p) = (median9(&mut across_time), median9(&mut across_bands));
                for lane in 0..LANES {
                    masks[k + lane] = harmonic_mask(h[lane], p[lane]);
                }
                k += LANES;
            } else {
                buf.clear();
                buf.extend((t.saturating_sub(reach)..(t + reach + 1).min(n)).step_by(2).map(|s| at(s, k)));
                let h = median_of(&mut buf);
                buf.clear();
                buf.extend((k.saturating_sub(pk)..(k + pk + 1).min(g)).map(|j| at(t, j)));
                let p = median_of(&mut buf);
                masks[k] = harmonic_mask(h, p);
                k += 1;
            }
        }
        for frame in t..(t + 2).min(n) {
            for (k, &mask_h) in masks.iter().enumerate() {
                let m = at(frame, k);
                out.harmonic[frame] += m * m * mask_h;
                out.percussive[frame] += m * m * (1.0 - mask_h);
            }
        }
    }
    out
}

/// The harmonic part's soft mask from the two medians (an even split where both are 0).
#[inline(always)]
fn harmonic_mask(h: f32, p: f32) -> f32 {
    let (h2, p2) = (h * h, p * p);
    if h2 + p2 > 0.0 { h2 / (h2 + p2) } else { 0.5 }
}

/// 1 for each frame where a voice's pitch moves (see the module header), else 0.
fn vocal_frames(f: &Frames) -> Vec<f32> {
    let n = f.total.len();
    let moving = |t: usize| -> f32 {
        if t < VOCAL_LAG {
            return 0.0;
        }
        let above_bass = f.bands[t][2] + f.bands[t][3] + f.bands[t][4];
        if above_bass <= 0.0 || f.voice_power[t] < VOCAL_MIN_SHARE * above_bass || f.flatness[t] >= VOCAL_MAX_FLATNESS {
            return 0.0;
        }
        // Peaks that are still there a moment later (within a semitone) but have moved.
        let earlier = &f.peaks[t - VOCAL_LAG];
        let moved = f.peaks[t]
            .iter()
            .filter(|&&hz| hz > 0.0)
            .filter(|&&hz| {
                let nearest =
                    earlier.iter().filter(|&&e| e > 0.0).map(|&e| (e - hz).abs() / hz).fold(f32::MAX, f32::min);
                (VOCAL_MIN_GLIDE..VOCAL_MAX_GLIDE).contains(&nearest)
            })
            .count();
        if moved >= VOCAL_MIN_MOVED_PEAKS { 1.0 } else { 0.0 }
    };
    let vocal: Vec<f32> = (0..n).map(moving).collect();
    // A voice moves for a while; a note's attack or a chord change moves the peaks for a single
    // frame. Keep frames where two or more of the five around them moved.
    (0..n)
        .map(|t| {
            let around = &vocal[t.saturating_sub(2)..(t + 3).min(n)];
            if around.iter().sum::<f32>() >= 2.0 { 1.0 } else { 0.0 }
        })
        .collect()
}

/// Onsets per second: peaks of the onset envelope over a local threshold, at least 50 ms apart.
fn onset_density(envelope: &[f32], fps: f32) -> f32 {
    if envelope.is_empty() || fps <= 0.0 {
        return 0.0;
    }
    let mut sorted: Vec<f32> = envelope.to_vec();
    sorted.sort_by(f32::total_cmp);
    let p95 = sorted[(sorted.len() * 95 / 100).min(sorted.len() - 1)];
    if p95 <= 0.0 {
        return 0.0;
    }
    let reach = (fps * 0.03).round().max(1.0) as usize;
    let gap = (fps * 0.05).round() as usize;
    let mut last: Option<usize> = None;
    let mut count = 0usize;
    for t in 0..envelope.len() {
        let v = envelope[t];
        if v < 0.12 * p95 {
            continue;
        }
        let lo = t.saturating_sub(reach);
        let hi = (t + reach + 1).min(envelope.len());
        if envelope[lo..hi].iter().any(|&w| w > v) || last.is_some_and(|l| t - l < gap) {
            continue;
        }
        last = Some(t);
        count += 1;
    }
    count as f32 * fps / envelope.len() as f32
}

fn scale(v: f32, lo: f32, hi: f32) -> f32 {
    ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// The documented energy formula (1–10).
fn energy_of(lufs: f32, onsets_per_sec: f32, centroid_hz: f32, percussive: f32) -> f32 {
    let raw = 0.55 * scale(lufs, -36.0, -6.0)
        + 0.30 * scale(onsets_per_sec, 0.0, 8.0)
        + 0.05 * scale(centroid_hz, 500.0, 3000.0)
        + 0.10 * percussive.clamp(0.0, 1.0);
    1.0 + 9.0 * raw
}

/// Loudness of a stretch of frames, in LUFS-like dB (calibrated so that a full-scale sine reads
/// about −3 dB, near what an integrated loudness meter reads for dense music).
fn frames_db(f: &Frames, range: std::ops::Range<usize>) -> f32 {
    let n = range.len().max(1) as f32;
    let mean: f32 = f.total[range].iter().sum::<f32>() / n;
    10.0 * (mean.max(1e-12)).log10() - 3.0
}

/// Beat phase (in envelope frames) of a pulse of `period` frames: the offset whose beats carry
/// the most onset strength.
fn beat_phase(envelope: &[f32], period: f32) -> f32 {
    let mut best = (0.0f32, f32::MIN);
    let steps = period.floor().max(1.0) as usize;
    for p in 0..steps {
        let mut s = 0.0f32;
        let mut x = p as f32;
        while (x.round() as usize) < envelope.len() {
            let i = x.round() as usize;
            s += envelope[i.saturating_sub(1)..(i + 2).min(envelope.len())].iter().fold(0.0f32, |m, &v| m.max(v));
            x += period;
        }
        if s > best.1 {
            best = (p as f32, s);
        }
    }
    best.0
}

/// Everything the section search needs per bar.
struct Bar {
    start_sec: f32,
    start: usize,
    end: usize,
    vector: [f32; 7],
    power: f32,
}

/// Compute the DJ features. `signal` is mono at [`ONSET_SAMPLE_RATE`]; `envelope`/`fps` the
/// tempo module's onset envelope of it; `bpm` the detected tempo; `lufs` the integrated loudness.
pub fn dj_features(
    signal: &[f32],
    envelope: &[f32],
    fps: f32,
    bpm: Option<f32>,
    lufs: Option<f64>,
) -> Option<DjFeatures> {
    let frames = measure(signal);
    let n = frames.total.len();
    let grand: f32 = frames.total.iter().sum();
    if n < 8 || grand <= 1e-9 {
        return None;
    }
    let parts = split(&frames);
    let band_sum = |b: usize| frames.bands.iter().map(|x| x[b]).sum::<f32>();
    let low_end = LowEnd { sub: band_sum(0) / grand, bass: band_sum(1) / grand, low_mid: band_sum(2) / grand };
    let (w, m) = frames.centroid.iter().fold((0.0f32, 0.0f32), |(a, b), &(x, y)| (a + x, b + y));
    let brightness_hz = if m > 0.0 { w / m } else { 0.0 };
    let perc: f32 = parts.percussive.iter().sum();
    let harm: f32 = parts.harmonic.iter().sum();
    let percussive_ratio = if perc + harm > 0.0 { perc / (perc + harm) } else { 0.0 };
    let sounding: Vec<usize> = (0..n).filter(|&t| frames.total[t] > grand / n as f32 * 1e-3).collect();
    let vocal_presence = if sounding.is_empty() {
        0.0
    } else {
        sounding.iter().map(|&t| parts.vocal[t]).sum::<f32>() / sounding.len() as f32
    };
    let onsets = onset_density(envelope, fps);
    let loudness = lufs.map(|l| l as f32).unwrap_or_else(|| frames_db(&frames, 0..n));
    let energy = energy_of(loudness, onsets, brightness_hz, percussive_ratio);

    let mut dj = DjFeatures {
        energy,
        low_end,
        onset_density: onsets,
        brightness_hz,
        vocal_presence,
        percussive_ratio,
        first_downbeat_sec: None,
        intro: None,
        outro: None,
    };
    let Some(bpm) = bpm.filter(|b| *b > 0.0) else { return Some(dj) };
    let ctx = SectionContext {
        frames: &frames,
        parts: &parts,
        envelope,
        fps,
        loudness_offset: loudness - frames_db(&frames, 0..n),
    };
    let Some((downbeat_sec, bars)) = ctx.bars(bpm) else { return Some(dj) };
    dj.first_downbeat_sec = Some(downbeat_sec);
    if bars.len() >= 2 * FALLBACK_SECTION_BARS {
        let (intro_end, intro_found) = ctx.boundary(&bars, true);
        let (outro_start, outro_found) = ctx.boundary(&bars, false);
        let last_sounding = bars.iter().rposition(|b| b.power > 1e-3 * grand / n as f32).unwrap_or(bars.len() - 1);
        let first_sounding = bars.iter().position(|b| b.power > 1e-3 * grand / n as f32).unwrap_or(0);
        dj.intro =
            Some(ctx.section(&bars, first_sounding.min(intro_end.saturating_sub(1)), intro_end, intro_found, bpm));
        dj.outro = Some(ctx.section(&bars, outro_start, (last_sounding + 1).max(outro_start + 1), outro_found, bpm));
    }
    Some(dj)
}

struct SectionContext<'a> {
    frames: &'a Frames,
    parts: &'a Split,
    envelope: &'a [f32],
    fps: f32,
    /// Integrated loudness minus the frame-power estimate, so section energies sit on the
    /// track's scale.
    loudness_offset: f32,
}

impl SectionContext<'_> {
    /// The first downbeat (seconds) and the bars from it, in STFT frames.
    fn bars(&self, bpm: f32) -> Option<(f32, Vec<Bar>)> {
        let period = self.fps * 60.0 / bpm;
        if self.envelope.len() < (period * 8.0) as usize {
            return None;
        }
        let phase = beat_phase(self.envelope, period);
        // An envelope frame describes the change around the middle of its 512-sample window.
        let env_sec = |x: f32| (x * super::tempo::ONSET_HOP as f32 + 256.0) / ONSET_SAMPLE_RATE as f32;
        let beat_sec: Vec<f32> = (0..)
            .map(|k| env_sec(phase + k as f32 * period))
            .take_while(|&s| s < frame_sec(self.frames.total.len()))
            .collect();
        if beat_sec.len() < 8 {
            return None;
        }
        // Downbeat: the beat of the bar (of four) where the low end strikes and the harmony
        // changes most.
        let frame_of = |s: f32| frame_at(s, self.frames.total.len());
        let low = |t: usize| self.frames.bands[t][0] + self.frames.bands[t][1];
        let low_rise = |s: f32| {
            let t = frame_of(s);
            (low((t + 1).min(self.frames.total.len() - 1)) - low(t.saturating_sub(1))).max(0.0)
        };
        let g = self.frames.groups;
        let harmonic_change = |s: f32| {
            let t = frame_of(s);
            let (a, b) = (t.saturating_sub(2), (t + 2).min(self.frames.total.len() - 1));
            let (mut dot, mut na, mut nb) = (0.0f32, 0.0f32, 0.0f32);
            for k in 0..g {
                let (x, y) = (self.frames.grouped[a * g + k], self.frames.grouped[b * g + k]);
                dot += x * y;
                na += x * x;
                nb += y * y;
            }
            if na <= 0.0 || nb <= 0.0 { 0.0 } else { 1.0 - dot / (na.sqrt() * nb.sqrt()) }
        };
        let mut lows = [0.0f32; 4];
        let mut changes = [0.0f32; 4];
        for (i, &s) in beat_sec.iter().enumerate() {
            lows[i % 4] += low_rise(s);
            changes[i % 4] += harmonic_change(s);
        }
        let norm = |v: [f32; 4]| {
            let max = v.iter().fold(0.0f32, |m, &x| m.max(x));
            if max > 0.0 { v.map(|x| x / max) } else { v }
        };
        let (lows, changes) = (norm(lows), norm(changes));
        let offset = (0..4).max_by(|&a, &b| (lows[a] + changes[a]).total_cmp(&(lows[b] + changes[b]))).unwrap_or(0);
        let downbeats: Vec<f32> = beat_sec.iter().skip(offset).step_by(4).copied().collect();
        let first = *downbeats.first()?;
        let bar_sec = 4.0 * 60.0 / bpm;
        let n = self.frames.total.len();
        let mut bars = Vec::new();
        let mut start = first;
        while start < frame_sec(n) {
            let (a, b) = (frame_of(start), frame_of(start + bar_sec).max(frame_of(start) + 1));
            bars.push(self.bar(start, a, b.min(n)));
            start += bar_sec;
        }
        Some((first, bars))
    }

    fn bar(&self, start_sec: f32, start: usize, end: usize) -> Bar {
        let len = (end - start).max(1) as f32;
        let mut vector = [0.0f32; 7];
        for b in 0..5 {
            let p = self.frames.bands[start..end].iter().map(|x| x[b]).sum::<f32>() / len;
            vector[b] = (p + 1e-7).log10();
        }
        let perc = self.parts.percussive[start..end].iter().sum::<f32>() / len;
        vector[5] = (perc + 1e-7).log10();
        // Vocal activity weighs like a band: a voice entering is a structure change.
        vector[6] = 2.0 * self.parts.vocal[start..end].iter().sum::<f32>() / len;
        Bar { start_sec, start, end, vector, power: self.frames.total[start..end].iter().sum::<f32>() / len }
    }

    /// The bar index where the intro ends (`intro`) or the outro starts, and whether a boundary
    /// was found.
    fn boundary(&self, bars: &[Bar], intro: bool) -> (usize, bool) {
        let count = bars.len();
        let reach = (count / 3).min(MAX_SECTION_BARS);
        let candidates: Vec<usize> = if intro {
            (2..=reach).collect()
        } else {
            (count.saturating_sub(reach)..=count.saturating_sub(2)).filter(|&i| i > 0).collect()
        };
        let mean = |r: std::ops::Range<usize>| {
            let mut m = [0.0f32; 7];
            for b in &bars[r.clone()] {
                for (x, v) in m.iter_mut().zip(&b.vector) {
                    *x += v;
                }
            }
            m.map(|x| x / r.len().max(1) as f32)
        };
        let mut best = (0usize, 0.0f32);
        for i in candidates {
            let before = mean(i.saturating_sub(NOVELTY_BARS)..i);
            let after = mean(i..(i + NOVELTY_BARS).min(count));
            let novelty = before.iter().zip(&after).map(|(a, b)| (a - b).abs()).sum::<f32>() / 7.0;
            // Phrases run in 8 bars: a line on the phrase grid wins a near tie.
            let phrase = if i % 8 == 0 {
                1.15
            } else if i % 4 == 0 {
                1.05
            } else {
                1.0
            };
            if novelty * phrase > best.1 {
                best = (i, novelty * phrase);
            }
        }
        if best.1 >= MIN_NOVELTY {
            (best.0, true)
        } else if intro {
            (FALLBACK_SECTION_BARS, false)
        } else {
            (count - FALLBACK_SECTION_BARS, false)
        }
    }

    fn section(&self, bars: &[Bar], from: usize, to: usize, boundary: bool, bpm: f32) -> Section {
        let to = to.min(bars.len()).max(from + 1);
        let (a, b) = (bars[from].start, bars[to - 1].end);
        let total: f32 = self.frames.total[a..b].iter().sum::<f32>().max(1e-12);
        let low: f32 = self.frames.bands[a..b].iter().map(|x| x[0] + x[1]).sum();
        let perc: f32 = self.parts.percussive[a..b].iter().sum();
        let harm: f32 = self.parts.harmonic[a..b].iter().sum();
        let percussive = if perc + harm > 0.0 { perc / (perc + harm) } else { 0.0 };
        let vocal = self.parts.vocal[a..b].iter().sum::<f32>() / (b - a).max(1) as f32;
        // Beat accent: onset strength on the beats over the mean (a steady kick gives ≫ 1).
        let period = self.fps * 60.0 / bpm;
        let env_from = ((frame_sec(a) * self.fps) as usize).min(self.envelope.len());
        let env_to = ((frame_sec(b) * self.fps) as usize).min(self.envelope.len());
        let accent = if env_to > env_from + period as usize * 2 {
            let env = &self.envelope[env_from..env_to];
            let phase = beat_phase(env, period);
            let mean = env.iter().sum::<f32>() / env.len() as f32;
            let (mut on, mut beats) = (0.0f32, 0usize);
            let mut x = phase;
            while (x.round() as usize) < env.len() {
                on += env[x.round() as usize];
                beats += 1;
                x += period;
            }
            if mean > 0.0 && beats > 0 { on / beats as f32 / mean } else { 0.0 }
        } else {
            0.0
        };
        let steady = 0.5 * scale(percussive, 0.1, 0.5) + 0.5 * scale(accent, 1.0, 3.0);
        let bar_db: Vec<f32> = bars[from..to].iter().map(|x| 10.0 * (x.power.max(1e-12)).log10()).collect();
        let mean_db = bar_db.iter().sum::<f32>() / bar_db.len() as f32;
        let spread = (bar_db.iter().map(|d| (d - mean_db).powi(2)).sum::<f32>() / bar_db.len() as f32).sqrt();
        let stable = 1.0 - scale(spread, 0.0, 6.0);
        let mixability = 0.4 * steady + 0.3 * stable + 0.3 * (1.0 - vocal);
        let onsets = onset_density(&self.envelope[env_from.min(env_to)..env_to], self.fps);
        let (w, m) = self.frames.centroid[a..b].iter().fold((0.0f32, 0.0f32), |(p, q), &(x, y)| (p + x, q + y));
        let centroid = if m > 0.0 { w / m } else { 0.0 };
        let energy = energy_of(frames_db(self.frames, a..b) + self.loudness_offset, onsets, centroid, percussive);
        Section {
            start_sec: bars[from].start_sec,
            end_sec: bars[to - 1].start_sec + 4.0 * 60.0 / bpm,
            bars: (to - from) as u32,
            boundary,
            mixability: mixability.clamp(0.0, 1.0),
            low_share: low / total,
            vocal_presence: vocal,
            energy,
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_centroid_sums_in_lanes_equal_the_plain_sums() {
        for len in super::super::lane_sum::TEST_LENGTHS {
            let mags = super::super::lane_sum::test_bins(len);
            let (first, bin_hz) = (17, 5.383_301);
            let weighted: f64 = mags.iter().enumerate().map(|(i, &m)| (first + i) as f64 * bin_hz * f64::from(m)).sum();
            let sum: f64 = mags.iter().map(|&m| f64::from(m)).sum();
            let (w, m) = centroid_sums(&mags, first, bin_hz as f32);
            assert!(
                (f64::from(w) - weighted).abs() <= 1e-5 * weighted.max(1.0),
                "length {len}: {w} against {weighted}"
            );
            assert!((f64::from(m) - sum).abs() <= 1e-5 * sum.max(1.0), "length {len}");
        }
    }

    use super::*;

    #[test]
    fn the_median_network_agrees_with_sorting() {
        let mut state = 12345u64;
        for _ in 0..2000 {
            let mut v = [0.0f32; 9];
            for x in &mut v {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                // Few distinct values, so ties are common.
                *x = (state >> 60) as f32;
            }
            let mut sorted = v;
            sorted.sort_by(f32::total_cmp);
            assert_eq!(median9(&mut v), sorted[4], "{v:?}");
        }
    }

    #[test]
    fn the_median_network_on_lanes_gives_each_lane_its_own_median() {
        let mut state = 99u64;
        for _ in 0..500 {
            let mut lanes = [[0.0f32; LANES]; 9];
            for x in lanes.iter_mut().flatten() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                *x = (state >> 58) as f32 - 20.0;
            }
            let each: [f32; LANES] = std::array::from_fn(|lane| {
                let mut one: [f32; 9] = std::array::from_fn(|i| lanes[i][lane]);
                median9(&mut one)
            });
            assert_eq!(median9(&mut lanes), each);
        }
    }
}
