//! General matrix product `C = β·C + A·B` over strided views: the kernel behind `Linear` and `Conv2d`.
//!
//! Large products go through a packed, cache-blocked algorithm with a register-tiled micro-kernel
//! ([`packed`]); a single row (`m = 1`, batch-1 inference) is a matrix-vector product done as dot products or
//! AXPYs straight from the operands ([`vector`]), since packing would cost as much as the product; products
//! smaller than a micro-tile row ([`small`], an attention head's) skip the packed path's set-up. All are written
//! once, generic over [`Simd`](super::simd::Simd), and instantiated per instruction set.

#[cfg(feature = "std")]
mod packed;
#[cfg(not(feature = "std"))]
#[path = "unpacked.rs"]
mod packed;
// The `no_std` product, tested in the `std` build too (where only its `gemm` is called).
#[cfg(feature = "std")]
mod small;
#[cfg(feature = "std")]
mod split;
#[cfg(all(test, feature = "std"))]
#[allow(dead_code)]
mod unpacked;
mod vector;

pub use packed::PackedB;
#[cfg(feature = "std")]
pub(crate) use split::update;
#[cfg(feature = "std")]
pub use split::{with_helpers, Helpers};

use super::simd::{wide, Isa};

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

    /// A `rows × cols` matrix whose rows start `row_stride` values apart in `data`: a block of columns of a wider
    /// row-major matrix (one attention head's queries among a step's queries, keys and values).
    ///
    /// # Panics
    /// If the rows overlap (`row_stride < cols` with more than one row) or the last one ends past `data`.
    pub fn strided(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        assert!(rows <= 1 || row_stride >= cols, "rows of {cols} values cannot start {row_stride} apart");
        let end = if rows == 0 { 0 } else { (rows - 1) * row_stride + cols };
        assert!(
            data.len() >= end,
            "a {rows}×{cols} view with rows {row_stride} apart needs {end} elements, the slice has {}",
            data.len()
        );
        Self { data, rows, cols, row_stride, col_stride: 1 }
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

    /// Rows `start..end` (a view of the same data).
    #[cfg(feature = "std")]
    fn rows_range(self, start: usize, end: usize) -> Self {
        debug_assert!(start <= end && end <= self.rows);
        let data = if end > start { &self.data[start * self.row_stride..] } else { &self.data[..0] };
        Self { data, rows: end - start, ..self }
    }

    /// Columns `start..end` (a view of the same data).
    #[cfg(feature = "std")]
    fn columns(self, start: usize, end: usize) -> Self {
        debug_assert!(start <= end && end <= self.cols);
        let data = if end > start { &self.data[start * self.col_stride..] } else { &self.data[..0] };
        Self { data, cols: end - start, ..self }
    }

    #[cfg(test)]
    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.row_stride + j * self.col_stride]
    }
}

/// Sizes the calling thread's kernel buffers, so its first product allocates nothing (thread pools call this on
/// every worker when they start).
#[cfg(feature = "std")]
pub fn prepare_thread() {
    packed::prepare_thread();
}

/// `c = beta * c + a · b`, where `c` is a contiguous row-major `a.rows() × b.cols()` matrix.
///
/// With `beta == 0` the old contents of `c` are ignored (even NaN). Runs on the instruction set
/// [`wide`](super::simd::wide) returns.
///
/// # Panics
/// If the inner dimensions differ or `c` has the wrong length.
pub fn gemm(a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: &mut [f32]) {
    gemm_on(wide(), a, b, beta, c);
}

