//! 2-D max and average pooling over one sample (`C×H×W`, row-major), without padding.

use super::simd::{Kernel, Simd};

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
        super::simd::active().run(MaxPool2x2 { g, x, y });
    } else {
        g.for_each_window(|o, start| y[o] = x[g.argmax(x, start)]);
    }
}

/// The 2×2 forward pass as a kernel: the instruction set's own row code first ([`Simd::max_pool_2x2_rows`]),
/// the portable code for the rest of each row.
struct MaxPool2x2<'a> {
    g: &'a PoolGeometry,
    x: &'a [f32],
    y: &'a mut [f32],
}

impl Kernel for MaxPool2x2<'_> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<S: Simd>(self) {
        // SAFETY: `S` is supported (the contract of `run`).
        max_pool_2x2_forward(self.g, self.x, self.y, |top, bottom, out| unsafe {
            S::max_pool_2x2_rows(top, bottom, out)
        });
    }
}

/// The 2×2 backward pass as a kernel, as [`MaxPool2x2`].
struct MaxPool2x2Backward<'a> {
    g: &'a PoolGeometry,
    x: &'a [f32],
    dy: &'a [f32],
    dx: &'a mut [f32],
}

impl Kernel for MaxPool2x2Backward<'_> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<S: Simd>(self) {
        max_pool_2x2_backward(self.g, self.x, self.dy, self.dx, |top, bottom, dy, dtop, dbottom| {
            // SAFETY: `S` is supported (the contract of `run`).
            unsafe { S::max_pool_2x2_rows_backward(top, bottom, dy, dtop, dbottom) }
        });
    }
}

