//! Short-time magnitude spectra shared by the tempo, key and DJ extractors (periodic Hann
//! window). Frames are produced one at a time into a callback to keep memory flat.
//!
//! Two real frames go through one complex FFT of the frame's size, the first as the real part
//! and the second as the imaginary part, and are told apart from the spectrum's symmetry. A
//! real-input FFT per frame spent more time in its scalar post-processing (a twiddle per bin)
//! than in the transform itself; the separation needs no twiddles, only sums. A frame's
//! magnitudes then carry rounding from its neighbour's, about 1e-7 of the louder frame's.

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// A reusable STFT of fixed size and hop.
pub struct Stft {
    n_fft: usize,
    hop: usize,
    window: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
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
        let fft = FftPlanner::<f32>::new().plan_fft_forward(n_fft);
        Self { n_fft, hop, window, fft }
    }

    /// Number of bins per frame (`n_fft / 2 + 1`).
    pub fn bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Call `on_frame(index, magnitudes)` for every frame that fits in `signal` (no padding), in
    /// order. Magnitudes are scaled so that a full-scale sine peaks near 1.
    #[inline(always)]
    pub fn for_each_frame(&self, signal: &[f32], mut on_frame: impl FnMut(usize, &[f32])) {
        let n = self.n_fft;
        if signal.len() < n || n < 2 {
            return;
        }
        let frames = (signal.len() - n) / self.hop + 1;
        let mut buffer = vec![Complex::new(0.0f32, 0.0); n];
        let mut scratch = vec![Complex::new(0.0f32, 0.0); self.fft.get_inplace_scratch_len()];
        let (mut first, mut second) = (vec![0.0f32; self.bins()], vec![0.0f32; self.bins()]);
        for t in (0..frames).step_by(2) {
            let a = &signal[t * self.hop..t * self.hop + n];
            let paired = t + 1 < frames;
            if paired {
                let b = &signal[(t + 1) * self.hop..(t + 1) * self.hop + n];
                for (((z, &x), &y), &w) in buffer.iter_mut().zip(a).zip(b).zip(&self.window) {
                    *z = Complex::new(x * w, y * w);
                }
            } else {
                for ((z, &x), &w) in buffer.iter_mut().zip(a).zip(&self.window) {
                    *z = Complex::new(x * w, 0.0);
                }
            }
            self.fft.process_with_scratch(&mut buffer, &mut scratch);
            self.separate(&buffer, &mut first, &mut second);
            on_frame(t, &first);
            if paired {
                on_frame(t + 1, &second);
            }
        }
    }

    /// The magnitudes of the two real frames whose sum (first + i·second) has spectrum `z`:
    /// with Z[k] = (p, q) and Z[n−k] = (r, s), the first frame's bin k is (p + r, q − s) / 2 and
    /// the second's (q + s, r − p) / 2.
    #[inline(always)]
    fn separate(&self, z: &[Complex<f32>], first: &mut [f32], second: &mut [f32]) {
        let n = self.n_fft;
        // 2/n: half of the 4/n that puts a full-scale sine near 1.
        let scale = 2.0 / n as f32;
        first[0] = z[0].re.abs() * 2.0 * scale;
        second[0] = z[0].im.abs() * 2.0 * scale;
        let mirrored = z[n / 2 + 1..].iter().rev();
        for (((f, s), &zk), &zr) in first[1..].iter_mut().zip(&mut second[1..]).zip(&z[1..=n / 2]).zip(mirrored) {
            let (sum_re, diff_im) = (zk.re + zr.re, zk.im - zr.im);
            let (diff_re, sum_im) = (zk.re - zr.re, zk.im + zr.im);
            // sqrt of the power: `norm()` calls hypot, which is several times slower.
            *f = (sum_re * sum_re + diff_im * diff_im).sqrt() * scale;
            *s = (diff_re * diff_re + sum_im * sum_im).sqrt() * scale;
        }
        // Bin n/2 is its own mirror; the loop stops before it.
        let half = z[n / 2];
        first[n / 2] = half.re.abs() * 2.0 * scale;
        second[n / 2] = half.im.abs() * 2.0 * scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use realfft::RealFftPlanner;

    /// The magnitudes one real FFT per frame gives, with the same window and scale.
    fn reference(signal: &[f32], n: usize, hop: usize) -> Vec<Vec<f32>> {
        let stft = Stft::new(n, hop);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        let frames = (signal.len() - n) / hop + 1;
        (0..frames)
            .map(|t| {
                let mut input: Vec<f32> =
                    signal[t * hop..t * hop + n].iter().zip(&stft.window).map(|(x, w)| x * w).collect();
                let mut out = fft.make_output_vec();
                fft.process(&mut input, &mut out).expect("sizes match");
                out.iter().map(|c| c.norm() * 4.0 / n as f32).collect()
            })
            .collect()
    }

    #[test]
    fn paired_frames_give_each_frame_its_own_spectrum() {
        // A loud chord with a quiet stretch and digital silence after it: a quiet frame beside a
        // loud one must not take the loud one's spectrum.
        let rate = 11_025.0f32;
        let signal: Vec<f32> = (0..20_000)
            .map(|i| {
                let t = i as f32 / rate;
                let loud = [220.0f32, 277.2, 329.6].iter().map(|f| (std::f32::consts::TAU * f * t).sin()).sum::<f32>();
                match i {
                    0..9_000 => 0.3 * loud,
                    9_000..14_000 => 1e-3 * (std::f32::consts::TAU * 1_000.0 * t).sin(),
                    _ => 0.0,
                }
            })
            .collect();
        for (n, hop) in [(512, 64), (2048, 512), (4096, 2048), (512, 300)] {
            let expected = reference(&signal, n, hop);
            let mut seen = 0;
            Stft::new(n, hop).for_each_frame(&signal, |t, mags| {
                assert_eq!(t, seen, "frames in order");
                seen += 1;
                assert_eq!(mags.len(), n / 2 + 1);
                for (k, (&got, &want)) in mags.iter().zip(&expected[t]).enumerate() {
                    // Within 1e-6 of a full-scale sine's peak, or 1e-4 of the bin itself.
                    assert!((got - want).abs() <= 1e-6 + 1e-4 * want, "n {n}, frame {t}, bin {k}: {got} vs {want}");
                }
            });
            assert_eq!(seen, expected.len(), "n {n}: every frame, an odd last one included");
        }
    }
}
