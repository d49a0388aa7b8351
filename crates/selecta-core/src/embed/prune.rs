//! Dead-filter pruning of the model's convolutions, for speed only.
//!
//! Weight decay left most of musicnn's front-end filters at ≈1e-30 (164 of the 204 7×38
//! filters, 183 of the 204 7×67, 51 of the 153 temporal ones; see [`DEAD_WEIGHT`]). Such a
//! filter outputs its bias plus less than `taps · 1e-25 · |input|`, far under f32 resolution,
//! yet tract's convolution multiplies by every one of them: natively the two timbral banks were
//! ≈35 of the ≈54 ms a patch took (measured per node with [`super::Embedder::profile_patch`]).
//! [`prune_dead_filters`] gives each such convolution only its live filters, still run by
//! tract's own kernels, and [`ScatterChannels`] puts the live outputs back in place among
//! planes filled with the dead filters' bias. tract has no pass that drops near-zero filters,
//! hence this rewrite.

use tract_nnef::prelude::*;
use tract_nnef::tract_core::internal::*;
use tract_nnef::tract_core::ops::cnn::{Conv, KernelFormat};
use tract_nnef::tract_core::ops::nn::DataFormat;
use tract_nnef::tract_core::{as_op, op_as_typed_op, op_out_of_plan};

use tract_nnef::tract_core::ops::binary::TypedBinOp;
use tract_nnef::tract_core::ops::element_wise::ElementWiseOp;

use super::conv::DEAD_WEIGHT;
use super::graph::MaxOverLastAxis;

/// Give every f32 NCHW convolution with constant `OIHW` filters and bias, some of whose filters
/// are dead (every weight below [`DEAD_WEIGHT`]), only its live filters, followed by a
/// [`ScatterChannels`] that restores the full output. Returns how many were pruned.
pub fn prune_dead_filters(model: &mut TypedModel) -> TractResult<usize> {
    let mut pruned = 0;
    for id in 0..model.nodes().len() {
        let node = model.node(id);
        let Some(conv) = node.op_as::<Conv>() else { continue };
        let Some(plan) = pruning_plan(model, node, conv)? else { continue };
        let mut patch = TypedModelPatch::default();
        let input = patch.tap_model(model, node.inputs[0])?;
        let kernel = patch.add_const(format!("{}.live_kernel", node.name), plan.kernel)?;
        let bias = patch.add_const(format!("{}.live_bias", node.name), plan.bias)?;
        let mut live_conv = conv.clone();
        live_conv.pool_spec.output_channels = plan.scatter.live.len();
        let live = patch.wire_node(format!("{}.live", node.name), live_conv, &[input, kernel, bias])?;
        let full = patch.wire_node(format!("{}.scatter", node.name), plan.scatter, &live)?;
        patch.shunt_outside(model, id.into(), full[0])?;
        patch.apply(model)?;
        pruned += 1;
    }
    if pruned > 0 {
        model.compact()?;
        while let Some((scatter, next)) = sinkable_scatter(model)? {
            sink_scatter(model, scatter, next)?;
            model.compact()?;
        }
    }
    Ok(pruned)
}

/// A [`ScatterChannels`] node whose only reader works channel by channel, so that it can run
/// on the live channels alone: an elementwise op, a binary op with a constant of one value per
/// channel (or one in all), or a row maximum. The dead channels are constant planes, so
/// whatever these ops make of them is again one constant per channel.
fn sinkable_scatter(model: &TypedModel) -> TractResult<Option<(usize, usize)>> {
    for node in model.nodes() {
        let Some(scatter) = node.op_as::<ScatterChannels>() else { continue };
        let outlet = OutletId::new(node.id, 0);
        let [reader] = node.outputs[0].successors.as_slice() else { continue };
        if model.output_outlets()?.contains(&outlet) {
            continue;
        }
        let next = model.node(reader.node);
        let rank = model.outlet_fact(outlet)?.rank();
        let channel_wise = if next.op_is::<MaxOverLastAxis>() || next.op_is::<ElementWiseOp>() {
            next.inputs.len() == 1
        } else if next.op_is::<TypedBinOp>() {
            next.inputs.len() == 2
                && next.inputs.iter().filter(|i| **i != outlet).all(|&other| {
                    model.outlet_fact(other).ok().and_then(|f| f.konst.as_ref()).is_some_and(|k| {
                        k.rank() == rank
                            && k.shape()
                                .iter()
                                .enumerate()
                                .all(|(axis, &d)| d == 1 || (axis == 1 && d == scatter.fill.len()))
                    })
                })
                && next.inputs.iter().filter(|i| **i == outlet).count() == 1
        } else {
            false
        };
        if channel_wise {
            return Ok(Some((node.id, next.id)));
        }
    }
    Ok(None)
}

