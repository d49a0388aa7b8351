//! A direct 2-D convolution of a single-channel input, for the wasm build of the embedding.
//!
//! musicnn's front-end convolves the log-mel patch (one channel) with five filter banks: 204
//! filters of 7×38 and 7×67, 51 of 128×1, 64×1 and 32×1. tract lowers each to im2col and a
//! matrix product whose wasm kernel keeps 16 four-lane accumulators; V8 on x86-64 has 16 SIMD
//! registers (one kept for scratch), so that kernel spills and reaches ≈18 GFLOP/s, and these
//! five layers were ≈150 of the 167 ms a patch took in wasm (measured per node with
//! [`super::Embedder::profile_patch`]). Natively tract's AVX-512 kernels reach ≈55 GFLOP/s and
//! keep the job.
//!
//! Here the product needs no im2col: an output tile is [`TILE_CHANNELS`] filters × 8
//! neighbouring outputs of one row, whose inputs for a given filter tap are 8 contiguous values
//! of the zero-padded input. Eight accumulators, two input vectors, a broadcast weight and the
//! product fit in V8's registers. tract offers no hook to change its wasm kernel's tile, hence
//! this op. Arithmetic is a multiply then an add per tap (no fused multiply-add), so the wasm
//! SIMD path and the portable one below give the same bits; the portable one lets native tests
//! check the tiling against tract's own convolution.
//!
//! Most of the time went elsewhere, though: most of musicnn's front-end filters decayed to
//! ≈1e-30 in training (see [`DEAD_WEIGHT`]), and multiplying by them gives subnormal products,
//! a microcode assist each on x86 when there is no fused multiply-add. Skipping those filters
//! took a wasm patch from ≈100 ms (this tiling alone, 167 ms with tract's kernel) to 41–54 ms.
//!
//! [`SingleChannelConv::for_input`] plans, for the one input size the model feeds it, the same
//! convolution through spectra where that costs fewer operations (`fft_conv.rs`): musicnn's
//! timbral banks and its 128- and 64-frame temporal ones.
//!
//! Public so that `tests/conv.rs` checks it on both lane implementations: natively and, in
//! CI's wasm32 pass, on wasm SIMD.

use std::sync::Arc;

use tract_nnef::prelude::*;
use tract_nnef::tract_core::internal::*;
use tract_nnef::tract_core::{as_op, op_as_typed_op, op_out_of_plan};

use super::fft_conv::FftCorrelation;

/// Filters computed together by one tile (one broadcast weight each).
pub const TILE_CHANNELS: usize = 4;
/// Outputs of one row computed together (two four-lane vectors).
const TILE_WIDTH: usize = 8;
/// A filter whose weights are all this small is skipped: it outputs its bias. musicnn's
/// front-end has many such filters (weight decay left them at ≈1e-30): 164 of the 204 7×38
/// filters, 183 of the 204 7×67, 51 of the 153 temporal ones. What they would add is below
/// `taps · 1e-25 · |input|`, far under f32 resolution next to the bias; and without a fused
/// multiply-add, their products are subnormal numbers, which cost x86 CPUs a microcode assist.
pub(super) const DEAD_WEIGHT: f32 = 1e-25;

/// Four f32 lanes: wasm SIMD where the build has it, plain arrays elsewhere (same arithmetic).
mod lanes {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    mod imp {
        use core::arch::wasm32::{f32x4, f32x4_add, f32x4_extract_lane, f32x4_mul, f32x4_splat, v128};

        #[derive(Clone, Copy)]
        pub struct F4(v128);

