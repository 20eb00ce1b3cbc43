//! One-row products `c (+)= a · B`: dot products when B's columns are contiguous (a `Linear` weight seen
//! transposed), AXPYs when its rows are.

use super::MatRef;
use crate::kernels::simd::{Isa, Scalar, Simd};

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
    let (bp, rs, cs) = (b.data.as_ptr(), b.row_stride, b.col_stride);
    // SAFETY: `isa` is supported (checked by `gemm_on`); `a` has k values, `c` n, and every B element read,
    // at `p·rs + j·cs` for p < k, j < n, lies within `b.data` (checked above).
    unsafe {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => avx2(a, bp, rs, cs, accumulate, c),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => avx512(a, bp, rs, cs, accumulate, c),
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => neon(a, bp, rs, cs, accumulate, c),
            _ => body::<Scalar>(a, bp, rs, cs, accumulate, c),
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2(a: &[f32], b: *const f32, rs: usize, cs: usize, acc: bool, c: &mut [f32]) {
    // SAFETY: forwarded contract of `gemv`.
    unsafe { body::<crate::kernels::simd::Avx2>(a, b, rs, cs, acc, c) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512(a: &[f32], b: *const f32, rs: usize, cs: usize, acc: bool, c: &mut [f32]) {
    // SAFETY: forwarded contract of `gemv`.
    unsafe { body::<crate::kernels::simd::Avx512>(a, b, rs, cs, acc, c) }
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
unsafe fn neon(a: &[f32], b: *const f32, rs: usize, cs: usize, acc: bool, c: &mut [f32]) {
    // SAFETY: forwarded contract of `gemv`.
    unsafe { body::<crate::kernels::simd::Neon>(a, b, rs, cs, acc, c) }
}

/// # Safety
/// `S` must be supported by the CPU; B elements at `p·rs + j·cs` (p < a.len(), j < c.len()) must be readable, and
/// `rs == 1 || cs == 1`.
#[inline(always)]
unsafe fn body<S: Simd>(a: &[f32], b: *const f32, rs: usize, cs: usize, accumulate: bool, c: &mut [f32]) {
    let (k, l) = (a.len(), S::LANES);
    if rs == 1 {
        // Column j of B is contiguous: c[j] = a · B[:, j], four columns at a time so that each load of `a`
        // feeds four independent multiply-add chains (one column alone is bound by the FMA latency, and its
        // horizontal sum costs as much as a short dot product).
        let vectors = k / l * l;
        let mut j = 0;
        while j < c.len() {
            let cols = (c.len() - j).min(4);
            // SAFETY: columns j..j + cols span b[(j + t)·cs ..][..k], readable by the contract; a missing fourth
            // column repeats the last real one (its sum is dropped).
            let col: [*const f32; 4] = std::array::from_fn(|t| unsafe { b.add((j + t.min(cols - 1)) * cs) });
            let mut acc = [unsafe { S::zero() }; 4];
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
            for t in 0..cols {
                // SAFETY: lane sums of registers built above; q < k inside the column.
                let mut sum = unsafe { S::sum(acc[t]) };
                for (q, &aq) in a.iter().enumerate().skip(vectors) {
                    sum += aq * unsafe { *col[t].add(q) };
                }
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
            for (q, out) in c.iter_mut().enumerate().skip(j) {
                // SAFETY: q < n.
                *out += ap * unsafe { *row.add(q) };
            }
        }
    }
}
