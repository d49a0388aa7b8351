//! Short-time magnitude spectra shared by the tempo and key extractors (real FFT, periodic
//! Hann window). Frames are produced one at a time into a callback to keep memory flat.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

/// A reusable STFT of fixed size and hop.
pub struct Stft {
    n_fft: usize,
    hop: usize,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stft").field("n_fft", &self.n_fft).field("hop", &self.hop).finish()
    }
}

impl Stft {
    /// A new STFT with `n_fft`-point frames every `hop` samples.
    pub fn new(n_fft: usize, hop: usize) -> Self {
        let window = (0..n_fft)
            .map(|i| {
                let phase = 2.0 * std::f64::consts::PI * i as f64 / n_fft as f64;
                (0.5 - 0.5 * phase.cos()) as f32
            })
            .collect();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n_fft);
        Self { n_fft, hop, window, fft }
    }

    /// Number of bins per frame (`n_fft / 2 + 1`).
    pub fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Call `on_frame(index, magnitudes)` for every frame that fits in `signal` (no padding).
    /// Magnitudes are scaled so that a full-scale sine peaks near 1.
    pub fn for_each_frame(&self, signal: &[f32], mut on_frame: impl FnMut(usize, &[f32])) {
        if signal.len() < self.n_fft {
            return;
        }
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut mags = vec![0.0f32; self.bins()];
        let scale = 4.0 / self.n_fft as f32;
        let frames = (signal.len() - self.n_fft) / self.hop + 1;
        for t in 0..frames {
            let start = t * self.hop;
            for ((dst, &x), &w) in input.iter_mut().zip(&signal[start..start + self.n_fft]).zip(&self.window) {
                *dst = x * w;
            }
            if self.fft.process_with_scratch(&mut input, &mut spectrum, &mut scratch).is_err() {
                continue;
            }
            for (m, c) in mags.iter_mut().zip(&spectrum) {
                // sqrt of the power: `norm()` calls hypot, which is several times slower.
                *m = (c.re * c.re + c.im * c.im).sqrt() * scale;
            }
            on_frame(t, &mags);
        }
    }
}