        impl F4 {
            #[inline(always)]
            pub fn splat(x: f32) -> Self {
                Self(f32x4_splat(x))
            }
            #[inline(always)]
            pub fn load(x: &[f32; 4]) -> Self {
                Self(f32x4(x[0], x[1], x[2], x[3]))
            }
            /// `self + a·b`, rounded after the multiply and after the add.
            #[inline(always)]
            pub fn mul_add(self, a: Self, b: Self) -> Self {
                Self(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
            }
            #[inline(always)]
            pub fn to_array(self) -> [f32; 4] {
                [
                    f32x4_extract_lane::<0>(self.0),
                    f32x4_extract_lane::<1>(self.0),
                    f32x4_extract_lane::<2>(self.0),
                    f32x4_extract_lane::<3>(self.0),
                ]
            }
        }
    }

    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    mod imp {
        #[derive(Clone, Copy)]
        pub struct F4([f32; 4]);

        impl F4 {
            #[inline(always)]
            pub fn splat(x: f32) -> Self {
                Self([x; 4])
            }
            #[inline(always)]
            pub fn load(x: &[f32; 4]) -> Self {
                Self(*x)
            }
            /// `self + a·b`, rounded after the multiply and after the add.
            #[inline(always)]
            pub fn mul_add(self, a: Self, b: Self) -> Self {
                Self(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
            }
            #[inline(always)]
            pub fn to_array(self) -> [f32; 4] {
                self.0
            }
        }
    }

    pub use imp::F4;
}

use lanes::F4;

/// Convolution geometry and weights: input `[N, 1, H, W]`, filters `[O, 1, KH, KW]`, stride and
/// dilation 1, `pad_top`/`pad_bottom` zero rows, no padding across the width; output
/// `[N, O, H + pad_top + pad_bottom − KH + 1, W − KW + 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SingleChannelConv {
    filters: usize,
    kernel_height: usize,
    kernel_width: usize,
    pad_top: usize,
    pad_bottom: usize,
    /// The filters with weights, in order; the others output their bias.
    live: Arc<Vec<usize>>,
    /// Per tile of [`TILE_CHANNELS`] live filters: `[KH][KW][TILE_CHANNELS]` (zeros past the
    /// last live filter).
    packed: Arc<Vec<f32>>,
    /// Bias of the live filters, rounded up to whole tiles with zeros.
    live_bias: Arc<Vec<f32>>,
    /// Bias of every filter.
    bias: Arc<Vec<f32>>,
    /// The same convolution through spectra, for the one input size it was planned for, where
    /// that costs fewer operations.
    spectral: Option<Arc<FftCorrelation>>,
}

impl std::hash::Hash for SingleChannelConv {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.filters, self.kernel_height, self.kernel_width, self.pad_top, self.pad_bottom).hash(state);
        self.packed.iter().chain(self.bias.iter()).for_each(|x| x.to_bits().hash(state));
        self.live.hash(state);
        self.spectral.as_ref().map(|plan| plan.input_size()).hash(state);
    }
}

impl Eq for SingleChannelConv {}

impl SingleChannelConv {
    /// From `OIHW` filters with one input channel (`kernel.len() = filters·KH·KW`) and one bias
    /// per filter.
    pub fn new(
        kernel: &[f32],
        bias: &[f32],
        [filters, kernel_height, kernel_width]: [usize; 3],
        [pad_top, pad_bottom]: [usize; 2],
    ) -> TractResult<Self> {
        let taps = kernel_height * kernel_width;
        ensure!(filters > 0 && taps > 0, "empty convolution");
        ensure!(kernel.len() == filters * taps, "kernel has {} values, expected {}", kernel.len(), filters * taps);
        ensure!(bias.len() == filters, "bias has {} values, expected {filters}", bias.len());
        let live: Vec<usize> = kernel
            .chunks_exact(taps)
            .enumerate()
            .filter(|(_, weights)| weights.iter().any(|w| w.abs() > DEAD_WEIGHT))
            .map(|(filter, _)| filter)
            .collect();
        let tiles = live.len().div_ceil(TILE_CHANNELS);
        let mut packed = vec![0.0f32; tiles * taps * TILE_CHANNELS];
        let mut live_bias = vec![0.0f32; tiles * TILE_CHANNELS];
        for (slot, &filter) in live.iter().enumerate() {
            let (tile, lane) = (slot / TILE_CHANNELS, slot % TILE_CHANNELS);
            for (tap, &w) in kernel[filter * taps..(filter + 1) * taps].iter().enumerate() {
                packed[(tile * taps + tap) * TILE_CHANNELS + lane] = w;
            }
            live_bias[slot] = bias[filter];
        }
        Ok(Self {
            filters,
            kernel_height,
            kernel_width,
            pad_top,
            pad_bottom,
            live: Arc::new(live),
            packed: Arc::new(packed),
            live_bias: Arc::new(live_bias),
            bias: Arc::new(bias.to_vec()),
            spectral: None,
        })
    }

    /// [`Self::new`] for inputs of `height × width`: where correlating through spectra along
    /// the filters' long axis costs fewer operations (see `fft_conv.rs`), inputs of that size
    /// take that path; other sizes run directly.
    pub fn for_input(
        kernel: &[f32],
        bias: &[f32],
        dims: [usize; 3],
        pads: [usize; 2],
        (height, width): (usize, usize),
    ) -> TractResult<Self> {
        let mut conv = Self::new(kernel, bias, dims, pads)?;
        let [_, kernel_height, kernel_width] = dims;
        conv.spectral = FftCorrelation::plan(kernel, &conv.live, [kernel_height, kernel_width], pads, (height, width))
            .map(Arc::new);
        Ok(conv)
    }

