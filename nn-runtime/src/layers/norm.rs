//! `BatchNorm` (Ioffe & Szegedy 2015): per feature after a flat shape (PyTorch's `BatchNorm1d`), per channel after
//! an image shape (`BatchNorm2d`).
//!
//! In training, a channel is normalised by the mean and variance of all its values in the *whole batch*, and
//! backward runs through those statistics. The layer says so with [`Layer::PARTIALS`]: each chunk contributes its
//! per-channel `Σx` and `Σx²` ([`Layer::forward_partials`]), the driver adds them up in chunk order, and
//! [`Layer::finish_forward`] turns the sums into the batch mean and 1/σ (and updates the running statistics);
//! backward mirrors it with `Σdy` and `Σdy·x̂`. Reductions in chunk order keep the result bit-identical for every
//! thread count. In eval mode the layer is a per-sample affine map of its running statistics.

use super::{Backward, Forward, Layer, Mode, Op, Pass};
use crate::kernels::math;
use crate::Rng;

/// Batch normalisation of `C` channels of `S` values each per sample; parameters `weight` (γ, starts at 1) and
/// `bias` (β, starts at 0), buffers `running_mean`, `running_var` and `num_batches_tracked`, as in PyTorch.
///
/// The typed views (`weight`, `running_mean`, …) take the network's whole arrays: `net.bn1.running_mean(&net.buffers)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm<const C: usize, const S: usize> {
    params: usize,
    buffers: usize,
    eps: f32,
    momentum: f32,
}

impl<const C: usize, const S: usize> BatchNorm<C, S> {
    /// A layer whose γ and β start at `params` in the network's parameters and whose buffers start at `buffers`
    /// in its buffer array, with PyTorch's `eps` (1e-5) and `momentum` (0.1) or others.
    pub const fn new(params: usize, buffers: usize, eps: f32, momentum: f32) -> Self {
        Self { params, buffers, eps, momentum }
    }

    /// Added to the variance before the square root.
    pub const fn eps(&self) -> f32 {
        self.eps
    }

    /// Weight of the newest batch in the running statistics.
    pub const fn momentum(&self) -> f32 {
        self.momentum
    }

    /// γ inside a network's parameters.
    pub fn weight<'p>(&self, params: &'p [f32]) -> &'p [f32; C] {
        crate::view(&params[self.params..self.params + C])
    }

    /// γ, mutably.
    pub fn weight_mut<'p>(&self, params: &'p mut [f32]) -> &'p mut [f32; C] {
        crate::view_mut(&mut params[self.params..self.params + C])
    }

    /// β inside a network's parameters.
    pub fn bias<'p>(&self, params: &'p [f32]) -> &'p [f32; C] {
        crate::view(&params[self.params + C..self.params + 2 * C])
    }

    /// β, mutably.
    pub fn bias_mut<'p>(&self, params: &'p mut [f32]) -> &'p mut [f32; C] {
        crate::view_mut(&mut params[self.params + C..self.params + 2 * C])
    }

    /// The running mean inside a network's buffers.
    pub fn running_mean<'b>(&self, buffers: &'b [f32]) -> &'b [f32; C] {
        crate::view(&buffers[self.buffers..self.buffers + C])
    }

    /// The running (unbiased) variance inside a network's buffers.
    pub fn running_var<'b>(&self, buffers: &'b [f32]) -> &'b [f32; C] {
        crate::view(&buffers[self.buffers + C..self.buffers + 2 * C])
    }

    /// The batch's mean and 1/σ (forward statistics) and `Σdy`, `Σdy·x̂` (backward), `C` values each.
    fn split_stats(stats: &[f32]) -> (&[f32], &[f32], &[f32], &[f32]) {
        let (mean, rest) = stats.split_at(C);
        let (inv, rest) = rest.split_at(C);
        let (sum_dy, sum_dy_xhat) = rest.split_at(C);
        (mean, inv, sum_dy, sum_dy_xhat)
    }

    /// 1/√(running_var + ε), from the layer's own buffers.
    fn running_inv(&self, buffers: &[f32]) -> [f32; C] {
        core::array::from_fn(|ch| 1.0 / math::sqrt(buffers[C + ch] + self.eps))
    }

    /// `y = γ·(x − mean)·inv + β` per channel. `params` is the layer's own slice (γ then β).
    fn affine(params: &[f32], mean: &[f32], inv: &[f32], x: &[f32], y: &mut [f32]) {
        let (gamma, beta) = params[..2 * C].split_at(C);
        for (xs, ys) in x.chunks_exact(C * S).zip(y.chunks_exact_mut(C * S)) {
            for ch in 0..C {
                let (scale, shift) = (gamma[ch] * inv[ch], beta[ch] - gamma[ch] * inv[ch] * mean[ch]);
                let range = ch * S..(ch + 1) * S;
                xs[range.clone()].iter().zip(&mut ys[range]).for_each(|(&x, y)| *y = x * scale + shift);
            }
        }
    }

    /// Eval backward: the affine map's gradients (`dγ = Σdy·x̂`, `dβ = Σdy`, `dx = γ·dy/√(var + ε)`).
    fn backward_eval(&self, b: Backward<'_>) {
        let inv = self.running_inv(b.buffers);
        let mean = &b.buffers[..C];
        let (dgamma, dbeta) = b.grads.split_at_mut(C);
        dgamma.fill(0.0);
        dbeta.fill(0.0);
        for (xs, dys) in b.x.chunks_exact(C * S).zip(b.dy.chunks_exact(C * S)) {
            for ch in 0..C {
                let range = ch * S..(ch + 1) * S;
                for (&x, &dy) in xs[range.clone()].iter().zip(&dys[range]) {
                    dgamma[ch] += dy * (x - mean[ch]) * inv[ch];
                    dbeta[ch] += dy;
                }
            }
        }
        if let Some(dx) = b.dx {
            for (dxs, dys) in dx.chunks_exact_mut(C * S).zip(b.dy.chunks_exact(C * S)) {
                let channels = dxs.chunks_exact_mut(S).zip(dys.chunks_exact(S));
                for ((dxc, dyc), (&gamma, &inv)) in channels.zip(b.params[..C].iter().zip(&inv)) {
                    let scale = gamma * inv;
                    dxc.iter_mut().zip(dyc).for_each(|(dx, &dy)| *dx = scale * dy);
                }
            }
        }
    }
}

