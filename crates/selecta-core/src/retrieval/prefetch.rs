//! Asking for a slice from memory ahead of its use, without waiting for it: a graph walk reads
//! rows scattered over tens of megabytes, and issuing the reads of a node's neighbours together
//! lets them overlap instead of following one another.
//!
//! On x86-64 this is the processor's prefetch instruction (through `safe_arch`, which holds the
//! unsafe call), which never holds up the instructions after it. Elsewhere (wasm32 has no
//! prefetch) one value of each cache line is read, which the processor also overlaps, up to the
//! reads it can keep in flight.

/// Bytes of a cache line.
const LINE: usize = 64;

/// A value whose bits a read can be folded into.
pub(crate) trait Touch: Copy {
    // Read only where there is no prefetch instruction.
    #[cfg_attr(target_arch = "x86_64", allow(dead_code))]
    fn bits(self) -> u32;
}

impl Touch for i8 {
    #[inline(always)]
    fn bits(self) -> u32 {
        u32::from(self as u8)
    }
}

impl Touch for f32 {
    #[inline(always)]
    fn bits(self) -> u32 {
        self.to_bits()
    }
}

/// Ask for every cache line of `slice`.
#[inline(always)]
pub(crate) fn prefetch_slice<T: Touch>(slice: &[T]) {
    let stride = (LINE / size_of::<T>().max(1)).max(1);
    #[cfg(target_arch = "x86_64")]
    {
        for x in slice.iter().step_by(stride) {
            safe_arch::prefetch_t0(x);
        }
        // The last line, which the stride steps over when the slice does not start a line.
        if let Some(last) = slice.last() {
            safe_arch::prefetch_t0(last);
        }
    }
    // The reads folded into one value kept by a single `black_box` (one per value would store
    // each to memory).
    #[cfg(not(target_arch = "x86_64"))]
    std::hint::black_box(slice.iter().step_by(stride).fold(0u32, |acc, &x| acc ^ x.bits()));
}
