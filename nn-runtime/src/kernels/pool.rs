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

    /// Calls `f(input_index)` for each element of the window of output position `(c, i, j)`.
    #[inline(always)]
    fn window(&self, c: usize, i: usize, j: usize, mut f: impl FnMut(usize)) {
        let base = c * self.height * self.width;
        for ki in 0..self.kernel {
            let row = base + (i * self.stride + ki) * self.width + j * self.stride;
            for kj in 0..self.kernel {
                f(row + kj);
            }
        }
    }

    fn positions(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        let (oh, ow) = (self.out_height(), self.out_width());
        (0..self.channels).flat_map(move |c| (0..oh).flat_map(move |i| (0..ow).map(move |j| (c, i, j))))
    }

    /// Index of the first maximal element of a window (NaN counts as maximal, so it propagates).
    fn argmax(&self, x: &[f32], c: usize, i: usize, j: usize) -> usize {
        let mut best = usize::MAX;
        self.window(c, i, j, |idx| {
            if best == usize::MAX || x[idx] > x[best] || (x[idx].is_nan() && !x[best].is_nan()) {
                best = idx;
            }
        });
        best
    }
}

/// `y[c][i][j] = max` of the window.
pub fn max_pool_forward(g: &PoolGeometry, x: &[f32], y: &mut [f32]) {
    for ((c, i, j), out) in g.positions().zip(y.iter_mut()) {
        *out = x[g.argmax(x, c, i, j)];
    }
}

/// Routes each output gradient to the window's first maximal input (the element PyTorch also picks).
///
/// The argmax is recomputed from `x` instead of stored, so the forward pass keeps no index buffer.
pub fn max_pool_backward(g: &PoolGeometry, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    dx.fill(0.0);
    for ((c, i, j), &d) in g.positions().zip(dy) {
        dx[g.argmax(x, c, i, j)] += d;
    }
}

/// `y[c][i][j] =` mean of the window.
pub fn avg_pool_forward(g: &PoolGeometry, x: &[f32], y: &mut [f32]) {
    let scale = 1.0 / (g.kernel * g.kernel) as f32;
    for ((c, i, j), out) in g.positions().zip(y.iter_mut()) {
        let mut sum = 0.0;
        g.window(c, i, j, |idx| sum += x[idx]);
        *out = sum * scale;
    }
}

/// Spreads each output gradient evenly over its window.
pub fn avg_pool_backward(g: &PoolGeometry, dy: &[f32], dx: &mut [f32]) {
    dx.fill(0.0);
    let scale = 1.0 / (g.kernel * g.kernel) as f32;
    for ((c, i, j), &d) in g.positions().zip(dy) {
        g.window(c, i, j, |idx| dx[idx] += d * scale);
    }
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
