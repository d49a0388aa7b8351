//! The direct convolutions of the wasm embedding ([`SingleChannelConv`], [`WholeWidthConv`])
//! against the definition:
//! natively on the portable lanes and, under `wasm-bindgen-test-runner` (CI's wasm32 pass), on
//! wasm SIMD, where the model uses it.

use selecta_core::embed::conv::{SingleChannelConv, WholeWidthConv};
use tract_nnef::prelude::*;
use tract_nnef::tract_core::internal::*;
/// Uniform values in [-0.5, 0.5), from the crate's deterministic generator.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = selecta_core::testkit::synth_library::Rng::new(seed);
    (0..len).map(|_| rng.uniform() - 0.5).collect()
}

/// The definition, one output at a time.
fn reference(
    input: &[f32],
    (height, width): (usize, usize),
    kernel: &[f32],
    bias: &[f32],
    [filters, kh, kw]: [usize; 3],
    [top, bottom]: [usize; 2],
) -> Vec<f32> {
    let (out_h, out_w) = (height + top + bottom - kh + 1, width - kw + 1);
    let mut out = Vec::new();
    for f in 0..filters {
        for y in 0..out_h {
            for x in 0..out_w {
                let mut sum = f64::from(bias[f]);
                for i in 0..kh {
                    let Some(row) = (y + i).checked_sub(top).filter(|&r| r < height) else { continue };
                    for j in 0..kw {
                        sum += f64::from(kernel[(f * kh + i) * kw + j]) * f64::from(input[row * width + x + j]);
                    }
                }
                out.push(sum as f32);
            }
        }
    }
    out
}

