//! One-row products `c (+)= a · B`: dot products when B's columns are contiguous (a `Linear` weight seen
//! transposed), AXPYs when its rows are.

use super::MatRef;
use crate::kernels::simd::{Isa, Kernel, Simd};

/// Whether the operands can be used in place: `a` contiguous and `B` contiguous along one axis.
pub(super) fn applies(a: &MatRef<'_>, b: &MatRef<'_>) -> bool {
    (a.col_stride == 1 || a.cols == 1) && (b.row_stride == 1 || b.col_stride == 1)
}

/// `c[j] (+)= Σₚ a[p]·B[p][j]` for a `1 × k` row `a`.
pub(super) fn gemv(isa: Isa, a: MatRef<'_>, b: MatRef<'_>, accumulate: bool, c: &mut [f32]) {
    let (k, n) = (a.cols, b.cols);
    let a = &a.data[..k];
    // The last element each operand touches, checked once so the kernels can index without bounds checks.
    let b_end = (k - 1) * b.row_stride + (n - 1) * b.col_stride;
    assert!(b_end < b.data.len(), "matrix view exceeds its slice");
    isa.run(Gemv { a, b: b.data, rs: b.row_stride, cs: b.col_stride, accumulate, c });
}

/// The matrix-vector product as a kernel for [`Isa::run`]: every B element read, at `p·rs + j·cs` for
/// `p < a.len()`, `j < c.len()`, lies within B's slice (checked by `gemv`).
struct Gemv<'a> {
    a: &'a [f32],
    b: &'a [f32],
    rs: usize,
    cs: usize,
    accumulate: bool,
    c: &'a mut [f32],
}

impl Kernel for Gemv<'_> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<S: Simd>(self) {
        // SAFETY: `S` is supported (the contract of `run`); the reads were checked by `gemv`, and `rs == 1 ||
        // cs == 1` (`applies`).
        unsafe { body::<S>(self.a, self.b.as_ptr(), self.rs, self.cs, self.accumulate, self.c) }
    }
}

/// Columns of B whose dot products with `a` run side by side.
const COLUMNS: usize = 8;

/// # Safety
/// `S` must be supported by the CPU; B elements at `p·rs + j·cs` (p < a.len(), j < c.len()) must be readable, and
/// `rs == 1 || cs == 1`.
#[inline(always)]
unsafe fn body<S: Simd>(a: &[f32], b: *const f32, rs: usize, cs: usize, accumulate: bool, c: &mut [f32]) {
    let (k, l) = (a.len(), S::LANES);
    if rs == 1 {
        // Column j of B is contiguous: c[j] = a · B[:, j], eight columns at a time so that each load of `a`
        // feeds eight independent multiply-add chains (one column alone is bound by the FMA latency, and its
        // horizontal sum costs as much as a short dot product; four chains left half the FMA units idle).
        let vectors = k / l * l;
        let mut j = 0;
        while j < c.len() {
            let cols = (c.len() - j).min(COLUMNS);
            // SAFETY: columns j..j + cols span b[(j + t)·cs ..][..k], readable by the contract; missing columns
            // repeat the last real one (their sums are dropped).
            let col: [*const f32; COLUMNS] = core::array::from_fn(|t| unsafe { b.add((j + t.min(cols - 1)) * cs) });
            // SAFETY: `S` is supported (the contract).
            let mut acc = [unsafe { S::zero() }; COLUMNS];
            let mut p = 0;
            while p < vectors {
                // SAFETY: p + l ≤ k, inside `a` and every column.
                unsafe {
                    let x = S::load(a.as_ptr().add(p));
                    for (v, col) in acc.iter_mut().zip(&col) {
                        *v = S::fma(*v, x, S::load(col.add(p)));
                    }
                }
                p += l;
            }
            if vectors < k {
                // The remaining steps as one masked vector (zero lanes past the end of `a` and each column).
                // SAFETY: the k − vectors values from `vectors` lie inside `a` and every column.
                unsafe {
                    let x = S::load_partial(a.as_ptr().add(vectors), k - vectors);
                    for (v, col) in acc.iter_mut().zip(&col) {
                        *v = S::fma(*v, x, S::load_partial(col.add(vectors), k - vectors));
                    }
                }
            }
            for t in 0..cols {
                // SAFETY: lane sums of registers built above.
                let sum = unsafe { S::sum(acc[t]) };
                let out = &mut c[j + t];
                *out = if accumulate { *out + sum } else { sum };
            }
            j += cols;
        }
    } else {
        // Row p of B is contiguous: c += a[p] · B[p, :].
        if !accumulate {
            c.fill(0.0);
        }
        let n = c.len();
        for (p, &ap) in a.iter().enumerate() {
            // SAFETY: row p spans b[p·rs .. p·rs + n] (cs == 1), readable by the contract.
            let row = unsafe { b.add(p * rs) };
            // SAFETY: `S` is supported (the contract).
            let s = unsafe { S::splat(ap) };
            let mut j = 0;
            while j + l <= n {
                // SAFETY: j + l ≤ n, inside `c` and the row.
                unsafe {
                    let out = c.as_mut_ptr().add(j);
                    S::store(out, S::fma(S::load(out), s, S::load(row.add(j))));
                }
                j += l;
            }
            if j < n {
                // SAFETY: the masked n − j values from j lie inside `c` and the row.
                unsafe {
                    let (out, rest) = (c.as_mut_ptr().add(j), n - j);
                    S::store_partial(
                        out,
                        S::fma(S::load_partial(out, rest), s, S::load_partial(row.add(j), rest)),
                        rest,
                    );
                }
            }
        }
    }
}
