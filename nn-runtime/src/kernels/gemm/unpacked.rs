//! The product without packing, for `no_std` builds: no buffers to grow, so nothing to allocate. Each row of A
//! is a matrix-vector product ([`vector`](super::vector)) when its operands are contiguous along an axis, as
//! they are in every product a forward pass runs (`Linear`'s `x·Wᵀ`, a convolution's `W·col`); any other view
//! takes a plain loop. Batch-1 inference on a small device never reaches the sizes where packing pays.

use super::{vector, MatRef};
use crate::kernels::simd::Isa;

/// A right-hand operand "prepared" for many products: without `std` nothing is packed, so it is the operand.
pub struct PackedB<'a> {
    /// The operand.
    pub(super) b: MatRef<'a>,
    /// The instruction set its products run on.
    pub(super) isa: Isa,
    /// Always `None` here: the products run as plain ones.
    pub(super) panels: Option<&'a [f32]>,
}

/// No room is needed: nothing is packed.
pub(super) const fn packed_len(_k: usize, _n: usize) -> usize {
    0
}

/// Runs `f` with `b` unpacked.
pub(super) fn with_packed<R>(
    isa: Isa,
    b: MatRef<'_>,
    _pack: bool,
    _buffer: &mut [f32],
    f: impl FnOnce(&PackedB<'_>) -> R,
) -> R {
    f(&PackedB { b, isa, panels: None })
}

/// Never called: `with_packed` makes no panels.
pub(super) fn gemm_prepacked(isa: Isa, a: MatRef<'_>, b: MatRef<'_>, _: &[f32], accumulate: bool, c: &mut [f32]) {
    gemm(isa, a, b, accumulate, c);
}

/// `c (+)= a · b`, row by row (dimensions checked and non-zero).
pub(super) fn gemm(isa: Isa, a: MatRef<'_>, b: MatRef<'_>, accumulate: bool, c: &mut [f32]) {
    let (k, n) = (a.cols, b.cols);
    for (i, c_row) in c.chunks_exact_mut(n).enumerate().take(a.rows) {
        let row = MatRef {
            data: &a.data[i * a.row_stride..],
            rows: 1,
            cols: k,
            row_stride: a.row_stride,
            col_stride: a.col_stride,
        };
        if vector::applies(&row, &b) {
            vector::gemv(isa, row, b, accumulate, c_row);
        } else {
            for (j, out) in c_row.iter_mut().enumerate() {
                let dot: f32 =
                    (0..k).map(|p| row.data[p * row.col_stride] * b.data[p * b.row_stride + j * b.col_stride]).sum();
                *out = if accumulate { *out + dot } else { dot };
            }
        }
    }
}