/// Run `next` on the live channels, then scatter: its constant operand keeps only the live
/// channels' values, and the fill becomes what `next` makes of the dead channels' planes.
fn sink_scatter(model: &mut TypedModel, scatter_id: usize, next_id: usize) -> TractResult<()> {
    let scatter_node = model.node(scatter_id);
    let scatter = scatter_node.op_as::<ScatterChannels>().context("not a ScatterChannels")?.clone();
    let outlet = OutletId::new(scatter_id, 0);
    let rank = model.outlet_fact(outlet)?.rank();
    let next = model.node(next_id);
    let channels = scatter.fill.len();
    let mut fill_shape = tvec![1usize; rank];
    fill_shape[1] = channels;
    let fill = Tensor::from_shape(&fill_shape, &scatter.fill)?;

    let mut patch = TypedModelPatch::default();
    let mut live_inputs = tvec![];
    let mut fill_inputs = tvec![];
    for (slot, &input) in next.inputs.iter().enumerate() {
        if input == outlet {
            live_inputs.push(patch.tap_model(model, scatter_node.inputs[0])?);
            fill_inputs.push(fill.clone().into_tvalue());
        } else {
            let konst = model.outlet_fact(input)?.konst.clone().context("operand is not a constant")?;
            let live_konst = if konst.shape()[1] == channels {
                let values = konst.cast_to::<f32>()?;
                let values = values.try_as_plain_ram()?.as_slice::<f32>()?;
                let kept: Vec<f32> = scatter.live.iter().map(|&c| values[c]).collect();
                let mut shape: TVec<usize> = konst.shape().into();
                shape[1] = scatter.live.len();
                Tensor::from_shape(&shape, &kept)?.cast_to_dt(konst.datum_type())?.into_owned()
            } else {
                konst.as_ref().clone()
            };
            live_inputs.push(patch.add_const(format!("{}.live_operand_{slot}", next.name), live_konst)?);
            fill_inputs.push(konst.as_ref().clone().into_tvalue());
        }
    }
    let new_fill = if next.op_is::<MaxOverLastAxis>() {
        // The maximum of a constant plane's rows is that constant.
        scatter.fill.clone()
    } else {
        let out = next.op.eval_out_of_plan(fill_inputs)?.context("operand cannot be evaluated alone")?;
        let out = out[0].cast_to::<f32>()?;
        let values = out.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
        ensure!(values.len() == channels, "{} made {} values of {channels} channel fills", next.name, values.len());
        values
    };
    let live = patch.wire_node(format!("{}.live", next.name), next.op.clone(), &live_inputs)?;
    let full = patch.wire_node(
        format!("{}.scatter", next.name),
        ScatterChannels { live: scatter.live, fill: new_fill },
        &live,
    )?;
    patch.shunt_outside(model, OutletId::new(next_id, 0), full[0])?;
    patch.apply(model)
}

/// The live filters' kernel and bias and the op that restores the full output.
struct PruningPlan {
    kernel: Tensor,
    bias: Tensor,
    scatter: ScatterChannels,
}

/// How to prune `conv`, when it has the supported shape and at least one dead filter.
fn pruning_plan(model: &TypedModel, node: &TypedNode, conv: &Conv) -> TractResult<Option<PruningPlan>> {
    let spec = &conv.pool_spec;
    let input = model.outlet_fact(node.inputs[0])?;
    if node.inputs.len() != 3
        || conv.q_params.is_some()
        || conv.group != 1
        || conv.kernel_fmt != KernelFormat::OIHW
        || spec.data_format != DataFormat::NCHW
        || input.datum_type != f32::datum_type()
    {
        return Ok(None);
    }
    let (Some(kernel), Some(bias)) =
        (model.outlet_fact(node.inputs[1])?.konst.clone(), model.outlet_fact(node.inputs[2])?.konst.clone())
    else {
        return Ok(None);
    };
    if kernel.datum_type() != f32::datum_type() || bias.datum_type() != f32::datum_type() {
        return Ok(None);
    }
    let filters = spec.output_channels;
    let weights = kernel.try_as_plain_ram()?.as_slice::<f32>()?;
    if filters == 0 || weights.is_empty() || weights.len() % filters != 0 {
        return Ok(None);
    }
    let per_filter = weights.len() / filters;
    let live: Vec<usize> = weights
        .chunks_exact(per_filter)
        .enumerate()
        .filter(|(_, w)| w.iter().any(|w| w.abs() > DEAD_WEIGHT))
        .map(|(filter, _)| filter)
        .collect();
    // Nothing to gain, or nothing left to convolve (an all-dead bank is left to tract).
    if live.len() == filters || live.is_empty() {
        return Ok(None);
    }
    let bias = bias.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
    // A single bias value stands for every filter.
    let bias = if bias.len() == 1 { vec![bias[0]; filters] } else { bias };
    if bias.len() != filters {
        return Ok(None);
    }
    let live_weights: Vec<f32> =
        live.iter().flat_map(|&f| weights[f * per_filter..(f + 1) * per_filter].iter().copied()).collect();
    let mut kernel_shape: TVec<usize> = kernel.shape().into();
    kernel_shape[0] = live.len();
    let live_bias: Vec<f32> = live.iter().map(|&f| bias[f]).collect();
    Ok(Some(PruningPlan {
        kernel: Tensor::from_shape(&kernel_shape, &live_weights)?,
        bias: Tensor::from_shape(&[live.len()], &live_bias)?,
        scatter: ScatterChannels { live, fill: bias },
    }))
}

