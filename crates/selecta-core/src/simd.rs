//! The processor's AVX2 and FMA (x86-64-v3), found once at run time through `pulp`, which holds
//! the unsafe feature-gated call. The native build targets baseline x86-64 (SSE2); the hot loops
//! run inside `V3::vectorize` where the processor has more: the approximate index's 8-bit dot
//! products, the loudness meter's fused filter, and the DSP features' frame loops (onsets, HPCP,
//! DJ, timbre, Chromaprint) through [`with_x86_v3`]. wasm32 builds choose their SIMD at compile
//! time instead.

/// AVX2 and FMA when this processor has them (checked on the first call only).
#[cfg(target_arch = "x86_64")]
pub(crate) fn x86_v3() -> Option<pulp::x86::V3> {
    static V3: std::sync::OnceLock<Option<pulp::x86::V3>> = std::sync::OnceLock::new();
    *V3.get_or_init(pulp::x86::V3::try_new)
}

/// `run()` compiled for AVX2 and FMA where the processor has them, else as it is. What is
/// inlined into `run` is compiled that way too, so the helpers of a hot loop carry
/// `#[inline(always)]`. The results are the same bits either way: Rust never fuses a multiply
/// and an add by itself, and the loops keep their order of operations.
#[inline(always)]
pub(crate) fn with_x86_v3<R>(run: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = x86_v3() {
        return simd.vectorize(run);
    }
    run()
}