    /// Whether inputs of `height × width` run through spectra.
    pub fn is_spectral_for(&self, height: usize, width: usize) -> bool {
        self.spectral.as_ref().is_some_and(|plan| plan.fits(height, width))
    }

    /// Number of filters, live or not.
    pub fn filters(&self) -> usize {
        self.filters
    }

    /// The filters with weights, in order (the others output their bias).
    pub fn live_filters(&self) -> &[usize] {
        &self.live
    }

    /// Output height and width for an input of `height × width`, `None` when the filters do
    /// not fit.
    pub fn output_size(&self, height: usize, width: usize) -> Option<(usize, usize)> {
        let padded = height + self.pad_top + self.pad_bottom;
        Some((padded.checked_sub(self.kernel_height)? + 1, width.checked_sub(self.kernel_width)? + 1))
    }

    /// Convolve one `height × width` plane into `output` (`[filters][out_h][out_w]`).
    pub fn run_plane(&self, input: &[f32], height: usize, width: usize, output: &mut [f32]) -> TractResult<()> {
        let (out_h, out_w) = self.output_size(height, width).context("convolution filter larger than its input")?;
        ensure!(input.len() == height * width, "input plane has {} values, expected {}", input.len(), height * width);
        ensure!(output.len() == self.filters * out_h * out_w, "output plane has the wrong size");
        let plane = out_h * out_w;
        // Filters without weights output their bias everywhere (`live` is in filter order).
        let mut live = self.live.iter().peekable();
        for (filter, out) in output.chunks_exact_mut(plane.max(1)).enumerate().take(self.filters) {
            if live.next_if_eq(&&filter).is_none() {
                out.fill(self.bias[filter]);
            }
        }
        if let Some(spectral) = self.spectral.as_ref().filter(|plan| plan.fits(height, width)) {
            let along_rows = spectral.along_rows();
            spectral.run(input, |slot, across, values| {
                let filter = self.live[slot];
                let (bias, out) = (self.bias[filter], &mut output[filter * plane..(filter + 1) * plane]);
                if along_rows {
                    for (o, &v) in out[across * out_w..(across + 1) * out_w].iter_mut().zip(values) {
                        *o = v + bias;
                    }
                } else {
                    for (o, &v) in out[across..].iter_mut().step_by(out_w).zip(values) {
                        *o = v + bias;
                    }
                }
            });
            return Ok(());
        }
        // Zero rows above and below, zero columns on the right so that every tile is whole.
        let tiles_across = out_w.div_ceil(TILE_WIDTH);
        let padded_w = tiles_across * TILE_WIDTH + self.kernel_width - 1;
        let padded_h = height + self.pad_top + self.pad_bottom;
        let mut padded = vec![0.0f32; padded_h * padded_w];
        for (row, source) in input.chunks_exact(width).enumerate() {
            let start = (row + self.pad_top) * padded_w;
            padded[start..start + width].copy_from_slice(source);
        }
        let (kh, kw) = (self.kernel_height, self.kernel_width);
        let reach = (kh - 1) * padded_w + kw - 1 + TILE_WIDTH;
        let tile_weights = kh * kw * TILE_CHANNELS;
        for (tile, (weights, bias)) in
            self.packed.chunks_exact(tile_weights).zip(self.live_bias.chunks_exact(TILE_CHANNELS)).enumerate()
        {
            let filters = &self.live[tile * TILE_CHANNELS..self.live.len().min((tile + 1) * TILE_CHANNELS)];
            for y in 0..out_h {
                for across in 0..tiles_across {
                    let x0 = across * TILE_WIDTH;
                    let start = y * padded_w + x0;
                    let window = &padded[start..start + reach];
                    let acc = tile_sums(window, padded_w, (kh, kw), weights, bias);
                    let valid = TILE_WIDTH.min(out_w - x0);
                    for (&filter, sums) in filters.iter().zip(&acc) {
                        let at = filter * plane + y * out_w + x0;
                        output[at..at + valid].copy_from_slice(&sums[..valid]);
                    }
                }
            }
        }
        Ok(())
    }
}