/// [`gemm`] on a given instruction set (for tests and benchmarks of each path).
///
/// # Panics
/// As [`gemm`], and if this CPU does not support `isa`.
pub fn gemm_on(isa: Isa, a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: &mut [f32]) {
    assert!(isa.is_supported(), "this CPU does not support {}", isa.name());
    let Some(accumulate) = prologue(&a, &b, beta, c) else { return };
    if a.rows == 1 && vector::applies(&a, &b) {
        #[cfg(feature = "std")]
        split::gemv(isa, a, b, accumulate, c);
        #[cfg(not(feature = "std"))]
        vector::gemv(isa, a, b, accumulate, c);
    } else {
        #[cfg(feature = "std")]
        split::gemm(isa, a, b, accumulate, c);
        #[cfg(not(feature = "std"))]
        packed::gemm(isa, a, b, accumulate, c);
    }
}

/// [`gemm`] as it computes products of more than one row, even for a single row: each row of `c` comes out bit
/// for bit as it does inside any product of more rows with the same `b` (a product's rows are independent sums in
/// one order, whichever operand is packed). A computation cut into blocks of rows — a recurrent layer's input
/// projections, a block of steps at a time — then gives the bits of the whole, where [`gemm`]'s matrix-vector path
/// for one row would sum in another order.
///
/// # Panics
/// As [`gemm`].
pub fn gemm_rows(a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: &mut [f32]) {
    let isa = wide();
    let Some(accumulate) = prologue(&a, &b, beta, c) else { return };
    #[cfg(feature = "std")]
    split::gemm(isa, a, b, accumulate, c);
    #[cfg(not(feature = "std"))]
    packed::gemm(isa, a, b, accumulate, c);
}

/// Checks the dimensions and applies `beta`; `None` when nothing is left to add (an empty product), else whether
/// the product is added to `c` (rather than written).
fn prologue(a: &MatRef<'_>, b: &MatRef<'_>, beta: f32, c: &mut [f32]) -> Option<bool> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(k, b.rows, "inner dimensions differ: {m}×{k} · {}×{n}", b.rows);
    assert_eq!(c.len(), m * n, "output has {} elements, expected {m}×{n}", c.len());
    if beta == 0.0 {
        if k == 0 {
            c.fill(0.0);
            return None;
        }
    } else if beta != 1.0 {
        c.iter_mut().for_each(|v| *v *= beta);
    }
    (m > 0 && n > 0 && k > 0).then_some(beta != 0.0)
}

/// Values a buffer needs to hold a `k × n` right-hand operand packed by [`with_packed`], on any instruction set.
pub const fn packed_len(k: usize, n: usize) -> usize {
    packed::packed_len(k, n)
}

/// Runs `f` with `b` prepared for `products` products [`gemm_packed`] of `rows` rows each that share it as their
/// right-hand operand — a recurrent layer's hidden-to-hidden weights, multiplied by a new state at every time
/// step. When that pays (more than one product, more than one row each), `b` is packed once into the product's
/// panel layout in `buffer`; otherwise each product packs as [`gemm`] does. The results are those of [`gemm`],
/// bit for bit.
///
/// # Panics
/// If `buffer` holds fewer than [`packed_len`]`(b.rows(), b.cols())` values.
pub fn with_packed<R>(
    b: MatRef<'_>,
    rows: usize,
    products: usize,
    buffer: &mut [f32],
    f: impl FnOnce(&PackedB<'_>) -> R,
) -> R {
    packed::with_packed(wide(), b, rows > 1 && products > 1, buffer, f)
}

/// [`gemm`] with the right-hand operand prepared by [`with_packed`]: `c = beta * c + a · b`.
///
/// # Panics
/// As [`gemm`].
pub fn gemm_packed(a: MatRef<'_>, b: &PackedB<'_>, beta: f32, c: &mut [f32]) {
    match b.panels {
        Some(panels) => {
            let Some(accumulate) = prologue(&a, &b.b, beta, c) else { return };
            if a.rows == 1 && vector::applies(&a, &b.b) {
                vector::gemv(b.isa, a, b.b, accumulate, c);
            } else {
                packed::gemm_prepacked(b.isa, a, b.b, panels, accumulate, c);
            }
        }
        None => gemm_on(b.isa, a, b.b, beta, c),
    }
}

#[cfg(test)]
mod tests;