/// Widens an NCHW tensor of the live channels to every channel: channel `live[i]` is input
/// channel `i`; every other channel `c` is a plane filled with `fill[c]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScatterChannels {
    /// Output channel of each input channel, increasing.
    live: Vec<usize>,
    /// One value per output channel (used for the channels not in `live`).
    fill: Vec<f32>,
}

impl std::hash::Hash for ScatterChannels {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.live.hash(state);
        self.fill.iter().for_each(|x| x.to_bits().hash(state));
    }
}

impl Eq for ScatterChannels {}

impl Op for ScatterChannels {
    fn name(&self) -> StaticName {
        "ScatterChannels".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ScatterChannels {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = &inputs[0];
        let shape = input.shape();
        ensure!(
            shape.len() >= 2 && shape[1] == self.live.len(),
            "expected {} channels, got {shape:?}",
            self.live.len()
        );
        let batch = shape[0];
        let plane: usize = shape[2..].iter().product();
        let channels = self.fill.len();
        let values = input.try_as_plain_ram()?.as_slice::<f32>()?;
        ensure!(values.len() == batch * self.live.len() * plane, "input has {} values for {shape:?}", values.len());
        let mut output = vec![0.0f32; batch * channels * plane];
        if plane > 0 {
            for (item, out) in output.chunks_exact_mut(channels * plane).enumerate() {
                let item_input = &values[item * self.live.len() * plane..(item + 1) * self.live.len() * plane];
                let mut live = self.live.iter().zip(item_input.chunks_exact(plane)).peekable();
                for (channel, out) in out.chunks_exact_mut(plane).enumerate() {
                    match live.next_if(|(c, _)| **c == channel) {
                        Some((_, source)) => out.copy_from_slice(source),
                        None => out.fill(self.fill[channel]),
                    }
                }
            }
        }
        let mut out_shape: TVec<usize> = shape.into();
        out_shape[1] = channels;
        Ok(tvec!(Tensor::from_shape(&out_shape, &output)?.into_tvalue()))
    }
}

impl TypedOp for ScatterChannels {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape: TVec<TDim> = inputs[0].shape.to_tvec();
        ensure!(shape.len() >= 2, "ScatterChannels needs an NC… input");
        shape[1] = self.fill.len().to_dim();
        Ok(tvec!(f32::fact(shape)))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::super::graph::tests::{musicnn, noise, run};
    use super::super::graph::whole_row_max_pools_to_row_max;
    use super::*;

    #[test]
    fn musicnn_convolutions_drop_their_dead_filters_with_the_same_outputs() {
        let mut original = musicnn();
        whole_row_max_pools_to_row_max(&mut original).expect("row maxima");
        let mut pruned = original.clone();
        let count = prune_dead_filters(&mut pruned).expect("prune");
        // Two timbral banks (7×38, 7×67) and three temporal ones (128×1, 64×1, 32×1).
        assert_eq!(count, 5);
        // Each scatter sank past its bank's batch normalisation, ReLU and frequency maximum.
        let scatters: Vec<&TypedNode> = pruned.nodes().iter().filter(|n| n.op_is::<ScatterChannels>()).collect();
        assert_eq!(scatters.len(), 5);
        for scatter in scatters {
            assert!(pruned.node(scatter.inputs[0].node).op_is::<MaxOverLastAxis>(), "{}", scatter.name);
        }
        let input = Tensor::from_shape(&[1, 187, 96], &noise(187 * 96)).expect("input");
        let (expected, actual) = (run(original, &input), run(pruned, &input));
        for (e, a) in expected.iter().zip(&actual) {
            let diff = e.iter().zip(a).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(diff < 1e-5, "outputs differ by {diff}");
        }
    }
}
