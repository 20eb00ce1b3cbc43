//! The numeric core: every layer computes through these functions only.
//!
//! Layers and generated code never loop over numbers themselves; they call this module. That keeps one seam
//! where a faster implementation (SIMD, a tuned GEMM) can replace the scalar one without touching layers or the
//! macro's output. Every kernel here has a naive reference in its tests.

mod conv_direct;
mod elementwise;
mod gemm;
#[cfg(target_arch = "x86_64")]
mod gemm_avx512;
mod im2col;
pub(crate) mod math;
mod pool;
#[cfg(target_arch = "x86_64")]
mod pool_avx2;
pub mod simd;
pub mod transcendental;

pub use conv_direct::{
    conv2d_direct, conv2d_direct_on, conv2d_direct_weight_grad, conv2d_direct_weight_grad_on, direct_applies,
    MAX_DIRECT_GRAD_KERNEL,
};
pub(crate) use elementwise::interleaved_sum;
pub use elementwise::{
    add_assign, add_row_vector, all_finite, log_softmax_backward, log_softmax_forward, map, map_backward, map_in_place,
    sigmoid, softmax_backward, softmax_forward, sum_rows_into,
};
#[cfg(feature = "std")]
pub use gemm::prepare_thread;
#[cfg(feature = "std")]
pub(crate) use gemm::update;
pub use gemm::{gemm, gemm_on, gemm_packed, gemm_rows, packed_len, with_packed, MatRef, PackedB};
#[cfg(feature = "std")]
pub use gemm::{with_helpers, Helpers};
pub use im2col::{col2im_add, col2im_add_from, im2col, im2col_into, ConvGeometry};
pub use pool::{avg_pool_backward, avg_pool_forward, max_pool_backward, max_pool_forward, PoolGeometry};
pub use simd::Isa;

/// Values in a 64-byte cache line. Buffers that vector loads stream through keep this many values to spare and
/// start at their first line boundary ([`line_start`]): the allocator aligns to 16 bytes only, and a load that
/// straddles two lines is slower (the packing buffers and a network's parameters, both `std`-only).
#[cfg(feature = "std")]
pub(crate) const LINE: usize = 16;

/// How many of `values` come before their first cache-line boundary (fewer than [`LINE`]).
#[cfg(feature = "std")]
pub(crate) fn line_start(values: &[f32]) -> usize {
    values.as_ptr().align_offset(64).min(LINE)
}
