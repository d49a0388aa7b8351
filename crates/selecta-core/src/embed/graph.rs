//! Rewrites of the model graph before tract optimises it, for speed only.
//!
//! musicnn's front-end max-pools each convolution over the whole frequency axis, the innermost
//! one of tract's NCHW layout. tract runs a max-pool (and a max-reduction) through generic
//! window and axis iterators: ≈20 ms of a 74 ms patch natively, measured per node with tract's
//! `run_plan_with_eval`. [`MaxOverLastAxis`] does the same maximum as one pass over contiguous
//! rows that the compiler vectorises. Written here because tract offers no faster op for it.
//! Same numbers, bit for bit.
//!
//! In wasm, [`single_channel_convs_to_direct`] also hands the front-end's convolutions to
//! [`SingleChannelConv`] and the mid-end's, whose filters span the whole width, to
//! [`WholeWidthConv`] (see `conv.rs` for why), the long front-end filters through spectra
//! (`fft_conv.rs`); their sums run in another order than tract's, so outputs move in the last
//! bits (within the TensorFlow parity tolerance, tested).

use tract_nnef::prelude::*;
use tract_nnef::tract_core::internal::*;
use tract_nnef::tract_core::ops::cnn::{Conv, KernelFormat, MaxPool, PaddingSpec};
use tract_nnef::tract_core::ops::nn::DataFormat;
use tract_nnef::tract_core::{as_op, op_as_typed_op, op_out_of_plan};

use super::conv::{SingleChannelConv, WholeWidthConv};

/// Replace every max-pool whose window is exactly the whole innermost axis (size 1, stride 1
/// elsewhere, no padding or dilation) by [`MaxOverLastAxis`]. Returns how many were replaced.
pub fn whole_row_max_pools_to_row_max(model: &mut TypedModel) -> TractResult<usize> {
    let mut rewrites = Vec::new();
    for node in model.nodes() {
        if let Some(pool) = node.op_as::<MaxPool>()
            && pools_whole_last_axis(model, node, pool)?
        {
            rewrites.push(node.id);
        }
    }
    for &id in &rewrites {
        let node = model.node(id);
        TypedModelPatch::replace_single_op(model, node, &node.inputs, MaxOverLastAxis)?.apply(model)?;
    }
    if !rewrites.is_empty() {
        model.compact()?;
    }
    Ok(rewrites.len())
}

/// Replace every f32 convolution of a one-channel input (constant `OIHW` filters and bias,
/// stride and dilation 1, zero padding along the height only) by a direct one: NCHW by
/// [`SingleChannelConv`], NHWC with filters as wide as the input by [`WholeWidthConv`].
/// Returns how many were replaced.
pub fn single_channel_convs_to_direct(model: &mut TypedModel) -> TractResult<usize> {
    replace_convs(model, |_, _| true)
}

/// Replace the one-channel convolutions that [`SingleChannelConv::for_input`] runs through
/// spectra, and only those: natively tract's kernels stay faster for the others.
pub fn long_convs_to_spectral(model: &mut TypedModel) -> TractResult<usize> {
    replace_convs(model, |op, shape| {
        op.downcast_ref::<SingleChannelConv>().is_some_and(|conv| conv.is_spectral_for(shape[2], shape[3]))
    })
}

/// Replace each convolution that [`direct_conv`] computes, when `accept(op, input shape)`.
fn replace_convs(model: &mut TypedModel, accept: impl Fn(&dyn TypedOp, &[usize]) -> bool) -> TractResult<usize> {
    let mut rewrites = Vec::new();
    for node in model.nodes() {
        if let Some(conv) = node.op_as::<Conv>()
            && let Some(op) = direct_conv(model, node, conv)?
            && let Some(shape) = model.outlet_fact(node.inputs[0])?.shape.as_concrete()
            && accept(op.as_ref(), shape)
        {
            rewrites.push((node.id, op));
        }
    }
    let count = rewrites.len();
    for (id, op) in rewrites {
        let node = model.node(id);
        TypedModelPatch::replace_single_op(model, node, &node.inputs[..1], op)?.apply(model)?;
    }
    if count > 0 {
        model.compact()?;
    }
    Ok(count)
}