/// 2×2 windows, stride 2, a pair of input rows at a time (the same choice of element as `argmax`):
/// `fast(top, bottom, out)` does the first windows of a row pair and says how many, this does the rest.
#[inline(always)]
fn max_pool_2x2_forward(
    g: &PoolGeometry,
    x: &[f32],
    y: &mut [f32],
    fast: impl Fn(&[f32], &[f32], &mut [f32]) -> usize,
) {
    let (w, ow) = (g.width, g.out_width());
    for (plane, out) in x.chunks_exact(g.height * w).zip(y.chunks_exact_mut(g.out_height() * ow)) {
        for (rows, out) in plane.chunks_exact(2 * w).zip(out.chunks_exact_mut(ow)) {
            let (top, bottom) = rows.split_at(w);
            let done = fast(top, bottom, out);
            let pairs = top[2 * done..].chunks_exact(2).zip(bottom[2 * done..].chunks_exact(2));
            for (y, (t, b)) in out[done..].iter_mut().zip(pairs) {
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
    if g.kernel == 2 && g.stride == 2 {
        // The windows write all four of their elements; only an odd last row or column is left to clear.
        if g.height % 2 == 1 || g.width % 2 == 1 {
            dx.fill(0.0);
        }
        super::simd::active().run(MaxPool2x2Backward { g, x, dy, dx });
    } else {
        dx.fill(0.0);
        g.for_each_window(|o, start| dx[g.argmax(x, start)] += dy[o]);
    }
}

/// Non-overlapping 2×2 windows, a pair of rows at a time: the winner of each window is found without branches
/// and gets the gradient, its other three elements zero (an odd last row or column of `dx` is left as it is).
/// `fast(top, bottom, dy, dtop, dbottom)` does the first windows of a row pair and says how many; this does the
/// rest.
#[inline(always)]
fn max_pool_2x2_backward(
    g: &PoolGeometry,
    x: &[f32],
    dy: &[f32],
    dx: &mut [f32],
    fast: impl Fn(&[f32], &[f32], &[f32], &mut [f32], &mut [f32]) -> usize,
) {
    let (w, ow) = (g.width, g.out_width());
    let planes = x.chunks_exact(g.height * w).zip(dx.chunks_exact_mut(g.height * w));
    for ((plane, dplane), dys) in planes.zip(dy.chunks_exact(g.out_height() * ow)) {
        let rows = plane.chunks_exact(2 * w).zip(dplane.chunks_exact_mut(2 * w));
        for ((rows, drows), dys) in rows.zip(dys.chunks_exact(ow)) {
            let (top, bottom) = rows.split_at(w);
            let (dtop, dbottom) = drows.split_at_mut(w);
            let done = fast(top, bottom, dys, dtop, dbottom);
            let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
            for (j, ((t, b), &d)) in windows.zip(dys).enumerate().skip(done) {
                let second = beats(t[1], t[0]);
                let best = select(second, t[1], t[0]);
                let third = beats(b[0], best);
                let best = select(third, b[0], best);
                let fourth = beats(b[1], best);
                // 0..4 in window order: the last position that beat everything before it.
                let (third, fourth) = (usize::from(third), usize::from(fourth));
                let winner = fourth * 3 + (1 - fourth) * (third * 2 + (1 - third) * usize::from(second));
                for at in [2 * j, 2 * j + 1, w + 2 * j, w + 2 * j + 1] {
                    drows[at] = 0.0;
                }
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

    /// Values with many ties (a few integers, both zeros) and NaNs, to exercise every branch of the argmax.
    fn tricky(len: usize, seed: u64) -> Vec<f32> {
        let u = crate::test_util::random_vec(len, seed);
        u.iter()
            .map(|&v| match ((v + 1.0) * 8.0) as u32 {
                0 => f32::NAN,
                1 => -0.0,
                2 => 0.0,
                k => (k % 4) as f32 - 1.5,
            })
            .collect()
    }

    /// Forward and backward of the general window code, the reference for the 2×2 paths.
    fn reference(g: &PoolGeometry, x: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let mut y = vec![0.0; dy.len()];
        let mut dx = vec![0.0; x.len()];
        g.for_each_window(|o, start| {
            let best = g.argmax(x, start);
            y[o] = x[best];
            dx[best] += dy[o];
        });
        (y, dx)
    }

    fn assert_same_bits(got: &[f32], want: &[f32], what: &str) {
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(got), bits(want), "{what}");
    }

    #[test]
    fn the_2x2_paths_match_the_general_window_code() {
        // Widths below, at and around the four and eight windows of an AVX2 step; odd heights and widths drop a
        // row or column.
        let shapes = [
            (1, 2, 2),
            (1, 2, 7),
            (1, 2, 8),
            (1, 2, 15),
            (1, 2, 16),
            (2, 3, 17),
            (3, 6, 18),
            (1, 4, 25),
            (1, 4, 33),
            (6, 24, 24),
            (16, 8, 8),
            (2, 9, 40),
        ];
        for (seed, &(channels, height, width)) in shapes.iter().enumerate() {
            let g = PoolGeometry { channels, height, width, kernel: 2, stride: 2 };
            let x = tricky(channels * height * width, seed as u64);
            let outputs = channels * g.out_height() * g.out_width();
            // Gradients of no exact zero, so `0 + d` in the reference has the bits of `d`.
            let dy: Vec<f32> =
                crate::test_util::random_vec(outputs, 100 + seed as u64).iter().map(|v| v + 2.0).collect();
            let (y_want, dx_want) = reference(&g, &x, &dy);
            let what = format!("{channels}×{height}×{width}");
            // The row-pair kernels write every element of their windows; an odd last row or column is cleared
            // by the caller, so start from NaN where the windows cover all and from zero elsewhere.
            let stale = if height % 2 == 0 && width % 2 == 0 { f32::NAN } else { 0.0 };
            let (mut y, mut dx) = (vec![0.0; outputs], vec![stale; x.len()]);
            max_pool_2x2_forward(&g, &x, &mut y, |_, _, _| 0);
            assert_same_bits(&y, &y_want, &format!("portable forward {what}"));
            max_pool_2x2_backward(&g, &x, &dy, &mut dx, |_, _, _, _, _| 0);
            assert_same_bits(&dx, &dx_want, &format!("portable backward {what}"));
            for isa in crate::kernels::Isa::ALL {
                if !isa.is_supported() {
                    eprintln!("pool tests: skipping the {} path (not supported by this CPU)", isa.name());
                    continue;
                }
                y.fill(f32::NAN);
                isa.run(MaxPool2x2 { g: &g, x: &x, y: &mut y });
                assert_same_bits(&y, &y_want, &format!("{} forward {what}", isa.name()));
                dx.fill(stale);
                isa.run(MaxPool2x2Backward { g: &g, x: &x, dy: &dy, dx: &mut dx });
                assert_same_bits(&dx, &dx_want, &format!("{} backward {what}", isa.name()));
            }
            // The public entry points, on whichever path is active.
            max_pool_forward(&g, &x, &mut y);
            assert_same_bits(&y, &y_want, &format!("max_pool_forward {what}"));
            dx.fill(f32::NAN);
            max_pool_backward(&g, &x, &dy, &mut dx);
            assert_same_bits(&dx, &dx_want, &format!("max_pool_backward {what}"));
        }
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
