//! `PReLU` (He et al. 2015): `x` for positive `x`, else `a·x` with a learned slope `a` — one for the whole layer
//! or one per channel (per feature after a flat shape), as PyTorch's `nn.PReLU(num_parameters)`.

use super::{Backward, Forward, Layer, Op};
use crate::Rng;

/// A parametric ReLU over `N` values per sample with `SLOPES` learned slopes (1, or the number of channels).
/// Value `i` uses slope `i / (N / SLOPES)`: channels are contiguous blocks of a sample. Its one tensor is
/// `weight`, shape `[SLOPES]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PReLU<const N: usize, const SLOPES: usize> {
    offset: usize,
    initial: f32,
}

impl<const N: usize, const SLOPES: usize> PReLU<N, SLOPES> {
    /// Values sharing one slope.
    const BLOCK: usize = N / SLOPES;

    /// A layer whose slopes start at `offset` in the parameter buffer and are initialised to `initial`
    /// (PyTorch: 0.25).
    pub const fn new(offset: usize, initial: f32) -> Self {
        Self { offset, initial }
    }

    /// The slopes inside a network's parameters.
    pub fn weight<'p>(&self, params: &'p [f32]) -> &'p [f32; SLOPES] {
        crate::view(&params[self.offset..self.offset + SLOPES])
    }
}

impl<const N: usize, const SLOPES: usize> Layer for PReLU<N, SLOPES> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = SLOPES;

    fn init(&self, params: &mut [f32], _buffers: &mut [f32], _rng: &mut Rng) {
        params.fill(self.initial);
    }

    fn op(&self) -> Op {
        Op::PReLU { values: N, slopes: SLOPES }
    }

    fn forward(&self, f: Forward<'_>) {
        let Forward { params, x, y, .. } = f;
        for (xs, ys) in x.chunks_exact(N).zip(y.chunks_exact_mut(N)) {
            for ((xb, yb), &a) in xs.chunks_exact(Self::BLOCK).zip(ys.chunks_exact_mut(Self::BLOCK)).zip(params) {
                for (y, &x) in yb.iter_mut().zip(xb) {
                    *y = if x > 0.0 { x } else { a * x };
                }
            }
        }
    }

    fn backward(&self, io: Backward<'_>) {
        let Backward { params, grads, .. } = io;
        grads.fill(0.0);
        for (xs, dys) in io.x.chunks_exact(N).zip(io.dy.chunks_exact(N)) {
            for ((xb, dyb), g) in xs.chunks_exact(Self::BLOCK).zip(dys.chunks_exact(Self::BLOCK)).zip(&mut *grads) {
                *g += xb.iter().zip(dyb).filter(|(&x, _)| x <= 0.0).map(|(&x, &dy)| x * dy).sum::<f32>();
            }
        }
        let Some(dx) = io.dx else { return };
        for (dxs, (xs, dys)) in dx.chunks_exact_mut(N).zip(io.x.chunks_exact(N).zip(io.dy.chunks_exact(N))) {
            for (((dxb, xb), dyb), &a) in dxs
                .chunks_exact_mut(Self::BLOCK)
                .zip(xs.chunks_exact(Self::BLOCK))
                .zip(dys.chunks_exact(Self::BLOCK))
                .zip(params)
            {
                for ((dx, &x), &dy) in dxb.iter_mut().zip(xb).zip(dyb) {
                    *dx = if x > 0.0 { dy } else { a * dy };
                }
            }
        }
    }
}