/// The direct convolution that computes `conv`, when it has one of their shapes.
fn direct_conv(model: &TypedModel, node: &TypedNode, conv: &Conv) -> TractResult<Option<Box<dyn TypedOp>>> {
    let spec = &conv.pool_spec;
    let input = model.outlet_fact(node.inputs[0])?;
    let Some(shape) = input.shape.as_concrete().filter(|s| s.len() == 4) else { return Ok(None) };
    if node.inputs.len() != 3
        || conv.q_params.is_some()
        || conv.group != 1
        || conv.kernel_fmt != KernelFormat::OIHW
        || spec.input_channels != 1
        || spec.kernel_shape.len() != 2
        || input.datum_type != f32::datum_type()
        || spec.dilations.as_ref().is_some_and(|d| d.iter().any(|&x| x != 1))
        || spec.strides.as_ref().is_some_and(|s| s.iter().any(|&x| x != 1))
    {
        return Ok(None);
    }
    let (pad_top, pad_bottom) = match &spec.padding {
        PaddingSpec::Valid => (0, 0),
        PaddingSpec::Explicit(before, after)
            if before.len() == 2 && after.len() == 2 && before[1] == 0 && after[1] == 0 =>
        {
            (before[0], after[0])
        }
        _ => return Ok(None),
    };
    let (Some(kernel), Some(bias)) =
        (model.outlet_fact(node.inputs[1])?.konst.clone(), model.outlet_fact(node.inputs[2])?.konst.clone())
    else {
        return Ok(None);
    };
    if kernel.datum_type() != f32::datum_type() || bias.datum_type() != f32::datum_type() {
        return Ok(None);
    }
    let filters = spec.output_channels;
    let bias = bias.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
    // A single bias value stands for every filter.
    let bias = if bias.len() == 1 { vec![bias[0]; filters] } else { bias };
    let kernel = kernel.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
    let [kernel_height, kernel_width] = [spec.kernel_shape[0], spec.kernel_shape[1]];
    let op: Box<dyn TypedOp> = match spec.data_format {
        DataFormat::NCHW => Box::new(SingleChannelConv::for_input(
            &kernel,
            &bias,
            [filters, kernel_height, kernel_width],
            [pad_top, pad_bottom],
            (shape[2], shape[3]),
        )?),
        DataFormat::NHWC if shape[3] == 1 && shape[2] == kernel_width => Box::new(WholeWidthConv::new(
            &kernel,
            &bias,
            [filters, kernel_height, kernel_width],
            [pad_top, pad_bottom],
        )?),
        _ => return Ok(None),
    };
    Ok(Some(op))
}

/// Whether `pool` only takes the maximum of each row along the innermost axis.
fn pools_whole_last_axis(model: &TypedModel, node: &TypedNode, pool: &MaxPool) -> TractResult<bool> {
    let spec = &pool.pool_spec;
    let no_padding = match &spec.padding {
        PaddingSpec::Valid => true,
        PaddingSpec::Explicit(before, after) | PaddingSpec::ExplicitOnnxPool(before, after, _) => {
            before.iter().chain(after).all(|&p| p == 0)
        }
        PaddingSpec::SameUpper | PaddingSpec::SameLower => false,
    };
    let input = model.outlet_fact(node.inputs[0])?;
    let Some(shape) = input.shape.as_concrete() else { return Ok(false) };
    let dilated = spec.dilations.as_ref().is_some_and(|d| d.iter().any(|&x| x != 1));
    if !no_padding || dilated || pool.with_index_outputs.is_some() || input.datum_type != f32::datum_type() {
        return Ok(false);
    }
    let data = spec.data_format.shape(shape.iter().copied().collect::<TVec<usize>>())?;
    let spatial = data.hw_axes();
    if spatial.end != shape.len() {
        return Ok(false);
    }
    let last = spec.kernel_shape.len() - 1;
    Ok(spec.kernel_shape.iter().zip(data.hw_dims()).enumerate().all(|(i, (&kernel, &size))| {
        let stride = spec.strides.as_ref().map_or(1, |s| s[i]);
        if i == last { kernel == size } else { kernel == 1 && stride == 1 }
    }))
}

/// The maximum of every row along the innermost axis of an f32 tensor; the axis stays, with
/// size 1 (what the max-pool it replaces outputs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MaxOverLastAxis;

impl Op for MaxOverLastAxis {
    fn name(&self) -> StaticName {
        "MaxOverLastAxis".into()
    }

    op_as_typed_op!();
}

impl EvalOp for MaxOverLastAxis {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = &inputs[0];
        let row = *input.shape().last().context("a scalar has no rows")?;
        let values = input.try_as_plain_ram()?.as_slice::<f32>()?;
        let maxima: Vec<f32> = if row == 0 { Vec::new() } else { values.chunks_exact(row).map(row_max).collect() };
        let mut shape: TVec<usize> = input.shape().into();
        if let Some(last) = shape.last_mut() {
            *last = 1;
        }
        Ok(tvec!(Tensor::from_shape(&shape, &maxima)?.into_tvalue()))
    }
}

