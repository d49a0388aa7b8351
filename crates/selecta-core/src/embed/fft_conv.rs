//! Long one-channel filters correlated through spectra along their long axis, for the wasm
//! build of the embedding.
//!
//! musicnn's front-end filters are 7 frames × 38 or 67 mel bands (timbral) and 128, 64 or 32
//! frames × 1 band (temporal). A direct output costs every tap of its filter (up to 469
//! multiply-adds), and wasm SIMD has four lanes and no fused multiply-add, so these banks were
//! most of a wasm patch. Along the long axis a correlation is a product of spectra: each input
//! line is transformed once; an output line costs the kernel's lines × N complex
//! multiply-adds and one inverse FFT of N points, shared by two filters (one as the real part,
//! the other as the imaginary part, since both outputs are real).
//!
//! The sums are rounded differently from the direct ones (tested against the definition, and
//! the model's outputs against TensorFlow's), so outputs move in their last bits, as with any
//! other summation order. Used only where it costs fewer operations than the direct tiles
//! ([`FftCorrelation::plan`]): the mid-end's 7-tap convolutions and the 32 × 1 temporal bank
//! stay direct. A wasm patch went from 24.5 to 17–19 ms (`wasm_parity`'s
//! `per_patch_inference_time`).

use std::sync::Arc;

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

/// Which axis of the `height × width` input the spectra run along.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Axis {
    /// Along each row (wide filters, zero rows above and below).
    Width,
    /// Along each column (filters one band wide, zero rows as the correlation's padding).
    Height,
}

/// Operations an FFT of `n` points costs, in multiply-add units: `5 n log2 n` flops for a
/// complex transform, two flops a multiply-add. What the plan weighs against the direct tiles.
fn fft_cost(n: usize) -> f64 {
    2.5 * n as f64 * (n as f64).log2()
}

/// The FFT's share of the cost estimate is scaled by this, and the spectral path is taken only
/// below [`SPECTRAL_MARGIN`] of the direct cost: rustfft's butterflies reach a smaller share of
/// the machine than the direct tiles' multiply-adds. Measured in wasm on a 187 × 96 patch,
/// best of 15 runs, direct against spectral (ms, 34 live filters unless said): 7 × 38 (40
/// live) 6.4 / 2.3, 7 × 67 (21 live) 3.2 / 1.2, 128 × 1 5.3 / 3.4, 64 × 1 2.8 / 1.9, 32 × 1
/// 1.6 / 1.6; these constants take the spectral path for the first four only.
const FFT_COST_FACTOR: f64 = 3.0;
const SPECTRAL_MARGIN: f64 = 0.8;

/// The smallest length at least `len` that is a power of two, or three or five times one:
/// rustfft's fastest sizes (a length of 225 or 250 took twice as long as 256 in wasm).
fn fast_length(len: usize) -> usize {
    [1, 3, 5]
        .into_iter()
        .filter_map(|odd: usize| {
            let power = len.div_ceil(odd).max(1).checked_next_power_of_two()?;
            odd.checked_mul(power)
        })
        .min()
        .unwrap_or(len)
}

/// A one-channel convolution of one input size computed through spectra: input `height ×
/// width`, filters `kernel_height × kernel_width`, `pad_top`/`pad_bottom` zero rows; output
/// `[filter][out_h][out_w]` as for the direct op.
pub(super) struct FftCorrelation {
    axis: Axis,
    height: usize,
    width: usize,
    /// Taps of a kernel line along the axis, and kernel lines across it.
    taps: usize,
    lines: usize,
    /// Zero padding before and after, along the axis and across it.
    along_pad: (usize, usize),
    across_pad: (usize, usize),
    n: usize,
    forward: Arc<dyn Fft<f32>>,
    inverse: Arc<dyn Fft<f32>>,
    /// The live filters' slots, two to a pair (the last pair may hold one).
    pairs: Vec<(usize, Option<usize>)>,
    /// Per pair and kernel line, the spectrum that gives the pair's correlation: real parts
    /// then imaginary parts, `[pair][line][2][n]`.
    spectra: Vec<f32>,
}

impl std::fmt::Debug for FftCorrelation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FftCorrelation").field("axis", &self.axis).field("n", &self.n).finish()
    }
}

/// Plans are equal when made for the same input from the same weights.
impl PartialEq for FftCorrelation {
    fn eq(&self, other: &Self) -> bool {
        (self.axis, self.height, self.width, self.taps, self.lines, self.along_pad, self.across_pad, self.n)
            == (
                other.axis,
                other.height,
                other.width,
                other.taps,
                other.lines,
                other.along_pad,
                other.across_pad,
                other.n,
            )
            && self.pairs == other.pairs
            && self.spectra.iter().map(|x| x.to_bits()).eq(other.spectra.iter().map(|x| x.to_bits()))
    }
}

