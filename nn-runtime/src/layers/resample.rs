//! Changing an image's size without parameters: `Upsample` (nearest neighbour, each pixel repeated `SCALE×SCALE`
//! times, PyTorch's `nn.Upsample(scale_factor=SCALE)`) and `GlobalAvgPool` (each channel's mean, PyTorch's
//! `nn.AdaptiveAvgPool2d(1)` followed by flattening).

use super::{Backward, Forward, Layer, Op};

/// Nearest-neighbour upsampling of a `C×H×W` image by an integer factor: `C×(H·SCALE)×(W·SCALE)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Upsample<const C: usize, const H: usize, const W: usize, const SCALE: usize>;

impl<const C: usize, const H: usize, const W: usize, const SCALE: usize> Upsample<C, H, W, SCALE> {
    /// The layer.
    pub const fn new() -> Self {
        Self
    }
}

impl<const C: usize, const H: usize, const W: usize, const SCALE: usize> Layer for Upsample<C, H, W, SCALE> {
    const IN: usize = C * H * W;
    const OUT: usize = C * H * SCALE * W * SCALE;

    fn op(&self) -> Op {
        Op::Upsample { scale: SCALE }
    }

    fn forward(&self, f: Forward<'_>) {
        let wide = W * SCALE;
        for (x, y) in f.x.chunks_exact(W).zip(f.y.chunks_exact_mut(wide * SCALE)) {
            // One input row becomes SCALE output rows, each value SCALE times.
            let (first, rest) = y.split_at_mut(wide);
            for (out, &v) in first.chunks_exact_mut(SCALE).zip(x) {
                out.fill(v);
            }
            for row in rest.chunks_exact_mut(wide) {
                row.copy_from_slice(first);
            }
        }
    }

    fn backward(&self, b: Backward<'_>) {
        let Some(dx) = b.dx else { return };
        let wide = W * SCALE;
        for (dx, dy) in dx.chunks_exact_mut(W).zip(b.dy.chunks_exact(wide * SCALE)) {
            dx.fill(0.0);
            for row in dy.chunks_exact(wide) {
                for (d, block) in dx.iter_mut().zip(row.chunks_exact(SCALE)) {
                    *d += block.iter().sum::<f32>();
                }
            }
        }
    }
}

/// The mean of each channel of a `C×H×W` image: `C` features.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GlobalAvgPool<const C: usize, const H: usize, const W: usize>;

impl<const C: usize, const H: usize, const W: usize> GlobalAvgPool<C, H, W> {
    /// The layer.
    pub const fn new() -> Self {
        Self
    }
}

impl<const C: usize, const H: usize, const W: usize> Layer for GlobalAvgPool<C, H, W> {
    const IN: usize = C * H * W;
    const OUT: usize = C;

    fn op(&self) -> Op {
        Op::GlobalAvgPool
    }

    fn forward(&self, f: Forward<'_>) {
        let n = (H * W) as f32;
        for (plane, y) in f.x.chunks_exact(H * W).zip(f.y.iter_mut()) {
            *y = plane.iter().sum::<f32>() / n;
        }
    }

    fn backward(&self, b: Backward<'_>) {
        let Some(dx) = b.dx else { return };
        let n = (H * W) as f32;
        for (plane, &g) in dx.chunks_exact_mut(H * W).zip(b.dy) {
            plane.fill(g / n);
        }
    }
}
