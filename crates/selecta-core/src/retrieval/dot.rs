//! Dot products of integer codes, the inner loop of both 8-bit passes over the library: the exact
//! search's first pass ([`super::coarse`]) and the approximate index's walk ([`super::walk_rows`]).
//! Written as plain loops the compiler vectorises (natively, for whatever SIMD the caller is
//! compiled for), with wasm SIMD's 16-bit dot product in wasm32, and with AVX2's 16-bit
//! multiply-add for callers that found AVX2 at run time ([`dot_codes_v3`]): the compiler does not
//! find either on its own (with AVX2 it widens both sides to 32 bits and multiplies those, at
//! twice the instructions and a slow multiply).

/// A code: 8-bit as stored, or 16-bit (a query's codes, widened once or of finer precision).
pub(crate) trait Code: Copy + Into<i16> {
    /// Sixteen codes as sixteen 16-bit lanes.
    #[cfg(target_arch = "x86_64")]
    fn lanes_v3(simd: pulp::x86::V3, codes: &[Self; LANES]) -> core::arch::x86_64::__m256i;
}

impl Code for i8 {
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn lanes_v3(simd: pulp::x86::V3, codes: &[i8; LANES]) -> core::arch::x86_64::__m256i {
        simd.avx2._mm256_cvtepi8_epi16(bytemuck::cast(*codes))
    }
}

impl Code for i16 {
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn lanes_v3(_: pulp::x86::V3, codes: &[i16; LANES]) -> core::arch::x86_64::__m256i {
        bytemuck::cast(*codes)
    }
}

/// Codes a native dot product takes at a time; rows padded to a multiple of it have no tail.
pub(crate) const LANES: usize = 16;

/// `Σ aᵢ·bᵢ` of codes with independent partial sums, so that the compiler vectorises it into
/// multiply-adds of 16-bit lanes.
/// A row padded to a multiple of [`LANES`] has no tail. An 8-bit `a` is widened here; a query's
/// codes may come widened already (or wider than 8 bits: with a 16-bit `a` a product is at most
/// 2^22, and a row of under 2^9 codes sums under 2^31).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
pub(crate) fn dot_codes<A: Code>(a: &[A], b: &[i8]) -> i32 {
    let mut acc = [0i32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        // Each side widened to 16 bits before the product: the pattern the compiler turns into
        // `pmaddwd` (a product of 8-bit lanes widened straight to 32 bits becomes a 32-bit
        // multiply, which SSE2 lacks).
        for i in 0..LANES {
            let (x, y): (i16, i16) = (x[i].into(), y[i].into());
            acc[i] += i32::from(x) * i32::from(y);
        }
    }
    let tail: i32 = ra.iter().zip(rb).map(|(&x, &y)| i32::from(x.into()) * i32::from(y)).sum();
    acc.iter().sum::<i32>() + tail
}

/// [`dot_codes`] with AVX2, for a caller inlined into [`pulp::x86::V3::vectorize`]: each 16
/// codes of the row are widened to 16 bits and multiplied with the query's in one `vpmaddwd`,
/// which also adds the products in pairs. The same integer sum.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn dot_codes_v3<A: Code>(simd: pulp::x86::V3, a: &[A], b: &[i8]) -> i32 {
    let (ca, ra) = a.as_chunks::<LANES>();
    let (cb, rb) = b.as_chunks::<LANES>();
    let mut acc = simd.avx._mm256_setzero_si256();
    for (x, y) in ca.iter().zip(cb) {
        let products = simd.avx2._mm256_madd_epi16(A::lanes_v3(simd, x), i8::lanes_v3(simd, y));
        acc = simd.avx2._mm256_add_epi32(acc, products);
    }
    let tail: i32 = ra.iter().zip(rb).map(|(&x, &y)| i32::from(x.into()) * i32::from(y)).sum();
    bytemuck::cast::<_, [i32; 8]>(acc).iter().sum::<i32>() + tail
}

/// The same sum with wasm SIMD's 16-bit dot product (`i32x4.dot_i16x8_s`) on codes widened to
/// 16 bits.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub(crate) fn dot_codes<A: Code>(a: &[A], b: &[i8]) -> i32 {
    use core::arch::wasm32::{i16x8, i32x4_add, i32x4_dot_i16x8, i32x4_extract_lane, i32x4_splat};
    const WIDE: usize = 8;
    // Inlined, on whole arrays: as a plain nested function on slices it was called for every
    // 8 codes with 8 bounds checks, and the exact search ran 5× slower in wasm.
    #[inline(always)]
    fn wide<C: Code>(v: &[C; WIDE]) -> core::arch::wasm32::v128 {
        i16x8(v[0].into(), v[1].into(), v[2].into(), v[3].into(), v[4].into(), v[5].into(), v[6].into(), v[7].into())
    }
    let mut acc = i32x4_splat(0);
    let (ca, ra) = a.as_chunks::<WIDE>();
    let (cb, rb) = b.as_chunks::<WIDE>();
    for (x, y) in ca.iter().zip(cb) {
        acc = i32x4_add(acc, i32x4_dot_i16x8(wide(x), wide(y)));
    }
    let tail: i32 = ra.iter().zip(rb).map(|(&x, &y)| i32::from(x.into()) * i32::from(y)).sum();
    i32x4_extract_lane::<0>(acc)
        + i32x4_extract_lane::<1>(acc)
        + i32x4_extract_lane::<2>(acc)
        + i32x4_extract_lane::<3>(acc)
        + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_dot_product_is_the_integer_one() {
        let a: Vec<i8> = (0..211).map(|i| ((i * 37) % 255 - 127) as i8).collect();
        let b: Vec<i8> = (0..211).map(|i| ((i * 91 + 5) % 255 - 127) as i8).collect();
        let expected: i32 = a.iter().zip(&b).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum();
        assert_eq!(dot_codes(&a, &b), expected);
        let widened: Vec<i16> = a.iter().map(|&x| i16::from(x)).collect();
        assert_eq!(dot_codes(&widened, &b), expected, "a query widened to 16 bits");
        let extreme = vec![-127i8; 512];
        assert_eq!(dot_codes(&extreme, &extreme), 127 * 127 * 512);
        #[cfg(target_arch = "x86_64")]
        if let Some(simd) = pulp::x86::V3::try_new() {
            assert_eq!(simd.vectorize(|| dot_codes_v3(simd, &a, &b)), expected, "AVX2, 8-bit query");
            assert_eq!(simd.vectorize(|| dot_codes_v3(simd, &widened, &b)), expected, "AVX2, 16-bit query");
            assert_eq!(simd.vectorize(|| dot_codes_v3(simd, &extreme, &extreme)), 127 * 127 * 512);
        }
    }
}