impl FftCorrelation {
    /// The FFT plan for `live` filters (`kernel` is `[filter][kernel_height][kernel_width]` over
    /// every filter) on a `height × width` input, when it costs fewer operations than the direct
    /// tiles; `None` otherwise.
    pub(super) fn plan(
        kernel: &[f32],
        live: &[usize],
        [kernel_height, kernel_width]: [usize; 2],
        [pad_top, pad_bottom]: [usize; 2],
        (height, width): (usize, usize),
    ) -> Option<Self> {
        let (axis, taps, lines, along_pad, across_pad, along_len, across_len) = if kernel_width == 1 {
            (Axis::Height, kernel_height, 1, (pad_top, pad_bottom), (0, 0), height, width)
        } else {
            (Axis::Width, kernel_width, kernel_height, (0, 0), (pad_top, pad_bottom), width, height)
        };
        let out_along = (along_len + along_pad.0 + along_pad.1).checked_sub(taps)? + 1;
        // The kernel's lines must fit across the padded input too.
        (across_len + across_pad.0 + across_pad.1).checked_sub(lines)?;
        // Every output index plus every tap stays below n: the circular correlation never wraps.
        let n = fast_length(along_len + along_pad.0 + along_pad.1);
        let direct = (out_along * taps * lines) as f64;
        // Per filter and output line: the complex products (four multiply-adds each) and half
        // an inverse transform; the forward transforms are shared by every filter.
        let spectral = (lines * n * 4) as f64 / 2.0 + FFT_COST_FACTOR * fft_cost(n) / 2.0;
        if live.is_empty() || spectral >= SPECTRAL_MARGIN * direct {
            return None;
        }
        let mut planner = FftPlanner::<f32>::new();
        let (forward, inverse) = (planner.plan_fft_forward(n), planner.plan_fft_inverse(n));
        let pairs: Vec<(usize, Option<usize>)> =
            (0..live.len()).step_by(2).map(|s| (s, (s + 1 < live.len()).then_some(s + 1))).collect();
        let filter_taps = kernel_height * kernel_width;
        // Kernel line `t` of live slot `slot`, along the axis.
        let line = |slot: usize, t: usize| -> Vec<f32> {
            let weights = &kernel[live[slot] * filter_taps..(live[slot] + 1) * filter_taps];
            match axis {
                Axis::Width => weights[t * kernel_width..(t + 1) * kernel_width].to_vec(),
                Axis::Height => weights.to_vec(),
            }
        };
        let mut scratch = vec![Complex::new(0.0f32, 0.0); forward.get_inplace_scratch_len()];
        let mut spectrum = |values: &[f32]| {
            let mut buffer = vec![Complex::new(0.0f32, 0.0); n];
            for (z, &w) in buffer.iter_mut().zip(values) {
                z.re = w;
            }
            forward.process_with_scratch(&mut buffer, &mut scratch);
            buffer
        };
        let scale = 1.0 / n as f32;
        let mut spectra = Vec::with_capacity(pairs.len() * lines * 2 * n);
        for &(first, second) in &pairs {
            for t in 0..lines {
                // conj(W_a)/n + i·conj(W_b)/n: the inverse transform of X times it is
                // (x ⋆ w_a) + i·(x ⋆ w_b), both correlations real.
                let a = spectrum(&line(first, t));
                let b = second.map(|s| spectrum(&line(s, t)));
                let b_at = |k: usize| b.as_ref().map_or(Complex::new(0.0, 0.0), |b| b[k]);
                spectra.extend((0..n).map(|k| (a[k].re + b_at(k).im) * scale));
                spectra.extend((0..n).map(|k| (b_at(k).re - a[k].im) * scale));
            }
        }
        Some(Self { axis, height, width, taps, lines, along_pad, across_pad, n, forward, inverse, pairs, spectra })
    }

    /// The input size this plan was made for.
    pub(super) fn input_size(&self) -> (usize, usize) {
        (self.height, self.width)
    }

    /// Whether this plan was made for a `height × width` input.
    pub(super) fn fits(&self, height: usize, width: usize) -> bool {
        (self.height, self.width) == (height, width)
    }