impl TypedOp for MaxOverLastAxis {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape: TVec<TDim> = inputs[0].shape.to_tvec();
        let last = shape.last_mut().context("a scalar has no rows")?;
        *last = 1.to_dim();
        Ok(tvec!(inputs[0].datum_type.fact(shape)))
    }

    as_op!();
}

/// Maximum of a non-empty row, in eight independent lanes so that it vectorises (`f32::max`'s
/// NaN rule keeps compilers from doing so).
fn row_max(row: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let chunks = row.chunks_exact(8);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane = if x > *lane { x } else { *lane };
        }
    }
    let mut max = rest.iter().fold(f32::NEG_INFINITY, |m, &x| if x > m { x } else { m });
    for lane in lanes {
        max = if lane > max { lane } else { max };
    }
    max
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::embed) fn musicnn() -> TypedModel {
        // Compiled in, so the test needs no file system (the core also builds for wasm32); the
        // NNEF archive, which every build reads.
        let bytes: &[u8] = include_bytes!("../../../../resources/models/musicnn-msd/model.nnef.tar");
        let outputs = ["embedding".to_string(), "tags".to_string()];
        super::super::model_file::typed_model(bytes, &[1, 187, 96], &outputs).expect("typed model")
    }

    /// Log-mel-like values in [0, 4), from the crate's deterministic generator.
    pub(in crate::embed) fn noise(len: usize) -> Vec<f32> {
        let mut rng = crate::testkit::synth_library::Rng::new(0x2545_f491);
        (0..len).map(|_| 4.0 * rng.uniform()).collect()
    }

    pub(in crate::embed) fn run(model: TypedModel, input: &Tensor) -> Vec<Vec<f32>> {
        let plan = model.into_optimized().and_then(|m| m.into_runnable()).expect("plan");
        let outputs = plan.run(tvec!(input.clone().into_tvalue())).expect("runs");
        outputs.iter().map(|o| o.to_plain_array_view::<f32>().expect("f32").iter().copied().collect()).collect()
    }

    #[test]
    fn musicnn_frequency_pools_become_reductions_with_identical_outputs() {
        let original = musicnn();
        let mut rewritten = original.clone();
        // Five front-end branches, each pooled over the whole frequency axis.
        assert_eq!(whole_row_max_pools_to_row_max(&mut rewritten).expect("rewrite"), 5);
        assert!(!rewritten.nodes().iter().any(|n| n.op_is::<MaxPool>()));
        let input = Tensor::from_shape(&[1, 187, 96], &noise(187 * 96)).expect("input");
        // A maximum is a maximum: the same numbers, bit for bit.
        assert_eq!(run(original, &input), run(rewritten, &input));
    }

    #[test]
    fn musicnn_long_filters_run_through_spectra_with_the_same_outputs() {
        let original = musicnn();
        let mut rewritten = original.clone();
        // The two timbral banks and the 128- and 64-frame temporal ones; tract keeps the rest.
        assert_eq!(long_convs_to_spectral(&mut rewritten).expect("rewrite"), 4);
        assert_eq!(rewritten.nodes().iter().filter(|n| n.op_is::<Conv>()).count(), 4);
        let input = Tensor::from_shape(&[1, 187, 96], &noise(187 * 96)).expect("input");
        let (expected, actual) = (run(original, &input), run(rewritten, &input));
        for (e, a) in expected.iter().zip(&actual) {
            let diff = e.iter().zip(a).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(diff < 2e-5, "outputs differ by {diff}");
        }
    }

    #[test]
    fn musicnn_convolutions_run_direct_with_the_same_outputs() {
        let original = musicnn();
        let mut rewritten = original.clone();
        // Two timbral and three temporal filter banks over the one-channel log-mel patch, then
        // the mid-end's three over all the features of 7 frames.
        assert_eq!(single_channel_convs_to_direct(&mut rewritten).expect("rewrite"), 8);
        assert!(!rewritten.nodes().iter().any(|n| n.op_is::<Conv>()), "a convolution is left to tract");
        assert_eq!(rewritten.nodes().iter().filter(|n| n.op_is::<WholeWidthConv>()).count(), 3);
        // The timbral banks and the 128- and 64-frame temporal ones run through spectra.
        let spectral = rewritten
            .nodes()
            .iter()
            .filter_map(|n| n.op_as::<SingleChannelConv>())
            .filter(|conv| conv.is_spectral_for(187, 96))
            .count();
        assert_eq!(spectral, 4);
        let input = Tensor::from_shape(&[1, 187, 96], &noise(187 * 96)).expect("input");
        let (expected, actual) = (run(original, &input), run(rewritten, &input));
        for (e, a) in expected.iter().zip(&actual) {
            let diff = e.iter().zip(a).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(diff < 2e-5, "outputs differ by {diff}");
        }
    }
}
