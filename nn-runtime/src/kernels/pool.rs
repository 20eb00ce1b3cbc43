//! 2-D max and average pooling over one sample (`C×H×W`, row-major), without padding.

/// The sizes of one pooling window sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    /// Channels (pooled independently).
    pub channels: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Square window size.
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
}

impl PoolGeometry {
    /// Output height: `(H - K) / S + 1` (windows that do not fit are dropped, as in PyTorch).
    pub const fn out_height(&self) -> usize {
        (self.height - self.kernel) / self.stride + 1
    }

    /// Output width: `(W - K) / S + 1`.
    pub const fn out_width(&self) -> usize {
        (self.width - self.kernel) / self.stride + 1
    }

    /// Calls `f(output_index, window_start)` for every output position, in output order; the window's elements
    /// are at `window_start + ki·W + kj`.
    #[inline(always)]
    fn for_each_window(&self, mut f: impl FnMut(usize, usize)) {
        let (oh, ow) = (self.out_height(), self.out_width());
        let mut out = 0;
        for c in 0..self.channels {
            let plane = c * self.height * self.width;
            for i in 0..oh {
                let row = plane + i * self.stride * self.width;
                for j in 0..ow {
                    f(out, row + j * self.stride);
                    out += 1;
                }
            }
        }
    }

    /// Index of the first maximal element of the window at `start` (NaN counts as maximal, so it propagates).
    #[inline(always)]
    fn argmax(&self, x: &[f32], start: usize) -> usize {
        let mut best = start;
        for ki in 0..self.kernel {
            let row = start + ki * self.width;
            for idx in row..row + self.kernel {
                if x[idx] > x[best] || (x[idx].is_nan() && !x[best].is_nan()) {
                    best = idx;
                }
            }
        }
        best
    }

    #[inline(always)]
    fn window_sum(&self, x: &[f32], start: usize) -> f32 {
        (0..self.kernel).map(|ki| x[start + ki * self.width..][..self.kernel].iter().sum::<f32>()).sum()
    }
}

/// `y[c][i][j] = max` of the window.
pub fn max_pool_forward(g: &PoolGeometry, x: &[f32], y: &mut [f32]) {
    if g.kernel == 2 && g.stride == 2 {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU has AVX2 and FMA (the active instruction set says so).
            unsafe { max_pool_2x2_forward_avx2(g, x, y) };
            return;
        }
        max_pool_2x2_forward(g, x, y);
    } else {
        g.for_each_window(|o, start| y[o] = x[g.argmax(x, start)]);
    }
}

