//! Manifest-driven log-mel front-end, matching librosa's `melspectrogram` (periodic Hann,
//! `center` zero padding, Slaney or HTK mel scale, Slaney area normalisation) followed by the
//! manifest's log compression. Written here because no Rust crate reproduces librosa's filter
//! bank and framing exactly, and model parity depends on it.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

use super::manifest::{FrontEndSpec, LogSpec};
use crate::embed::EmbedError;

/// A ready front-end: window, FFT plan and sparse mel filter bank.
pub struct FrontEnd {
    spec: FrontEndSpec,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
    /// Per mel band: first FFT bin and the weights from there on.
    filters: Vec<(usize, Vec<f32>)>,
}

impl std::fmt::Debug for FrontEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrontEnd").field("n_mels", &self.spec.n_mels).finish()
    }
}

fn hz_to_mel(f: f64, htk: bool) -> f64 {
    if htk {
        return 2595.0 * (1.0 + f / 700.0).log10();
    }
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= min_log_hz { min_log_mel + (f / min_log_hz).ln() / logstep } else { f / f_sp }
}

fn mel_to_hz(m: f64, htk: bool) -> f64 {
    if htk {
        return 700.0 * (10f64.powf(m / 2595.0) - 1.0);
    }
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel { min_log_hz * (logstep * (m - min_log_mel)).exp() } else { f_sp * m }
}

/// librosa.filters.mel, computed in f64.
fn mel_filters(spec: &FrontEndSpec) -> Result<Vec<(usize, Vec<f32>)>, EmbedError> {
    let htk = match spec.mel_scale.as_str() {
        "htk" => true,
        "slaney" => false,
        other => return Err(EmbedError::Manifest(format!("unknown mel scale {other:?}"))),
    };
    let slaney_norm = match spec.mel_norm.as_deref() {
        Some("slaney") => true,
        None | Some("none") => false,
        Some(other) => return Err(EmbedError::Manifest(format!("unknown mel norm {other:?}"))),
    };
    let bins = spec.n_fft / 2 + 1;
    let sr = f64::from(spec.sample_rate);
    let fft_freqs: Vec<f64> = (0..bins).map(|k| k as f64 * sr / spec.n_fft as f64).collect();
    let (lo, hi) = (hz_to_mel(f64::from(spec.fmin), htk), hz_to_mel(f64::from(spec.fmax), htk));
    let n = spec.n_mels;
    let mel_f: Vec<f64> = (0..n + 2).map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n + 1) as f64, htk)).collect();
    let mut filters = Vec::with_capacity(n);
    for i in 0..n {
        let (f0, f1, f2) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
        let enorm = if slaney_norm { 2.0 / (f2 - f0) } else { 1.0 };
        let weights: Vec<f64> = fft_freqs
            .iter()
            .map(|&f| {
                let lower = (f - f0) / (f1 - f0);
                let upper = (f2 - f) / (f2 - f1);
                lower.min(upper).max(0.0) * enorm
            })
            .collect();
        let first = weights.iter().position(|&w| w > 0.0).unwrap_or(0);
        let last = weights.iter().rposition(|&w| w > 0.0).map_or(first, |l| l + 1);
        filters.push((first, weights[first..last.max(first)].iter().map(|&w| w as f32).collect()));
    }
    Ok(filters)
}

impl FrontEnd {
    /// Build the front-end of a manifest.
    pub fn new(spec: &FrontEndSpec) -> Result<Self, EmbedError> {
        if spec.window != "hann_periodic" {
            return Err(EmbedError::Manifest(format!("unsupported window {:?}", spec.window)));
        }
        if spec.n_fft == 0 || spec.hop == 0 || spec.patch_frames == 0 || spec.n_mels == 0 {
            return Err(EmbedError::Manifest("front-end sizes must be positive".into()));
        }
        let win_length = spec.win_length.unwrap_or(spec.n_fft).min(spec.n_fft);
        let offset = (spec.n_fft - win_length) / 2;
        let mut window = vec![0.0f32; spec.n_fft];
        for i in 0..win_length {
            let phase = 2.0 * std::f64::consts::PI * i as f64 / win_length as f64;
            window[offset + i] = (0.5 - 0.5 * phase.cos()) as f32;
        }
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(spec.n_fft);
        Ok(Self { spec: spec.clone(), window, fft, filters: mel_filters(spec)? })
    }

