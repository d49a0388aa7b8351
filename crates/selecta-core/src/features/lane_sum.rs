//! Sums over a spectrum's bins in eight partial sums side by side. A single running `f32` sum
//! makes each addition wait for the one before and keeps the loop scalar (the compiler may not
//! reorder float additions); eight independent sums let it run in vector registers. The result
//! differs from the sequential sum only in rounding, and is the same on every target. Beside
//! them, [`larger`] and [`smaller`]: the comparisons those loops and the median filters take in
//! place of `f32::max`/`f32::min`, which wasm32 runs as a function call per value.

/// Partial sums kept side by side.
pub(crate) const LANES: usize = 8;

/// Σ f(x) over `xs`.
#[inline(always)]
pub(crate) fn sum_by(xs: &[f32], f: impl Fn(f32) -> f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = xs.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().map(|&x| f(x)).sum();
    for chunk in chunks {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            *a += f(x);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Σ f(x, y) over the pairs of `xs` and `ys` (as far as the shorter goes).
#[inline(always)]
pub(crate) fn sum_pairs_by(xs: &[f32], ys: &[f32], f: impl Fn(f32, f32) -> f32) -> f32 {
    let n = xs.len().min(ys.len());
    let (xs, ys) = (&xs[..n], &ys[..n]);
    let mut acc = [0.0f32; LANES];
    let (x_chunks, y_chunks) = (xs.chunks_exact(LANES), ys.chunks_exact(LANES));
    let tail: f32 = x_chunks.remainder().iter().zip(y_chunks.remainder()).map(|(&x, &y)| f(x, y)).sum();
    for (xc, yc) in x_chunks.zip(y_chunks) {
        for ((a, &x), &y) in acc.iter_mut().zip(xc).zip(yc) {
            *a += f(x, y);
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Lengths around the lane count, so that every tail length and an empty slice are covered.
/// The larger of two values by one comparison: `f32::max` for numbers, zeros' signs aside. In
/// wasm32, `f32::max`'s rule for NaN has no instruction, and a loop of it became a function call
/// per value; this compiles to SIMD `pmax` there (and to `maxps` on x86).
#[inline(always)]
pub(crate) fn larger(a: f32, b: f32) -> f32 {
    if a < b { b } else { a }
}

/// The smaller of two values by one comparison (see [`larger`]); SIMD `pmin` in wasm32.
#[inline(always)]
pub(crate) fn smaller(a: f32, b: f32) -> f32 {
    if b < a { b } else { a }
}

#[cfg(test)]
pub(crate) const TEST_LENGTHS: std::ops::Range<usize> = 0..41;

/// `len` positive, irregular test values (magnitudes of a made-up spectrum).
#[cfg(test)]
pub(crate) fn test_bins(len: usize) -> Vec<f32> {
    (0..len).map(|i| ((i * 7919) % 101) as f32 / 13.0 + 0.01).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn larger_and_smaller_agree_with_the_library_on_numbers() {
        let values =
            [0.0f32, 1e-9, 0.5, 1.0, -0.5, -3.0, f32::MIN_POSITIVE, f32::MAX, f32::INFINITY, f32::NEG_INFINITY];
        for &a in &values {
            for &b in &values {
                assert_eq!(larger(a, b).to_bits(), a.max(b).to_bits(), "larger({a}, {b})");
                assert_eq!(smaller(a, b).to_bits(), a.min(b).to_bits(), "smaller({a}, {b})");
            }
        }
    }

    #[test]
    fn lane_sums_equal_the_plain_sums_for_every_tail_length() {
        for len in TEST_LENGTHS {
            let xs = test_bins(len);
            let ys: Vec<f32> = (0..len).map(|i| ((i * 104_729) % 97) as f32 / 11.0).collect();
            let squares: f64 = xs.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
            assert!((f64::from(sum_by(&xs, |x| x * x)) - squares).abs() <= 1e-5 * squares.max(1.0), "length {len}");
            let rises: f64 = xs.iter().zip(&ys).map(|(&x, &y)| f64::from((x - y).max(0.0))).sum();
            let got = sum_pairs_by(&xs, &ys, |x, y| (x - y).max(0.0));
            assert!((f64::from(got) - rises).abs() <= 1e-5 * rises.max(1.0), "length {len}: {got} against {rises}");
        }
        assert_eq!(sum_pairs_by(&[1.0, 2.0, 3.0], &[0.0], |x, y| x + y), 1.0, "pairs stop at the shorter slice");
    }
}