/// The sums of one tile: `TILE_CHANNELS` filters × `TILE_WIDTH` outputs of a `kh × kw` kernel;
/// kernel row `i` reads the `kw + TILE_WIDTH − 1` inputs from `window[i · stride..]`, tap `j` of
/// it the `TILE_WIDTH` of them from `j`. Sliced once per kernel row, so that the taps along it
/// run without a bounds check each.
#[inline(always)]
fn tile_sums(
    window: &[f32],
    stride: usize,
    (kh, kw): (usize, usize),
    weights: &[f32],
    bias: &[f32],
) -> [[f32; TILE_WIDTH]; TILE_CHANNELS] {
    let mut acc = [[F4::splat(0.0); 2]; TILE_CHANNELS];
    for (pair, &b) in acc.iter_mut().zip(bias) {
        *pair = [F4::splat(b); 2];
    }
    let mut tap = |inputs: &[f32], w: &[f32]| {
        let (low, high) = inputs.split_at(4);
        let (Some(low), Some(high)) = (low.first_chunk::<4>(), high.first_chunk::<4>()) else { return };
        let (low, high) = (F4::load(low), F4::load(high));
        for (pair, &weight) in acc.iter_mut().zip(w) {
            let weight = F4::splat(weight);
            pair[0] = pair[0].mul_add(weight, low);
            pair[1] = pair[1].mul_add(weight, high);
        }
    };
    if kw == 1 {
        // A column of taps (musicnn's temporal filters): one slice per tap either way.
        for (i, w) in weights.chunks_exact(TILE_CHANNELS).enumerate().take(kh) {
            let Some(inputs) = window.get(i * stride..i * stride + TILE_WIDTH) else { break };
            tap(inputs, w);
        }
    } else {
        let row_len = kw + TILE_WIDTH - 1;
        for (i, row_weights) in weights.chunks_exact(kw * TILE_CHANNELS).enumerate().take(kh) {
            let Some(row) = window.get(i * stride..i * stride + row_len) else { break };
            for (inputs, w) in row.windows(TILE_WIDTH).zip(row_weights.chunks_exact(TILE_CHANNELS)) {
                tap(inputs, w);
            }
        }
    }
    acc.map(|[low, high]| {
        let (low, high) = (low.to_array(), high.to_array());
        std::array::from_fn(|i| if i < 4 { low[i] } else { high[i - 4] })
    })
}

/// A one-channel convolution's batch, plane by plane: `run(plane, out)` turns each input plane
/// of `in_plane` values into its share of an output tensor of `shape` (batch first).
fn per_plane(
    input: &TValue,
    in_plane: usize,
    shape: &[usize],
    run: impl Fn(&[f32], &mut [f32]) -> TractResult<()>,
) -> TractResult<TVec<TValue>> {
    let values = input.try_as_plain_ram()?.as_slice::<f32>()?;
    let batch = shape.first().copied().unwrap_or(0);
    let out_plane: usize = shape.iter().skip(1).product();
    ensure!(values.len() == batch * in_plane, "input has {} values for shape {:?}", values.len(), input.shape());
    let mut output = vec![0.0f32; batch * out_plane];
    for (item, out) in output.chunks_exact_mut(out_plane.max(1)).enumerate().take(batch) {
        run(&values[item * in_plane..(item + 1) * in_plane], out)?;
    }
    Ok(tvec!(Tensor::from_shape(shape, &output)?.into_tvalue()))
}

impl Op for SingleChannelConv {
    fn name(&self) -> StaticName {
        "SingleChannelConv".into()
    }

    op_as_typed_op!();
}

impl EvalOp for SingleChannelConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = &inputs[0];
        let &[batch, channels, height, width] = input.shape() else { bail!("expected an NCHW input") };
        ensure!(channels == 1, "expected one input channel, got {channels}");
        let (out_h, out_w) = self.output_size(height, width).context("convolution filter larger than its input")?;
        per_plane(input, height * width, &[batch, self.filters, out_h, out_w], |plane, out| {
            self.run_plane(plane, height, width, out)
        })
    }
}

impl TypedOp for SingleChannelConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = inputs[0].shape.as_concrete().context("SingleChannelConv needs a concrete input shape")?;
        let &[batch, _, height, width] = shape else { bail!("expected an NCHW input") };
        let (out_h, out_w) = self.output_size(height, width).context("convolution filter larger than its input")?;
        Ok(tvec!(f32::fact([batch, self.filters, out_h, out_w])))
    }

    as_op!();
}

