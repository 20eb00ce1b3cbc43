//! AVX2 kernels for 2×2, stride-2 max pooling: eight windows (sixteen input columns of a row pair) per step, then
//! four in 128-bit registers (LeNet-5's second pooling layer has rows of four windows), with the same choice of
//! element as the portable code in [`super::pool`], which does the remaining windows.
//!
//! The portable row loops, compiled for AVX2, left the stride-2 loads and stores to the compiler, which did not
//! vectorise them: the backward pass was a fifth of a LeNet-5 training step. Here the pairs are split and rejoined
//! with shuffles, and each window's winner is written as four masked gradients, one vector store per row.

use core::arch::x86_64::*;

/// The lane-wise operations of the window logic, on 256-bit (eight windows) and 128-bit (four) registers, so that
/// logic is written once. Every method needs AVX2 (it is only called from functions compiled for it).
trait Lanes: Copy {
    /// Lanes where `v` replaces `best` as the window's maximum: larger, or NaN where `best` is not (as
    /// `pool::beats`).
    unsafe fn beats(v: Self, best: Self) -> Self;
    /// `b` where `mask` is set, else `a`.
    unsafe fn blend(a: Self, b: Self, mask: Self) -> Self;
    unsafe fn or(a: Self, b: Self) -> Self;
    unsafe fn and(a: Self, b: Self) -> Self;
    /// `!a & b`.
    unsafe fn and_not(a: Self, b: Self) -> Self;
}

impl Lanes for __m256 {
    #[inline(always)]
    unsafe fn beats(v: Self, best: Self) -> Self {
        // SAFETY: AVX2 available (the trait's contract).
        unsafe {
            let larger = _mm256_cmp_ps::<_CMP_GT_OQ>(v, best);
            let v_nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(v, v);
            let best_nan = _mm256_cmp_ps::<_CMP_UNORD_Q>(best, best);
            _mm256_or_ps(larger, _mm256_andnot_ps(best_nan, v_nan))
        }
    }
    #[inline(always)]
    unsafe fn blend(a: Self, b: Self, mask: Self) -> Self {
        // SAFETY: as above.
        unsafe { _mm256_blendv_ps(a, b, mask) }
    }
    #[inline(always)]
    unsafe fn or(a: Self, b: Self) -> Self {
        // SAFETY: as above.
        unsafe { _mm256_or_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn and(a: Self, b: Self) -> Self {
        // SAFETY: as above.
        unsafe { _mm256_and_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn and_not(a: Self, b: Self) -> Self {
        // SAFETY: as above.
        unsafe { _mm256_andnot_ps(a, b) }
    }
}

impl Lanes for __m128 {
    #[inline(always)]
    unsafe fn beats(v: Self, best: Self) -> Self {
        // SAFETY: AVX2 available (the trait's contract), which includes the VEX-encoded compares.
        unsafe {
            let larger = _mm_cmp_ps::<_CMP_GT_OQ>(v, best);
            let v_nan = _mm_cmp_ps::<_CMP_UNORD_Q>(v, v);
            let best_nan = _mm_cmp_ps::<_CMP_UNORD_Q>(best, best);
            _mm_or_ps(larger, _mm_andnot_ps(best_nan, v_nan))
        }
    }
    #[inline(always)]
    unsafe fn blend(a: Self, b: Self, mask: Self) -> Self {
        // SAFETY: as above.
        unsafe { _mm_blendv_ps(a, b, mask) }
    }
    #[inline(always)]
    unsafe fn or(a: Self, b: Self) -> Self {
        // SAFETY: as above.
        unsafe { _mm_or_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn and(a: Self, b: Self) -> Self {
        // SAFETY: as above.
        unsafe { _mm_and_ps(a, b) }
    }
    #[inline(always)]
    unsafe fn and_not(a: Self, b: Self) -> Self {
        // SAFETY: as above.
        unsafe { _mm_andnot_ps(a, b) }
    }
}

/// The maximum of each window, from its four elements (top-left, top-right, bottom-left, bottom-right).
///
/// # Safety
/// AVX2 available.
#[inline(always)]
unsafe fn window_max<V: Lanes>([t0, t1, b0, b1]: [V; 4]) -> V {
    // SAFETY: AVX2 available (the caller's contract).
    unsafe {
        let best = V::blend(t0, t1, V::beats(t1, t0));
        let best = V::blend(best, b0, V::beats(b0, best));
        V::blend(best, b1, V::beats(b1, best))
    }
}

/// The gradients of each window's four elements: `d` at the first maximal one, zero at the others.
///
/// # Safety
/// AVX2 available.
#[inline(always)]
unsafe fn window_grads<V: Lanes>([t0, t1, b0, b1]: [V; 4], d: V) -> [V; 4] {
    // SAFETY: AVX2 available (the caller's contract).
    unsafe {
        // The same sequence as the portable code: each position that beats everything before it wins.
        let second = V::beats(t1, t0);
        let best = V::blend(t0, t1, second);
        let third = V::beats(b0, best);
        let best = V::blend(best, b0, third);
        let fourth = V::beats(b1, best);
        let later = V::or(third, fourth);
        [
            V::and_not(V::or(later, second), d),
            V::and_not(later, V::and(second, d)),
            V::and_not(fourth, V::and(third, d)),
            V::and(fourth, d),
        ]
    }
}

/// The even and the odd elements of the sixteen values at `p`, each in order.
///
/// # Safety
/// AVX2 available; `p` points at sixteen readable values.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn deinterleave8(p: *const f32) -> [__m256; 2] {
    // SAFETY: sixteen readable values (the caller's contract).
    let (lo, hi) = unsafe { (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))) };
    // The shuffles work within 128-bit lanes, giving windows (0 1 4 5 | 2 3 6 7); the permute restores the order.
    let order = |v: __m256| _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)));
    [order(_mm256_shuffle_ps::<0b10_00_10_00>(lo, hi)), order(_mm256_shuffle_ps::<0b11_01_11_01>(lo, hi))]
}

