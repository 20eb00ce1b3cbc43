//! Products too small for the packed path's machinery: fewer rows and columns than one micro-tile row (`2·LANES`)
//! and at most [`SMALL_K`] steps — one attention head's scores and weighted values in a short sequence (16 × 16 ×
//! 16 in the ViT of the benchmarks, 3,072 such products per chunk and training step). The packed path spent about
//! 300 ns of set-up on each (buffers, orientation, tiles), six times its multiply-adds.
//!
//! Every element is summed exactly as the packed path sums it when no micro-tile is full: from zero, one fused
//! multiply-add per step in order, then added to C when accumulating. So the bits are the packed path's (tested).

use super::MatRef;
use crate::kernels::simd::{Kernel, Simd};
use core::mem::MaybeUninit;

/// The most steps (`k`) a small product has: its right-hand operand is copied to the stack.
pub(super) const SMALL_K: usize = 64;

/// The widest row of a small product's right-hand operand: under two vectors of 16 lanes.
const MAX_N: usize = 32;

/// A small product as a kernel for [`Isa::run`](crate::kernels::simd::Isa::run): it returns `false`, doing
/// nothing, when the product is not small on this instruction set.
pub(super) struct Small<'a> {
    pub a: MatRef<'a>,
    pub b: MatRef<'a>,
    pub accumulate: bool,
    /// C's first element; element `(i, j)` is at `i·ldc + j`.
    pub c: *mut f32,
    pub ldc: usize,
}

impl Kernel for Small<'_> {
    type Output = bool;

    #[inline(always)]
    unsafe fn run<S: Simd>(self) -> bool {
        let Small { a, b, accumulate, c, ldc } = self;
        let (m, k, n, l) = (a.rows, a.cols, b.cols, S::LANES);
        // Fewer rows and columns than a micro-tile row in either orientation, so that no tile of the packed path
        // would be full (its full tiles may start from C instead of zero).
        if m >= 2 * l || n >= 2 * l || k > SMALL_K {
            return false;
        }
        // B's rows in place when they are contiguous, else copied to the stack (only the values read are written).
        let mut copy = [MaybeUninit::<f32>::uninit(); SMALL_K * MAX_N];
        let (bp, stride) = if b.col_stride == 1 {
            (b.data.as_ptr(), b.row_stride)
        } else {
            let src = b.data.as_ptr();
            for p in 0..k {
                for j in 0..n {
                    // SAFETY: element (p, j) of the view, which lies in its slice (checked by the caller).
                    copy[p * n + j].write(unsafe { *src.add(p * b.row_stride + j * b.col_stride) });
                }
            }
            (copy.as_ptr().cast::<f32>(), n)
        };
        // SAFETY: `S` is supported (the contract of `run`); the views lie within their slices (checked by the
        // caller), so A's `k` values per row and B's `n` per row (in place, or the `k·n` written to `copy`) are
        // readable, the last vector of a row read with a mask; C's `m` rows of `n` values from `c`, `ldc` apart,
        // are the caller's to write.
        unsafe {
            // Four rows at a time, so that four chains of multiply-adds overlap; `V` vectors per row.
            macro_rules! all_rows {
                ($v:literal) => {{
                    let mut i = 0;
                    while i + 4 <= m {
                        block::<S, $v, 4>(a, i, k, n, bp, stride, accumulate, c, ldc);
                        i += 4;
                    }
                    while i < m {
                        block::<S, $v, 1>(a, i, k, n, bp, stride, accumulate, c, ldc);
                        i += 1;
                    }
                }};
            }
            if n > l {
                all_rows!(2)
            } else {
                all_rows!(1)
            }
        }
        true
    }
}

/// Rows `i0 .. i0 + R` of C as `V` vectors each (the last one masked at `n`): from zero, a fused multiply-add per
/// step, then added to C if `accumulate`.
///
/// # Safety
/// As [`Small::run`]'s block: `S` supported; `b` holds `k` rows of `n` readable values `stride` apart; C's rows
/// `i0 .. i0 + R ≤ a.rows` as there; `(V − 1)·LANES < n ≤ V·LANES`.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
#[inline(always)]
unsafe fn block<S: Simd, const V: usize, const R: usize>(
    a: MatRef<'_>,
    i0: usize,
    k: usize,
    n: usize,
    b: *const f32,
    stride: usize,
    accumulate: bool,
    c: *mut f32,
    ldc: usize,
) {
    let l = S::LANES;
    let last = n - (V - 1) * l;
    // SAFETY: (all) the contract above: A's rows i0 .. i0 + R hold k values each (the view lies in its slice), B
    // k rows of n values, C's rows are the caller's.
    unsafe {
        let load = |p: *const f32, v: usize| if v + 1 < V || last == l { S::load(p) } else { S::load_partial(p, last) };
        let arows: [*const f32; R] = core::array::from_fn(|r| a.data.as_ptr().add((i0 + r) * a.row_stride));
        let mut acc = [[S::zero(); V]; R];
        for p in 0..k {
            let row = b.add(p * stride);
            let bv: [S::V; V] = core::array::from_fn(|v| load(row.add(v * l), v));
            for r in 0..R {
                let ai = S::splat(*arows[r].add(p * a.col_stride));
                for v in 0..V {
                    acc[r][v] = S::fma(acc[r][v], ai, bv[v]);
                }
            }
        }
        for r in 0..R {
            for v in 0..V {
                let out = c.add((i0 + r) * ldc + v * l);
                let count = if v + 1 < V { l } else { last };
                let value = if accumulate { S::add(S::load_partial(out, count), acc[r][v]) } else { acc[r][v] };
                S::store_partial(out, value, count);
            }
        }
    }
}