/// Whether the 2×2 kernels run compiled for AVX2 (which lets the compiler vectorise their row loops: their
/// comparisons and selects need nothing the portable build lacks but width).
#[cfg(target_arch = "x86_64")]
fn has_avx2() -> bool {
    matches!(super::simd::active(), super::Isa::Avx2 | super::Isa::Avx512)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn max_pool_2x2_forward_avx2(g: &PoolGeometry, x: &[f32], y: &mut [f32]) {
    max_pool_2x2_forward(g, x, y);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn max_pool_2x2_backward_avx2(g: &PoolGeometry, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    max_pool_2x2_backward(g, x, dy, dx);
}

/// 2×2 windows, stride 2, a pair of input rows at a time (the same choice of element as `argmax`).
#[inline(always)]
fn max_pool_2x2_forward(g: &PoolGeometry, x: &[f32], y: &mut [f32]) {
    let (w, ow) = (g.width, g.out_width());
    for (plane, out) in x.chunks_exact(g.height * w).zip(y.chunks_exact_mut(g.out_height() * ow)) {
        for (rows, out) in plane.chunks_exact(2 * w).zip(out.chunks_exact_mut(ow)) {
            let (top, bottom) = rows.split_at(w);
            let pairs = top.chunks_exact(2).zip(bottom.chunks_exact(2));
            for (y, (t, b)) in out.iter_mut().zip(pairs) {
                *y = pick(pick(pick(t[0], t[1]), b[0]), b[1]);
            }
        }
    }
}

/// The larger of `best` and `v`, keeping `best` on ties and propagating NaN like [`PoolGeometry::argmax`].
#[inline(always)]
fn pick(best: f32, v: f32) -> f32 {
    select(beats(v, best), v, best)
}

/// `if flag { a } else { b }` through bit masks: the compiler turns a plain `if` on random data into a branch
/// that mispredicts half the time.
#[inline(always)]
fn select(flag: bool, a: f32, b: f32) -> f32 {
    let mask = u32::from(flag).wrapping_neg();
    f32::from_bits((a.to_bits() & mask) | (b.to_bits() & !mask))
}

/// Whether `v` replaces `best` as a window's maximum: larger, or NaN where `best` is not.
#[inline(always)]
fn beats(v: f32, best: f32) -> bool {
    // Bitwise, not short-circuit: no branches, so row loops can become vector compares and blends.
    (v > best) | (v.is_nan() & !best.is_nan())
}

/// Routes each output gradient to the window's first maximal input (the element PyTorch also picks).
///
/// The argmax is recomputed from `x` instead of stored, so the forward pass keeps no index buffer.
pub fn max_pool_backward(g: &PoolGeometry, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    dx.fill(0.0);
    if g.kernel == 2 && g.stride == 2 {
        #[cfg(target_arch = "x86_64")]
        if has_avx2() {
            // SAFETY: the CPU has AVX2 and FMA (the active instruction set says so).
            unsafe { max_pool_2x2_backward_avx2(g, x, dy, dx) };
            return;
        }
        max_pool_2x2_backward(g, x, dy, dx);
    } else {
        g.for_each_window(|o, start| dx[g.argmax(x, start)] += dy[o]);
    }
}

/// Non-overlapping 2×2 windows, a pair of rows at a time: the winner of each window is found without branches
/// and gets the gradient in one store (`dx` is already zero).
#[inline(always)]
fn max_pool_2x2_backward(g: &PoolGeometry, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    let (w, ow) = (g.width, g.out_width());
    let planes = x.chunks_exact(g.height * w).zip(dx.chunks_exact_mut(g.height * w));
    for ((plane, dplane), dys) in planes.zip(dy.chunks_exact(g.out_height() * ow)) {
        let rows = plane.chunks_exact(2 * w).zip(dplane.chunks_exact_mut(2 * w));
        for ((rows, drows), dys) in rows.zip(dys.chunks_exact(ow)) {
            let (top, bottom) = rows.split_at(w);
            let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
            for (j, ((t, b), &d)) in windows.zip(dys).enumerate() {
                let second = beats(t[1], t[0]);
                let best = select(second, t[1], t[0]);
                let third = beats(b[0], best);
                let best = select(third, b[0], best);
                let fourth = beats(b[1], best);
                // 0..4 in window order: the last position that beat everything before it.
                let (third, fourth) = (usize::from(third), usize::from(fourth));
                let winner = fourth * 3 + (1 - fourth) * (third * 2 + (1 - third) * usize::from(second));
                drows[(winner >> 1) * w + 2 * j + (winner & 1)] = d;
            }
        }
    }
}

/// `y[c][i][j] =` mean of the window.
pub fn avg_pool_forward(g: &PoolGeometry, x: &[f32], y: &mut [f32]) {
    let scale = 1.0 / (g.kernel * g.kernel) as f32;
    g.for_each_window(|o, start| y[o] = g.window_sum(x, start) * scale);
}

/// Spreads each output gradient evenly over its window.
pub fn avg_pool_backward(g: &PoolGeometry, dy: &[f32], dx: &mut [f32]) {
    dx.fill(0.0);
    let scale = 1.0 / (g.kernel * g.kernel) as f32;
    g.for_each_window(|o, start| {
        let d = dy[o] * scale;
        for ki in 0..g.kernel {
            dx[start + ki * g.width..][..g.kernel].iter_mut().for_each(|v| *v += d);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_a_4x4_image_by_hand() {
        let g = PoolGeometry { channels: 1, height: 4, width: 4, kernel: 2, stride: 2 };
        #[rustfmt::skip]
        let x = [
            1.0, 2.0, 5.0, 6.0,
            3.0, 4.0, 8.0, 7.0,
            -1.0, -2.0, 0.0, 0.0,
            -3.0, -4.0, 0.0, 1.0,
        ];
        let mut y = [0.0; 4];
        max_pool_forward(&g, &x, &mut y);
        assert_eq!(y, [4.0, 8.0, -1.0, 1.0]);
        avg_pool_forward(&g, &x, &mut y);
        assert_eq!(y, [2.5, 6.5, -2.5, 0.25]);
        let mut dx = [0.0; 16];
        max_pool_backward(&g, &x, &[1.0, 2.0, 3.0, 4.0], &mut dx);
        assert_eq!(dx, [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 4.0]);
    }

    #[test]
    fn overlapping_windows_with_odd_sizes_drop_the_remainder() {
        // 5×5, window 3, stride 2 → 2×2 (PyTorch floor mode).
        let g = PoolGeometry { channels: 2, height: 5, width: 5, kernel: 3, stride: 2 };
        assert_eq!((g.out_height(), g.out_width()), (2, 2));
        let x: Vec<f32> = (0..50).map(|v| v as f32).collect();
        let mut y = [0.0; 8];
        max_pool_forward(&g, &x, &mut y);
        assert_eq!(y, [12.0, 14.0, 22.0, 24.0, 37.0, 39.0, 47.0, 49.0]);
    }
}
