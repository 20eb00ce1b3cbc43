//! AVX2 kernels for 2×2, stride-2 max pooling: eight windows (sixteen input columns of a row pair) per step, then
//! four in 128-bit registers (LeNet-5's second pooling layer has rows of four windows), with the same choice of
//! element as the portable code in [`super::pool`], which does the remaining windows.
//!
//! The portable row loops, compiled for AVX2, left the stride-2 loads and stores to the compiler, which did not
//! vectorise them: the backward pass was a fifth of a LeNet-5 training step. Here the pairs are split and rejoined
//! with shuffles, and each window's winner is written as four masked gradients, one vector store per row.

use std::arch::x86_64::*;

/// Lanes where `v` replaces `best` as the window's maximum: larger, or NaN where `best` is not (as
/// `pool::beats`).
#[inline]
#[target_feature(enable = "avx2")]
fn beats(v: __m256, best: __m256) -> __m256 {
    let larger = _mm256_cmp_ps::<_CMP_GT_OQ>(v, best);
    let v_nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v);
    let best_nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(best, best);
    _mm256_or_ps(larger, _mm256_andnot_ps(best_nan, v_nan))
}

/// The even and the odd elements of the sixteen values at `p`, each in order.
///
/// # Safety
/// AVX2 available; `p` points at sixteen readable values.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn deinterleave(p: *const f32) -> (__m256, __m256) {
    // SAFETY: sixteen readable values (the caller's contract).
    let (lo, hi) = unsafe { (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))) };
    // The shuffles work within 128-bit lanes, giving windows (0 1 4 5 | 2 3 6 7); the permute restores the order.
    let order = |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)));
    (order(_mm256_shuffle_ps::<0b10_00_10_00>(lo, hi)), order(_mm256_shuffle_ps::<0b11_01_11_01>(lo, hi)))
}

/// Stores `even` and `odd` interleaved as the sixteen values at `p`.
///
/// # Safety
/// AVX2 available; `p` points at sixteen writable values.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn interleave_store(p: *mut f32, even: __m256, odd: __m256) {
    let (lo, hi) = (_mm256_unpacklo_ps(even, odd), _mm256_unpackhi_ps(even, odd));
    // SAFETY: sixteen writable values (the caller's contract).
    unsafe {
        _mm256_storeu_ps(p, _mm256_permute2f128_ps::<0x20>(lo, hi));
        _mm256_storeu_ps(p.add(8), _mm256_permute2f128_ps::<0x31>(lo, hi));
    }
}

/// The four values of eight windows: top-left, top-right, bottom-left, bottom-right.
///
/// # Safety
/// AVX2 available; sixteen readable values at `top` and at `bottom`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn windows(top: *const f32, bottom: *const f32) -> [__m256; 4] {
    // SAFETY: the caller's contract.
    let ((t0, t1), (b0, b1)) = unsafe { (deinterleave(top), deinterleave(bottom)) };
    [t0, t1, b0, b1]
}

/// [`beats`] on four lanes.
#[inline]
#[target_feature(enable = "avx2")]
fn beats4(v: __m128, best: __m128) -> __m128 {
    let larger = _mm_cmp_ps::<_CMP_GT_OQ>(v, best);
    let v_nan = _mm_cmp_ps::<_CMP_UNORD_Q>(v, v);
    let best_nan = _mm_cmp_ps::<_CMP_UNORD_Q>(best, best);
    _mm_or_ps(larger, _mm_andnot_ps(best_nan, v_nan))
}

/// [`windows`] for four windows (eight values per row; 128-bit shuffles keep the order, no permute needed).
///
/// # Safety
/// AVX2 available; eight readable values at `top` and at `bottom`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn windows4(top: *const f32, bottom: *const f32) -> [__m128; 4] {
    // SAFETY: the caller's contract.
    let [t_lo, t_hi, b_lo, b_hi] =
        unsafe { [_mm_loadu_ps(top), _mm_loadu_ps(top.add(4)), _mm_loadu_ps(bottom), _mm_loadu_ps(bottom.add(4))] };
    [
        _mm_shuffle_ps::<0b10_00_10_00>(t_lo, t_hi),
        _mm_shuffle_ps::<0b11_01_11_01>(t_lo, t_hi),
        _mm_shuffle_ps::<0b10_00_10_00>(b_lo, b_hi),
        _mm_shuffle_ps::<0b11_01_11_01>(b_lo, b_hi),
    ]
}