    /// The settings.
    pub fn spec(&self) -> &FrontEndSpec {
        &self.spec
    }

    /// Mel spectrogram (before the log) of `audio` with the manifest's padding, row-major
    /// `[frames][n_mels]`. Returns the number of frames too.
    pub fn mel(&self, audio: &[f32]) -> (Vec<f32>, usize) {
        let s = &self.spec;
        let (pad_l, pad_r) = if s.center { (s.n_fft / 2, s.n_fft / 2) } else { (s.pad_left, s.pad_right) };
        let padded_len = audio.len() + pad_l + pad_r;
        if padded_len < s.n_fft {
            return (Vec::new(), 0);
        }
        let frames = 1 + (padded_len - s.n_fft) / s.hop;
        let sample = |i: usize| -> f32 { if i < pad_l { 0.0 } else { audio.get(i - pad_l).copied().unwrap_or(0.0) } };
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0.0f32; s.n_fft / 2 + 1];
        let mut out = vec![0.0f32; frames * s.n_mels];
        for t in 0..frames {
            let start = t * s.hop;
            for (k, (dst, w)) in input.iter_mut().zip(&self.window).enumerate() {
                *dst = sample(start + k) * w;
            }
            if self.fft.process_with_scratch(&mut input, &mut spectrum, &mut scratch).is_err() {
                continue;
            }
            for (p, c) in power.iter_mut().zip(&spectrum) {
                let sq = c.re * c.re + c.im * c.im;
                *p = if s.power == 2.0 { sq } else { sq.sqrt().powf(s.power) };
            }
            let row = &mut out[t * s.n_mels..(t + 1) * s.n_mels];
            for (m, (first, weights)) in row.iter_mut().zip(&self.filters) {
                *m = weights.iter().zip(&power[*first..]).map(|(w, p)| w * p).sum();
            }
        }
        (out, frames)
    }

    /// Apply the manifest's log compression to one patch of mel frames.
    pub fn log_patch(&self, patch: &mut [f32]) {
        match &self.spec.log {
            LogSpec::Log10 { scale, offset } => {
                for v in patch.iter_mut() {
                    *v = (scale * *v + offset).log10();
                }
            }
            LogSpec::Db { multiplier, amin, reference, top_db } => {
                let reference = if reference == "max" {
                    patch.iter().copied().fold(*amin, f32::max)
                } else {
                    reference.parse::<f32>().unwrap_or(1.0).max(*amin)
                };
                let ref_db = multiplier * reference.log10();
                for v in patch.iter_mut() {
                    *v = multiplier * v.max(*amin).log10() - ref_db;
                }
                if let Some(top) = top_db {
                    let max = patch.iter().copied().fold(f32::MIN, f32::max);
                    for v in patch.iter_mut() {
                        *v = v.max(max - top);
                    }
                }
            }
        }
    }

    /// Arrange a `[frames][mels]` patch in the model's input layout.
    pub fn to_layout(&self, patch: &[f32]) -> Result<Vec<f32>, EmbedError> {
        let (t, m) = (self.spec.patch_frames, self.spec.n_mels);
        match self.spec.input_layout.as_str() {
            "N,T,M" | "N,T,M,C" => Ok(patch.to_vec()),
            "N,M,T" | "N,M,T,C" => {
                let mut out = vec![0.0f32; t * m];
                for ti in 0..t {
                    for mi in 0..m {
                        out[mi * t + ti] = patch[ti * m + mi];
                    }
                }
                Ok(out)
            }
            other => Err(EmbedError::Manifest(format!("unsupported input layout {other:?}"))),
        }
    }

    /// Shape of one input tensor (batch 1).
    pub fn input_shape(&self) -> Result<Vec<usize>, EmbedError> {
        let (t, m) = (self.spec.patch_frames, self.spec.n_mels);
        match self.spec.input_layout.as_str() {
            "N,T,M" => Ok(vec![1, t, m]),
            "N,T,M,C" => Ok(vec![1, t, m, 1]),
            "N,M,T" => Ok(vec![1, m, t]),
            "N,M,T,C" => Ok(vec![1, m, t, 1]),
            other => Err(EmbedError::Manifest(format!("unsupported input layout {other:?}"))),
        }
    }
}
