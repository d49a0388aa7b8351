//! Which of tract's f32 matrix kernels the model runs on natively, on x86-64.
//!
//! tract picks its 512-bit (zmm) kernels wherever the processor has AVX-512F. A core with one
//! 512-bit FMA port (AMD Zen 4, whose 512-bit operations are double-pumped, and Intel's AVX-512
//! client parts) retires a 512-bit FMA no faster than two 256-bit ones, so the wider tiles buy
//! nothing and cost packing and edge work: on a Zen 4 server a musicnn patch took 20.1–22.4 ms
//! with the zmm kernels and 15.9–16.9 ms with the 256-bit FMA ones (`selecta bench --embedding
//! --limit 4`, taking turns). tract measures the port count itself (a short loop at both widths,
//! once per process) but uses the answer only for its 8-bit kernels; here it also decides the
//! f32 ones. A core with two ports keeps the zmm kernels, and a `TRACT_CPU_ISA` the person set
//! is left as it is.
//!
//! tract reads its instruction set once per process, when it prepares its first model, so this
//! runs before any model is loaded; a later call changes nothing. The timing is tract's own
//! probe; the core reads no clock.

/// Whether to take tract's AVX-512 kernels out of the pool.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
fn drop_avx512_kernels(person_chose_isa: bool, has_avx512f: bool, avx512_fma_ports: impl FnOnce() -> u8) -> bool {
    !person_chose_isa && has_avx512f && avx512_fma_ports() < 2
}

/// Take tract's AVX-512 kernels out of the pool where they are slower (see the module header).
pub(super) fn prefer_fastest_matrix_kernels() {
    #[cfg(target_arch = "x86_64")]
    {
        use std::sync::Once;
        use tract_nnef::tract_core::tract_linalg::knobs::TRACT_CPU_ISA;
        use tract_nnef::tract_core::tract_linalg::x86_64::fma_width::avx512_fma_units;

        static CHOSEN: Once = Once::new();
        CHOSEN.call_once(|| {
            let has_avx512f = std::arch::is_x86_feature_detected!("avx512f");
            if drop_avx512_kernels(TRACT_CPU_ISA.get().is_some(), has_avx512f, avx512_fma_units) {
                tracing::debug!("one 512-bit FMA port: the model runs on tract's 256-bit FMA kernels");
                TRACT_CPU_ISA.set(Some("-avx512f".to_owned()));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::drop_avx512_kernels;

    #[test]
    fn the_avx512_kernels_go_only_on_a_single_port_core_without_a_chosen_isa() {
        assert!(drop_avx512_kernels(false, true, || 1));
        assert!(!drop_avx512_kernels(false, true, || 2), "two ports keep the wide kernels");
        assert!(!drop_avx512_kernels(true, true, || 1), "a person's TRACT_CPU_ISA stands");
        assert!(!drop_avx512_kernels(false, false, || panic!("no AVX-512: nothing to probe")));
        assert!(!drop_avx512_kernels(true, true, || panic!("a chosen ISA is not probed")));
    }
}