/// `out[j]` = the maximum of window `j` of the row pair, for the first `out.len() / 4 * 4` windows; returns how
/// many it did.
///
/// # Panics
/// If a row has fewer than `2 · out.len()` values.
#[target_feature(enable = "avx2")]
pub(super) fn forward_rows(top: &[f32], bottom: &[f32], out: &mut [f32]) -> usize {
    assert!(top.len() >= 2 * out.len() && bottom.len() >= 2 * out.len(), "rows shorter than their windows");
    let blocks = out.len() / 8;
    for i in 0..blocks {
        // SAFETY: window 8i + 7 ends at column 16i + 15 < 2 · out.len() ≤ the rows' lengths (asserted above);
        // output 8i + 7 < out.len().
        unsafe {
            let [t0, t1, b0, b1] = windows(top.as_ptr().add(16 * i), bottom.as_ptr().add(16 * i));
            let best = _mm256_blendv_ps(t0, t1, beats(t1, t0));
            let best = _mm256_blendv_ps(best, b0, beats(b0, best));
            let best = _mm256_blendv_ps(best, b1, beats(b1, best));
            _mm256_storeu_ps(out.as_mut_ptr().add(8 * i), best);
        }
    }
    let mut done = blocks * 8;
    if out.len() - done >= 4 {
        // SAFETY: windows done..done + 4 end at column 2·done + 7 < 2 · out.len(); output done + 3 < out.len().
        unsafe {
            let [t0, t1, b0, b1] = windows4(top.as_ptr().add(2 * done), bottom.as_ptr().add(2 * done));
            let best = _mm_blendv_ps(t0, t1, beats4(t1, t0));
            let best = _mm_blendv_ps(best, b0, beats4(b0, best));
            let best = _mm_blendv_ps(best, b1, beats4(b1, best));
            _mm_storeu_ps(out.as_mut_ptr().add(done), best);
        }
        done += 4;
    }
    done
}

/// Writes the gradient of the first `dy.len() / 4 * 4` windows of the row pair into `dtop` and `dbottom`: `dy[j]`
/// at window `j`'s first maximal element, zero at its other three; returns how many windows it did.
///
/// # Panics
/// If a row or gradient row has fewer than `2 · dy.len()` values.
#[target_feature(enable = "avx2")]
pub(super) fn backward_rows(top: &[f32], bottom: &[f32], dy: &[f32], dtop: &mut [f32], dbottom: &mut [f32]) -> usize {
    let need = 2 * dy.len();
    assert!(
        top.len() >= need && bottom.len() >= need && dtop.len() >= need && dbottom.len() >= need,
        "rows shorter than their windows"
    );
    let blocks = dy.len() / 8;
    for i in 0..blocks {
        // SAFETY: as in `forward_rows`, every row and gradient row has ≥ 16i + 16 values, `dy` ≥ 8i + 8.
        unsafe {
            let [t0, t1, b0, b1] = windows(top.as_ptr().add(16 * i), bottom.as_ptr().add(16 * i));
            let d = _mm256_loadu_ps(dy.as_ptr().add(8 * i));
            // The same sequence as the portable code: each position that beats everything before it wins.
            let second = beats(t1, t0);
            let best = _mm256_blendv_ps(t0, t1, second);
            let third = beats(b0, best);
            let best = _mm256_blendv_ps(best, b0, third);
            let fourth = beats(b1, best);
            let later = _mm256_or_ps(third, fourth);
            let g3 = _mm256_and_ps(fourth, d);
            let g2 = _mm256_andnot_ps(fourth, _mm256_and_ps(third, d));
            let g1 = _mm256_andnot_ps(later, _mm256_and_ps(second, d));
            let g0 = _mm256_andnot_ps(_mm256_or_ps(later, second), d);
            interleave_store(dtop.as_mut_ptr().add(16 * i), g0, g1);
            interleave_store(dbottom.as_mut_ptr().add(16 * i), g2, g3);
        }
    }
    let mut done = blocks * 8;
    if dy.len() - done >= 4 {
        // SAFETY: as in `forward_rows`, with ≥ 2·done + 8 values in every row and gradient row, `dy` ≥ done + 4.
        unsafe {
            let [t0, t1, b0, b1] = windows4(top.as_ptr().add(2 * done), bottom.as_ptr().add(2 * done));
            let d = _mm_loadu_ps(dy.as_ptr().add(done));
            let second = beats4(t1, t0);
            let best = _mm_blendv_ps(t0, t1, second);
            let third = beats4(b0, best);
            let best = _mm_blendv_ps(best, b0, third);
            let fourth = beats4(b1, best);
            let later = _mm_or_ps(third, fourth);
            let g3 = _mm_and_ps(fourth, d);
            let g2 = _mm_andnot_ps(fourth, _mm_and_ps(third, d));
            let g1 = _mm_andnot_ps(later, _mm_and_ps(second, d));
            let g0 = _mm_andnot_ps(_mm_or_ps(later, second), d);
            for (row, even, odd) in [(dtop.as_mut_ptr(), g0, g1), (dbottom.as_mut_ptr(), g2, g3)] {
                _mm_storeu_ps(row.add(2 * done), _mm_unpacklo_ps(even, odd));
                _mm_storeu_ps(row.add(2 * done + 4), _mm_unpackhi_ps(even, odd));
            }
        }
        done += 4;
    }
    done
}
