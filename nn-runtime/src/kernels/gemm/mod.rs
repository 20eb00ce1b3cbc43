//! General matrix product `C = β·C + A·B` over strided views: the kernel behind `Linear` and `Conv2d`.
//!
//! Large products go through a packed, cache-blocked algorithm with a register-tiled micro-kernel
//! ([`packed`]); a single row (`m = 1`, batch-1 inference) is a matrix-vector product done as dot products or
//! AXPYs straight from the operands ([`vector`]), since packing would cost as much as the product. Both are
//! written once, generic over [`Simd`](super::simd::Simd), and instantiated per instruction set.

mod packed;
mod vector;

use super::simd::{active, Isa};

/// A read-only matrix view: element `(i, j)` is `data[i * row_stride + j * col_stride]`.
///
/// Strides let one kernel serve `A·B`, `Aᵀ·B` and `A·Bᵀ` without copying: a transpose is a view with its
/// strides swapped.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` matrix stored contiguously in `data`.
    ///
    /// # Panics
    /// If `data` holds fewer than `rows * cols` elements.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert!(
            data.len() >= rows * cols,
            "a {rows}×{cols} matrix needs {} elements, the slice has {}",
            rows * cols,
            data.len()
        );
        Self { data, rows, cols, row_stride: cols, col_stride: 1 }
    }

    /// The transposed view (no copy).
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    #[cfg(test)]
    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.row_stride + j * self.col_stride]
    }
}

/// Sizes the calling thread's kernel buffers, so its first product allocates nothing (thread pools call this on
/// every worker when they start).
pub fn prepare_thread() {
    packed::prepare_thread();
}

/// `c = beta * c + a · b`, where `c` is a contiguous row-major `a.rows() × b.cols()` matrix.
///
/// With `beta == 0` the old contents of `c` are ignored (even NaN). Runs on the instruction set
/// [`active`](super::simd::active) returns.
///
/// # Panics
/// If the inner dimensions differ or `c` has the wrong length.
pub fn gemm(a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: &mut [f32]) {
    gemm_on(active(), a, b, beta, c);
}

/// [`gemm`] on a given instruction set (for tests and benchmarks of each path).
///
/// # Panics
/// As [`gemm`], and if this CPU does not support `isa`.
pub fn gemm_on(isa: Isa, a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: &mut [f32]) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(k, b.rows, "inner dimensions differ: {m}×{k} · {}×{n}", b.rows);
    assert_eq!(c.len(), m * n, "output has {} elements, expected {m}×{n}", c.len());
    assert!(isa.is_supported(), "this CPU does not support {}", isa.name());
    if beta == 0.0 {
        if k == 0 {
            c.fill(0.0);
            return;
        }
    } else if beta != 1.0 {
        c.iter_mut().for_each(|v| *v *= beta);
    }
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    let accumulate = beta != 0.0;
    if m == 1 && vector::applies(&a, &b) {
        vector::gemv(isa, a, b, accumulate, c);
    } else {
        packed::gemm(isa, a, b, accumulate, c);
    }
}

#[cfg(test)]
mod tests;
