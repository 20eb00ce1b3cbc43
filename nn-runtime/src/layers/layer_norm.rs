//! `LayerNorm` (Ba, Kiros & Hinton 2016): each group of `F` consecutive values — a sample's features, a
//! sequence's step, an image's row — normalised by its own mean and (biased) variance, then scaled and shifted
//! per value, as PyTorch's `nn.LayerNorm(F)` over the last axis. Unlike batch norm it needs nothing from other
//! samples and behaves the same in training and evaluation.

use super::{Backward, Forward, Layer, Op};
use crate::kernels::{interleaved_sum, math};

/// Layer normalisation over groups of `F` values, `N` values per row (`N` a multiple of `F`); with `AFFINE` the
/// parameters `weight` (`[F]`, starts at 1) and, with `BIAS`, `bias` (`[F]`, starts at 0), as PyTorch's
/// `elementwise_affine` and `bias`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerNorm<const F: usize, const N: usize, const AFFINE: bool, const BIAS: bool> {
    offset: usize,
    eps: f32,
}

impl<const F: usize, const N: usize, const AFFINE: bool, const BIAS: bool> LayerNorm<F, N, AFFINE, BIAS> {
    const GROUPS: usize = N / F;

    /// A layer whose parameters start at `offset` in the network's parameter buffer, adding `eps` to the
    /// variance (PyTorch's default is 1e-5).
    ///
    /// # Panics
    /// If `N` is not a multiple of `F` (the `network!` macro never builds one).
    pub const fn new(offset: usize, eps: f32) -> Self {
        assert!(F > 0 && N.is_multiple_of(F), "a row holds whole groups");
        Self { offset, eps }
    }

    /// Added to the variance before the square root.
    pub const fn eps(&self) -> f32 {
        self.eps
    }

    /// γ (`[F]`) inside a network's parameters, with `elementwise_affine`.
    pub fn weight<'p>(&self, params: &'p [f32]) -> Option<&'p [f32; F]> {
        AFFINE.then(|| crate::view(&params[self.offset..self.offset + F]))
    }

    /// β (`[F]`) inside a network's parameters, with `elementwise_affine` and `bias`.
    pub fn bias<'p>(&self, params: &'p [f32]) -> Option<&'p [f32; F]> {
        (AFFINE && BIAS).then(|| crate::view(&params[self.offset + F..self.offset + 2 * F]))
    }

    /// The mean and 1/σ of one group.
    fn statistics(&self, x: &[f32]) -> (f32, f32) {
        let x = &x[..F];
        let mean = interleaved_sum(F, |j| f64::from(x[j])) / F as f64;
        let var = interleaved_sum(F, |j| {
            let d = f64::from(x[j]) - mean;
            d * d
        }) / F as f64;
        (mean as f32, 1.0 / math::sqrt((var + f64::from(self.eps)) as f32))
    }
}

impl<const F: usize, const N: usize, const AFFINE: bool, const BIAS: bool> Layer for LayerNorm<F, N, AFFINE, BIAS> {
    const IN: usize = N;
    const OUT: usize = N;
    const PARAMS: usize = if AFFINE { F + if BIAS { F } else { 0 } } else { 0 };
    /// Each group's mean and 1/σ.
    const SAVED_PER_ROW: usize = 2 * Self::GROUPS;
    /// Nothing without a backward pass.
    const FORWARD_SAVED_PER_ROW: usize = 0;

    fn init(&self, params: &mut [f32], _buffers: &mut [f32], _rng: &mut crate::Rng) {
        if AFFINE {
            let (w, b) = params.split_at_mut(F);
            w.fill(1.0);
            b.fill(0.0);
        }
    }

    fn op(&self) -> Op {
        Op::LayerNorm { features: F, eps: self.eps, affine: AFFINE, bias: BIAS }
    }

    fn forward(&self, f: Forward<'_>) {
        let Forward { params, x, y, saved, pass, .. } = f;
        let (w, b) = params.split_at(if AFFINE { F } else { 0 });
        for (g, (x, y)) in x.chunks_exact(F).zip(y.chunks_exact_mut(F)).enumerate() {
            let (mean, inv) = self.statistics(x);
            if pass.backward {
                saved[2 * g] = mean;
                saved[2 * g + 1] = inv;
            }
            for (j, (y, &v)) in y.iter_mut().zip(x).enumerate() {
                let xhat = (v - mean) * inv;
                *y = match (AFFINE, BIAS) {
                    (true, true) => xhat * w[j] + b[j],
                    (true, false) => xhat * w[j],
                    _ => xhat,
                };
            }
        }
    }

    fn backward(&self, io: Backward<'_>) {
        let Backward { params, x, saved, dy, dx, grads, .. } = io;
        let (dw, db) = grads.split_at_mut(if AFFINE { F } else { 0 });
        dw.fill(0.0);
        db.fill(0.0);
        let w = &params[..if AFFINE { F } else { 0 }];
        let mut dx = dx.map(|d| d.chunks_exact_mut(F));
        for (g, (x, dy)) in x.chunks_exact(F).zip(dy.chunks_exact(F)).enumerate() {
            let (mean, inv) = (saved[2 * g], saved[2 * g + 1]);
            let xhat = |j: usize| (x[j] - mean) * inv;
            if AFFINE {
                for j in 0..F {
                    dw[j] += dy[j] * xhat(j);
                    if BIAS {
                        db[j] += dy[j];
                    }
                }
            }
            let Some(dx) = dx.as_mut().and_then(Iterator::next) else { continue };
            // dx̂ = dy·γ; dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) / σ.
            let dxhat = |j: usize| if AFFINE { dy[j] * w[j] } else { dy[j] };
            let sum = interleaved_sum(F, |j| f64::from(dxhat(j)));
            let sum_xhat = interleaved_sum(F, |j| f64::from(dxhat(j) * xhat(j)));
            let (mean_d, mean_dx) = ((sum / F as f64) as f32, (sum_xhat / F as f64) as f32);
            for (j, d) in dx.iter_mut().enumerate() {
                *d = (dxhat(j) - mean_d - xhat(j) * mean_dx) * inv;
            }
        }
    }
}