/// A convolution of a one-channel `NHWC` input `[N, H, W, 1]` whose filters `[O, 1, KH, W]` span
/// its whole width, with `pad_top`/`pad_bottom` zero rows: output `[N, H + pad_top + pad_bottom −
/// KH + 1, 1, O]`. musicnn's mid-end is three of these (7 frames × all 561 front-end features,
/// then 7 × 64), the first of them a sixth of a wasm patch in tract's matrix product.
///
/// Each input row gives one output, so a [`SingleChannelConv`] tile of neighbouring outputs
/// along a row would hold a single one. This op transposes the input (rows become the time
/// axis, already padded) and the filters, and runs that [`SingleChannelConv`]: its tiles of 8
/// outputs then run along time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WholeWidthConv {
    /// Filters `[O, 1, W, KH]` over the transposed, padded input `[W, H + pad_top + pad_bottom]`.
    transposed: SingleChannelConv,
    kernel_height: usize,
    width: usize,
    pad_top: usize,
    pad_bottom: usize,
}

impl WholeWidthConv {
    /// From `OIHW` filters `[filters, 1, kernel_height, width]` and one bias per filter.
    pub fn new(
        kernel: &[f32],
        bias: &[f32],
        [filters, kernel_height, width]: [usize; 3],
        [pad_top, pad_bottom]: [usize; 2],
    ) -> TractResult<Self> {
        let taps = kernel_height * width;
        ensure!(kernel.len() == filters * taps, "kernel has {} values, expected {}", kernel.len(), filters * taps);
        let mut transposed = vec![0.0f32; kernel.len()];
        for (filter, weights) in kernel.chunks_exact(taps.max(1)).enumerate() {
            for (i, row) in weights.chunks_exact(width.max(1)).enumerate() {
                for (j, &w) in row.iter().enumerate() {
                    transposed[filter * taps + j * kernel_height + i] = w;
                }
            }
        }
        let transposed = SingleChannelConv::new(&transposed, bias, [filters, width, kernel_height], [0, 0])?;
        Ok(Self { transposed, kernel_height, width, pad_top, pad_bottom })
    }

    /// Output rows for an input of `height` rows, `None` when the filters do not fit.
    pub fn output_height(&self, height: usize) -> Option<usize> {
        Some((height + self.pad_top + self.pad_bottom).checked_sub(self.kernel_height)? + 1)
    }

    /// Convolve one `height × width` plane (row-major) into `output` (`[out_h][filters]`).
    pub fn run_plane(&self, input: &[f32], height: usize, output: &mut [f32]) -> TractResult<()> {
        let width = self.width;
        let out_h = self.output_height(height).context("convolution filter taller than its input")?;
        ensure!(input.len() == height * width, "input plane has {} values, expected {}", input.len(), height * width);
        let filters = self.transposed.filters();
        ensure!(output.len() == out_h * filters, "output plane has the wrong size");
        let padded_h = height + self.pad_top + self.pad_bottom;
        let mut transposed = vec![0.0f32; width * padded_h];
        for (row, values) in input.chunks_exact(width.max(1)).enumerate() {
            for (column, &x) in values.iter().enumerate() {
                transposed[column * padded_h + self.pad_top + row] = x;
            }
        }
        let mut planes = vec![0.0f32; filters * out_h];
        self.transposed.run_plane(&transposed, width, padded_h, &mut planes)?;
        for (filter, plane) in planes.chunks_exact(out_h.max(1)).enumerate() {
            for (t, &x) in plane.iter().enumerate() {
                output[t * filters + filter] = x;
            }
        }
        Ok(())
    }
}

impl Op for WholeWidthConv {
    fn name(&self) -> StaticName {
        "WholeWidthConv".into()
    }

    op_as_typed_op!();
}

impl EvalOp for WholeWidthConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = &inputs[0];
        let &[batch, height, width, channels] = input.shape() else { bail!("expected an NHWC input") };
        ensure!(channels == 1 && width == self.width, "expected [N, H, {}, 1], got {:?}", self.width, input.shape());
        let out_h = self.output_height(height).context("convolution filter taller than its input")?;
        per_plane(input, height * width, &[batch, out_h, 1, self.transposed.filters()], |plane, out| {
            self.run_plane(plane, height, out)
        })
    }
}

impl TypedOp for WholeWidthConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = inputs[0].shape.as_concrete().context("WholeWidthConv needs a concrete input shape")?;
        let &[batch, height, _, _] = shape else { bail!("expected an NHWC input") };
        let out_h = self.output_height(height).context("convolution filter taller than its input")?;
        Ok(tvec!(f32::fact([batch, out_h, 1, self.transposed.filters()])))
    }

    as_op!();
}