/// The op's output on one `height × width` plane (NaN wherever it writes nothing).
fn run(conv: &SingleChannelConv, input: &[f32], (height, width): (usize, usize)) -> Vec<f32> {
    let (out_h, out_w) = conv.output_size(height, width).expect("fits");
    let mut output = vec![f32::NAN; conv.filters() * out_h * out_w];
    conv.run_plane(input, height, width, &mut output).expect("runs");
    output
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max)
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn matches_the_definition_for_ragged_shapes() {
    // Filter counts and widths that leave partial tiles, tall and wide filters, padding.
    for (filters, kh, kw, top, bottom, height, width) in
        [(5, 3, 4, 1, 1, 9, 13), (9, 7, 1, 3, 3, 20, 17), (4, 1, 8, 0, 0, 3, 8), (1, 2, 2, 0, 1, 2, 2)]
    {
        let input = values(height * width, 7);
        let kernel = values(filters * kh * kw, 11);
        let bias = values(filters, 13);
        let conv = SingleChannelConv::new(&kernel, &bias, [filters, kh, kw], [top, bottom]).expect("conv");
        let output = run(&conv, &input, (height, width));
        let expected = reference(&input, (height, width), &kernel, &bias, [filters, kh, kw], [top, bottom]);
        let diff = max_abs_diff(&output, &expected);
        assert!(diff < 1e-5, "{filters}x{kh}x{kw} on {height}x{width}: off by {diff}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn filters_without_weights_output_their_bias() {
    let (filters, kh, kw, height, width) = (7, 3, 5, 6, 12);
    let mut kernel = values(filters * kh * kw, 5);
    // Filters 1, 2 and 6 decayed to nothing, as musicnn's did.
    for filter in [1, 2, 6] {
        kernel[filter * kh * kw..(filter + 1) * kh * kw].iter_mut().for_each(|w| *w *= 1e-29);
    }
    let bias = values(filters, 6);
    let input = values(height * width, 8);
    let conv = SingleChannelConv::new(&kernel, &bias, [filters, kh, kw], [1, 1]).expect("conv");
    assert_eq!(conv.live_filters(), [0, 3, 4, 5]);
    let mut output = vec![f32::NAN; filters * height * (width - kw + 1)];
    conv.run_plane(&input, height, width, &mut output).expect("runs");
    let expected = reference(&input, (height, width), &kernel, &bias, [filters, kh, kw], [1, 1]);
    assert_eq!(output.iter().filter(|x| x.is_nan()).count(), 0);
    let diff = max_abs_diff(&output, &expected);
    assert!(diff < 1e-5, "off by {diff}");
    let plane = height * (width - kw + 1);
    assert!(output[plane..3 * plane].iter().enumerate().all(|(i, &x)| x == bias[1 + i / plane]));
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn long_filters_through_spectra_match_the_definition() {
    // musicnn's front-end banks on a 3 s patch (187 frames × 96 bands: 7 × 38 and 7 × 67 along
    // the bands, 128, 64 and 32 × 1 along time with "same" padding), a smaller odd-sized
    // input, and odd live-filter counts (the last pair holds one filter), with dead filters.
    for (filters, kh, kw, top, bottom, height, width) in [
        (9, 7, 38, 3, 3, 187, 96),
        (5, 7, 67, 3, 3, 187, 96),
        (7, 128, 1, 63, 64, 187, 96),
        (4, 64, 1, 31, 32, 187, 96),
        (3, 96, 1, 47, 48, 187, 96),
        (6, 3, 60, 1, 0, 11, 90),
        (3, 150, 1, 70, 79, 150, 3),
    ] {
        let input: Vec<f32> = values(height * width, 31).iter().map(|x| 8.0 * x).collect();
        let mut kernel = values(filters * kh * kw, 32);
        kernel[kh * kw..2 * kh * kw].iter_mut().for_each(|w| *w *= 1e-29);
        let bias = values(filters, 33);
        let conv = SingleChannelConv::for_input(&kernel, &bias, [filters, kh, kw], [top, bottom], (height, width))
            .expect("conv");
        assert!(conv.is_spectral_for(height, width), "{filters}x{kh}x{kw} on {height}x{width} runs directly");
        assert!(!conv.is_spectral_for(height + 1, width));
        let output = run(&conv, &input, (height, width));
        let expected = reference(&input, (height, width), &kernel, &bias, [filters, kh, kw], [top, bottom]);
        // The input's scale: sums of up to 469 products of values up to 4 and 0.5.
        let diff = max_abs_diff(&output, &expected);
        assert!(diff < 2e-5, "{filters}x{kh}x{kw} on {height}x{width}: off by {diff}");
        let plane = output.len() / filters;
        assert!(output[plane..2 * plane].iter().all(|&x| x == bias[1]), "a dead filter outputs its bias");
        // Another input size runs directly, to the same values.
        let taller = values((height + 1) * width, 34);
        let direct = run(&conv, &taller, (height + 1, width));
        let expected = reference(&taller, (height + 1, width), &kernel, &bias, [filters, kh, kw], [top, bottom]);
        let diff = max_abs_diff(&direct, &expected);
        assert!(diff < 1e-5, "direct fallback off by {diff}");
    }
    // Short filters stay direct: 7 × 3, and musicnn's 32 × 1 (faster directly in wasm).
    for [kh, kw, top, bottom] in [[7, 3, 3, 3], [32, 1, 15, 16]] {
        let conv =
            SingleChannelConv::for_input(&values(4 * kh * kw, 1), &values(4, 2), [4, kh, kw], [top, bottom], (187, 96))
                .expect("conv");
        assert!(!conv.is_spectral_for(187, 96), "{kh} × {kw}");
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn batches_run_plane_by_plane() {
    let conv = SingleChannelConv::new(&values(6 * 3 * 3, 1), &values(6, 2), [6, 3, 3], [1, 1]).expect("conv");
    let input = values(2 * 10 * 12, 3);
    let tensor = Tensor::from_shape(&[2, 1, 10, 12], &input).expect("tensor");
    let output = conv.eval(&EvalContext::out_of_plan(), tvec!(tensor.into_tvalue())).expect("eval");
    assert_eq!(output[0].shape(), &[2, 6, 10, 10]);
    let all = output[0].try_as_plain_ram().and_then(|t| t.as_slice::<f32>().map(<[f32]>::to_vec)).expect("f32");
    let mut second = vec![0.0; 6 * 10 * 10];
    conv.run_plane(&input[120..], 10, 12, &mut second).expect("plane");
    assert_eq!(&all[600..], &second[..]);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn bad_shapes_are_errors() {
    assert!(SingleChannelConv::new(&[1.0; 5], &[0.0], [1, 2, 2], [0, 0]).is_err());
    assert!(SingleChannelConv::new(&[1.0; 4], &[0.0; 2], [1, 2, 2], [0, 0]).is_err());
    let conv = SingleChannelConv::new(&[1.0; 4], &[0.0], [1, 2, 2], [0, 0]).expect("conv");
    // A filter wider than the input.
    assert!(conv.run_plane(&[1.0], 1, 1, &mut []).is_err());
    assert!(conv.run_plane(&[1.0; 3], 2, 2, &mut [0.0]).is_err());
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn whole_width_convolutions_match_the_definition() {
    // musicnn's mid-end shape scaled down, partial tiles along time and across filters, a dead
    // filter, and batches.
    for (filters, kh, top, bottom, height, width) in [(6, 7, 3, 3, 21, 37), (64, 7, 3, 3, 19, 9), (3, 2, 0, 1, 5, 4)] {
        let mut kernel = values(filters * kh * width, 21);
        kernel[width * kh..2 * width * kh].iter_mut().for_each(|w| *w *= 1e-29);
        let bias = values(filters, 22);
        let conv = WholeWidthConv::new(&kernel, &bias, [filters, kh, width], [top, bottom]).expect("conv");
        let out_h = conv.output_height(height).expect("fits");
        assert_eq!(out_h, height + top + bottom - kh + 1);
        let input = values(2 * height * width, 23);
        let tensor = Tensor::from_shape(&[2, height, width, 1], &input).expect("tensor");
        let output = conv.eval(&EvalContext::out_of_plan(), tvec!(tensor.into_tvalue())).expect("eval");
        assert_eq!(output[0].shape(), &[2, out_h, 1, filters]);
        let all = output[0].try_as_plain_ram().and_then(|t| t.as_slice::<f32>().map(<[f32]>::to_vec)).expect("f32");
        for item in 0..2 {
            let plane = &input[item * height * width..(item + 1) * height * width];
            // The definition gives [filters][out_h][1]; the op writes [out_h][1][filters].
            let expected = reference(plane, (height, width), &kernel, &bias, [filters, kh, width], [top, bottom]);
            for t in 0..out_h {
                for f in 0..filters {
                    let (got, want) = (all[(item * out_h + t) * filters + f], expected[f * out_h + t]);
                    assert!((got - want).abs() < 1e-5, "{filters}x{kh}x{width}: [{item}, {t}, {f}] {got} vs {want}");
                }
            }
        }
    }
    assert!(WholeWidthConv::new(&[1.0; 5], &[0.0], [1, 2, 2], [0, 0]).is_err());
    let conv = WholeWidthConv::new(&[1.0; 4], &[0.0], [1, 2, 2], [0, 0]).expect("conv");
    assert!(conv.run_plane(&[1.0; 2], 1, &mut []).is_err(), "shorter than the filter");
    assert!(conv.run_plane(&[1.0; 3], 2, &mut [0.0]).is_err(), "not whole rows");
}