    /// Correlate `input` (`height × width`, row-major) with every live filter: `emit(slot,
    /// across, along)` receives live slot `slot`'s output line `across`, its values along the
    /// axis, bias not added.
    pub(super) fn run(&self, input: &[f32], mut emit: impl FnMut(usize, usize, &[f32])) {
        let n = self.n;
        let (along_len, across_len) = match self.axis {
            Axis::Width => (self.width, self.height),
            Axis::Height => (self.height, self.width),
        };
        let out_along = along_len + self.along_pad.0 + self.along_pad.1 + 1 - self.taps;
        let out_across = across_len + self.across_pad.0 + self.across_pad.1 + 1 - self.lines;
        // Spectra of the input lines, real parts then imaginary parts: `[line][2][n]`.
        let mut inputs = vec![0.0f32; across_len * 2 * n];
        let mut buffer = vec![Complex::new(0.0f32, 0.0); n];
        let scratch_len = self.forward.get_inplace_scratch_len().max(self.inverse.get_inplace_scratch_len());
        let mut scratch = vec![Complex::new(0.0f32, 0.0); scratch_len];
        for (line, spectrum) in inputs.chunks_exact_mut(2 * n).enumerate() {
            buffer.fill(Complex::new(0.0, 0.0));
            let at = &mut buffer[self.along_pad.0..self.along_pad.0 + along_len];
            match self.axis {
                Axis::Width => {
                    for (z, &x) in at.iter_mut().zip(&input[line * self.width..(line + 1) * self.width]) {
                        z.re = x;
                    }
                }
                Axis::Height => {
                    for (z, &x) in at.iter_mut().zip(input[line..].iter().step_by(self.width)) {
                        z.re = x;
                    }
                }
            }
            self.forward.process_with_scratch(&mut buffer, &mut scratch);
            let (re, im) = spectrum.split_at_mut(n);
            for ((r, i), z) in re.iter_mut().zip(im.iter_mut()).zip(&buffer) {
                (*r, *i) = (z.re, z.im);
            }
        }
        let (mut sum_re, mut sum_im) = (vec![0.0f32; n], vec![0.0f32; n]);
        let (mut first, mut second) = (vec![0.0f32; out_along], vec![0.0f32; out_along]);
        for (&(a, b), pair_spectra) in self.pairs.iter().zip(self.spectra.chunks_exact(self.lines * 2 * n)) {
            for across in 0..out_across {
                sum_re.fill(0.0);
                sum_im.fill(0.0);
                for (t, filter) in pair_spectra.chunks_exact(2 * n).enumerate() {
                    // Input line `across + t` of the padded input; zero rows add nothing.
                    let Some(line) = (across + t).checked_sub(self.across_pad.0).filter(|&l| l < across_len) else {
                        continue;
                    };
                    let (x_re, x_im) = inputs[line * 2 * n..(line + 1) * 2 * n].split_at(n);
                    let (v_re, v_im) = filter.split_at(n);
                    multiply_add(&mut sum_re, &mut sum_im, (x_re, x_im), (v_re, v_im));
                }
                for ((z, &r), &i) in buffer.iter_mut().zip(&sum_re).zip(&sum_im) {
                    *z = Complex::new(r, i);
                }
                self.inverse.process_with_scratch(&mut buffer, &mut scratch);
                for ((f, s), z) in first.iter_mut().zip(second.iter_mut()).zip(&buffer) {
                    (*f, *s) = (z.re, z.im);
                }
                emit(a, across, &first);
                if let Some(b) = b {
                    emit(b, across, &second);
                }
            }
        }
    }

    /// Whether outputs along the axis run along the output's rows (else down its columns).
    pub(super) fn along_rows(&self) -> bool {
        self.axis == Axis::Width
    }
}

/// `sum += x · v` bin by bin, complex numbers as separate real and imaginary parts, so that the
/// loop runs lane by lane (it vectorises the same way natively and in wasm).
#[inline(always)]
fn multiply_add(
    sum_re: &mut [f32],
    sum_im: &mut [f32],
    (x_re, x_im): (&[f32], &[f32]),
    (v_re, v_im): (&[f32], &[f32]),
) {
    for ((((sr, si), (&xr, &xi)), &vr), &vi) in
        sum_re.iter_mut().zip(sum_im.iter_mut()).zip(x_re.iter().zip(x_im)).zip(v_re).zip(v_im)
    {
        *sr += xr * vr - xi * vi;
        *si += xr * vi + xi * vr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_lengths_have_small_factors_only() {
        assert_eq!(fast_length(96), 96);
        assert_eq!(fast_length(314), 320);
        assert_eq!(fast_length(218), 256);
        assert_eq!(fast_length(250), 256);
        assert_eq!(fast_length(97), 128);
    }
}