impl<const C: usize, const S: usize> Layer for BatchNorm<C, S> {
    const IN: usize = C * S;
    const OUT: usize = C * S;
    /// γ and β.
    const PARAMS: usize = 2 * C;
    /// Running mean, running variance, batches tracked.
    const BUFFERS: usize = 2 * C + 1;
    /// Two sums per channel: `Σx`, `Σx²` forward; `Σdy`, `Σdy·x̂` backward.
    const PARTIALS: usize = 2 * C;
    /// Mean, 1/σ, `Σdy`, `Σdy·x̂` per channel.
    const STATS: usize = 4 * C;
    /// Two values per channel: two samples per feature, one image of two pixels or more.
    const MIN_BATCH: usize = if S >= 2 { 1 } else { 2 };

    /// PyTorch's start: γ = 1, β = 0, running mean 0, running variance 1, no batches.
    fn init(&self, params: &mut [f32], buffers: &mut [f32], _rng: &mut Rng) {
        let (gamma, beta) = params.split_at_mut(C);
        gamma.fill(1.0);
        beta.fill(0.0);
        buffers[..C].fill(0.0);
        buffers[C..2 * C].fill(1.0);
        buffers[2 * C] = 0.0;
    }

    /// Training: `y = γ·(x − μ)/σ + β` with the batch's statistics; eval: with the running ones.
    fn op(&self) -> Op {
        Op::BatchNorm { channels: C, spatial: S, eps: self.eps, momentum: self.momentum }
    }

    fn forward(&self, f: Forward<'_>) {
        if f.pass.mode == Mode::Train {
            let (mean, inv, ..) = Self::split_stats(f.stats);
            Self::affine(f.params, mean, inv, f.x, f.y);
        } else {
            let inv = self.running_inv(f.buffers);
            Self::affine(f.params, &f.buffers[..C], &inv, f.x, f.y);
        }
    }