/// The even and the odd elements of the eight values at `p` (within one 128-bit lane the order is kept).
///
/// # Safety
/// AVX2 available; `p` points at eight readable values.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn deinterleave4(p: *const f32) -> [__m128; 2] {
    // SAFETY: eight readable values (the caller's contract).
    let (lo, hi) = unsafe { (_mm_loadu_ps(p), _mm_loadu_ps(p.add(4))) };
    [_mm_shuffle_ps::<0b10_00_10_00>(lo, hi), _mm_shuffle_ps::<0b11_01_11_01>(lo, hi)]
}

/// Stores `even` and `odd` interleaved as the sixteen values at `p`.
///
/// # Safety
/// AVX2 available; `p` points at sixteen writable values.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn interleave8(p: *mut f32, even: __m256, odd: __m256) {
    let (lo, hi) = (_mm256_unpacklo_ps(even, odd), _mm256_unpackhi_ps(even, odd));
    // SAFETY: sixteen writable values (the caller's contract).
    unsafe {
        _mm256_storeu_ps(p, _mm256_permute2f128_ps::<0x20>(lo, hi));
        _mm256_storeu_ps(p.add(8), _mm256_permute2f128_ps::<0x31>(lo, hi));
    }
}

/// Stores `even` and `odd` interleaved as the eight values at `p`.
///
/// # Safety
/// AVX2 available; `p` points at eight writable values.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn interleave4(p: *mut f32, even: __m128, odd: __m128) {
    // SAFETY: eight writable values (the caller's contract).
    unsafe {
        _mm_storeu_ps(p, _mm_unpacklo_ps(even, odd));
        _mm_storeu_ps(p.add(4), _mm_unpackhi_ps(even, odd));
    }
}

/// `out[j]` = the maximum of window `j` of the row pair, for the first `out.len() / 4 * 4` windows; returns how
/// many it did.
///
/// # Panics
/// If a row has fewer than `2 · out.len()` values.
#[target_feature(enable = "avx2")]
pub(super) fn forward_rows(top: &[f32], bottom: &[f32], out: &mut [f32]) -> usize {
    assert!(top.len() >= 2 * out.len() && bottom.len() >= 2 * out.len(), "rows shorter than their windows");
    let (t, b, y) = (top.as_ptr(), bottom.as_ptr(), out.as_mut_ptr());
    let mut done = 0;
    // SAFETY: (both loops) windows done..done + 8 (or + 4) end at column 2·done + 15 (or + 7), below
    // 2 · out.len() ≤ the rows' lengths (asserted above); their outputs are below out.len().
    while out.len() - done >= 8 {
        // SAFETY: see above (eight windows).
        unsafe {
            let ([t0, t1], [b0, b1]) = (deinterleave8(t.add(2 * done)), deinterleave8(b.add(2 * done)));
            _mm256_storeu_ps(y.add(done), window_max([t0, t1, b0, b1]));
        }
        done += 8;
    }
    if out.len() - done >= 4 {
        // SAFETY: see above (four windows).
        unsafe {
            let ([t0, t1], [b0, b1]) = (deinterleave4(t.add(2 * done)), deinterleave4(b.add(2 * done)));
            _mm_storeu_ps(y.add(done), window_max([t0, t1, b0, b1]));
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
    let (t, b, d) = (top.as_ptr(), bottom.as_ptr(), dy.as_ptr());
    let (dt, db) = (dtop.as_mut_ptr(), dbottom.as_mut_ptr());
    let mut done = 0;
    // SAFETY: (both loops) as in `forward_rows`, every row and gradient row has ≥ 2·done + 16 (or + 8) values and
    // `dy` ≥ done + 8 (or + 4).
    while dy.len() - done >= 8 {
        // SAFETY: see above (eight windows).
        unsafe {
            let ([t0, t1], [b0, b1]) = (deinterleave8(t.add(2 * done)), deinterleave8(b.add(2 * done)));
            let [g0, g1, g2, g3] = window_grads([t0, t1, b0, b1], _mm256_loadu_ps(d.add(done)));
            interleave8(dt.add(2 * done), g0, g1);
            interleave8(db.add(2 * done), g2, g3);
        }
        done += 8;
    }
    if dy.len() - done >= 4 {
        // SAFETY: see above (four windows).
        unsafe {
            let ([t0, t1], [b0, b1]) = (deinterleave4(t.add(2 * done)), deinterleave4(b.add(2 * done)));
            let [g0, g1, g2, g3] = window_grads([t0, t1, b0, b1], _mm_loadu_ps(d.add(done)));
            interleave4(dt.add(2 * done), g0, g1);
            interleave4(db.add(2 * done), g2, g3);
        }
        done += 4;
    }
    done
}