    /// Training: `dx = γ/σ · (dy − Σdy/m − x̂·Σdy·x̂/m)`, `m` the values per channel in the batch (the parameter
    /// gradient came from [`Layer::backward_partials`]); eval: the affine map's gradients.
    fn backward(&self, b: Backward<'_>) {
        if b.pass.mode != Mode::Train {
            self.backward_eval(b);
            return;
        }
        let Some(dx) = b.dx else { return };
        let (mean, inv, sum_dy, sum_dy_xhat) = Self::split_stats(b.stats);
        let m = (b.pass.batch * S) as f32;
        let gamma = &b.params[..C];
        for ((xs, dys), dxs) in b.x.chunks_exact(C * S).zip(b.dy.chunks_exact(C * S)).zip(dx.chunks_exact_mut(C * S)) {
            for ch in 0..C {
                let (a, bb, c) = (mean[ch], inv[ch], gamma[ch] * inv[ch]);
                let (mean_dy, mean_dy_xhat) = (sum_dy[ch] / m, sum_dy_xhat[ch] / m);
                let range = ch * S..(ch + 1) * S;
                for ((&x, &dy), dx) in xs[range.clone()].iter().zip(&dys[range.clone()]).zip(&mut dxs[range]) {
                    *dx = c * (dy - mean_dy - (x - a) * bb * mean_dy_xhat);
                }
            }
        }
    }

    /// The chunk's per-channel `Σx` and `Σx²`.
    fn forward_partials(&self, x: &[f32], _pass: &Pass<'_>, partials: &mut [f64]) {
        let (sum, sq) = partials.split_at_mut(C);
        sum.fill(0.0);
        sq.fill(0.0);
        for sample in x.chunks_exact(C * S) {
            for ((channel, s), q) in sample.chunks_exact(S).zip(sum.iter_mut()).zip(sq.iter_mut()) {
                for &v in channel {
                    let v = f64::from(v);
                    *s += v;
                    *q += v * v;
                }
            }
        }
    }

    /// The batch mean and 1/σ, and the running statistics updated as PyTorch does (the running variance is the
    /// unbiased one).
    fn finish_forward(
        &self,
        sums: &[f64],
        pass: &Pass<'_>,
        stats: &mut [f32],
        buffers: &mut [f32],
    ) -> Result<(), super::BatchTooSmall> {
        let count = pass.batch * S;
        if count < 2 {
            return Err(super::BatchTooSmall { values: count });
        }
        let n = count as f64;
        let k = f64::from(self.momentum);
        for ch in 0..C {
            let (sum, sq) = (sums[ch], sums[C + ch]);
            let mean = sum / n;
            let var = (sq / n - mean * mean).max(0.0);
            stats[ch] = mean as f32;
            stats[C + ch] = (1.0 / math::sqrt_f64(var + f64::from(self.eps))) as f32;
            if buffers.is_empty() {
                // A pass that holds the network fixed: the batch's statistics, and no running update.
                continue;
            }
            let (rm, rv) = (ch, C + ch);
            buffers[rm] = ((1.0 - k) * f64::from(buffers[rm]) + k * mean) as f32;
            buffers[rv] = ((1.0 - k) * f64::from(buffers[rv]) + k * var * n / (n - 1.0)) as f32;
        }
        if let Some(count) = buffers.get_mut(2 * C) {
            *count += 1.0;
        }
        Ok(())
    }

    /// The chunk's `Σdy` and `Σdy·x̂` per channel, into `partials` and as the chunk's gradients of β and γ (which
    /// they are).
    fn backward_partials(&self, b: Backward<'_>, partials: &mut [f64]) {
        let (mean, inv, ..) = Self::split_stats(b.stats);
        let (sum_dy, sum_dy_xhat) = partials.split_at_mut(C);
        sum_dy.fill(0.0);
        sum_dy_xhat.fill(0.0);
        for (xs, dys) in b.x.chunks_exact(C * S).zip(b.dy.chunks_exact(C * S)) {
            for ch in 0..C {
                let range = ch * S..(ch + 1) * S;
                for (&x, &dy) in xs[range.clone()].iter().zip(&dys[range]) {
                    let xhat = (x - mean[ch]) * inv[ch];
                    sum_dy[ch] += f64::from(dy);
                    sum_dy_xhat[ch] += f64::from(dy * xhat);
                }
            }
        }
        let (dgamma, dbeta) = b.grads.split_at_mut(C);
        for ch in 0..C {
            dgamma[ch] = sum_dy_xhat[ch] as f32;
            dbeta[ch] = sum_dy[ch] as f32;
        }
    }

    /// The batch's `Σdy` and `Σdy·x̂`, beside the forward statistics.
    fn finish_backward(&self, sums: &[f64], _pass: &Pass<'_>, stats: &mut [f32]) {
        for ch in 0..C {
            stats[2 * C + ch] = sums[ch] as f32;
            stats[3 * C + ch] = sums[C + ch] as f32;
        }
    }
}
