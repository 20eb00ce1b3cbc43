//! `BatchNorm` (Ioffe & Szegedy 2015): per feature after a flat shape (PyTorch's `BatchNorm1d`), per channel after
//! an image shape (`BatchNorm2d`).
//!
//! In training, a channel is normalised by the mean and variance of all its values in the *whole batch*, and
//! backward runs through those statistics. Because the batch is processed in chunks, a training pass through a
//! network with batch norm runs in stages: every chunk runs forward up to a batch-norm layer and adds its
//! per-channel sums to its own partial (`partial_stats`); the driver reduces the partials in chunk order
//! ([`NormInfo::reduce_stats`]); then every chunk normalises and goes on. Backward mirrors it with the sums
//! `Σdy` and `Σdy·x̂`. Reductions in chunk order keep the result bit-identical for every thread count. In eval
//! mode the layer is a per-sample affine map of its running statistics, with no stages.

use super::Backward;
use crate::pass::Pass;
use crate::workspace::Workspace;

/// Where a batch-norm layer keeps its numbers, and its settings; the driver reads these from
/// `Network::NORMS` to reduce statistics between stages.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormInfo {
    /// The layer's field name (for error messages).
    pub name: &'static str,
    /// Channels (features) normalised separately.
    pub channels: usize,
    /// Values per channel in one sample (`H·W` for images, 1 for features).
    pub spatial: usize,
    /// Start of `weight` (γ, `[C]`) then `bias` (β, `[C]`) in the parameter buffer.
    pub params: usize,
    /// Start of `running_mean`, `running_var` (`[C]` each) and `num_batches_tracked` (one value) in the
    /// network's buffers.
    pub buffers: usize,
    /// Start of this layer's batch statistics in [`Pass::norms`]: mean, 1/σ, Σdy, Σdy·x̂ (`[C]` each).
    pub stats: usize,
    /// Start of this layer's per-chunk partial sums (`2C` values) in a workspace.
    pub partials: usize,
    /// Added to the variance before the square root (PyTorch: 1e-5).
    pub eps: f32,
    /// Weight of the newest batch in the running statistics (PyTorch: 0.1).
    pub momentum: f32,
}

impl NormInfo {
    /// Combines the chunks' partial sums (in chunk order) into the batch mean and 1/σ, and, when `buffers` is
    /// given, updates the running statistics as PyTorch does (the running variance is the unbiased one).
    ///
    /// # Errors
    /// [`crate::Error::BatchTooSmall`] if the batch holds one value per channel.
    pub(crate) fn reduce_stats(
        &self,
        chunks: &[Workspace],
        batch: usize,
        norms: &mut [f32],
        mut buffers: Option<&mut [f32]>,
    ) -> crate::Result<()> {
        let c = self.channels;
        let count = batch * self.spatial;
        if count < 2 {
            return Err(crate::Error::BatchTooSmall { layer: self.name, values: count });
        }
        let n = count as f64;
        let k = f64::from(self.momentum);
        for ch in 0..c {
            let (sum, sq) = self.sum_over(chunks, ch);
            let mean = sum / n;
            let var = (sq / n - mean * mean).max(0.0);
            norms[self.stats + ch] = mean as f32;
            norms[self.stats + c + ch] = (1.0 / (var + f64::from(self.eps)).sqrt()) as f32;
            if let Some(b) = buffers.as_deref_mut() {
                let (rm, rv) = (self.buffers + ch, self.buffers + c + ch);
                b[rm] = ((1.0 - k) * f64::from(b[rm]) + k * mean) as f32;
                b[rv] = ((1.0 - k) * f64::from(b[rv]) + k * var * n / (n - 1.0)) as f32;
            }
        }
        if let Some(b) = buffers {
            b[self.buffers + 2 * c] += 1.0;
        }
        Ok(())
    }

    /// Combines the chunks' backward sums (in chunk order) into the batch's `Σdy` and `Σdy·x̂`.
    pub(crate) fn reduce_grad_sums(&self, chunks: &[Workspace], norms: &mut [f32]) {
        let c = self.channels;
        for ch in 0..c {
            let (sum_dy, sum_dy_xhat) = self.sum_over(chunks, ch);
            norms[self.stats + 2 * c + ch] = sum_dy as f32;
            norms[self.stats + 3 * c + ch] = sum_dy_xhat as f32;
        }
    }

    /// Channel `ch`'s two partial sums added up over the chunks, in chunk order.
    fn sum_over(&self, chunks: &[Workspace], ch: usize) -> (f64, f64) {
        let (a, b) = (self.partials + ch, self.partials + self.channels + ch);
        chunks.iter().fold((0.0, 0.0), |(x, y), ws| (x + ws.partials[a], y + ws.partials[b]))
    }
}

/// Batch normalisation of `C` channels of `S` values each per sample; parameters `weight` (γ, starts at 1) and
/// `bias` (β, starts at 0), buffers `running_mean`, `running_var` and `num_batches_tracked`, as in PyTorch.
///
/// The generated code drives it (it is not a [`super::Layer`]: its output depends on the whole batch). In the
/// entry points below, `params` is the layer's own slice of the parameter buffer (γ then β) and `buffers` the
/// network's whole buffer array; the typed views (`weight`, `running_mean`, ...) take the whole arrays, as
/// `net.bn1.running_mean(&net.buffers)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNorm<const C: usize, const S: usize> {
    info: NormInfo,
}

impl<const C: usize, const S: usize> BatchNorm<C, S> {
    /// Values per sample.
    pub const LEN: usize = C * S;
    /// Parameters: γ and β.
    pub const PARAMS: usize = 2 * C;
    /// Buffer values: running mean, running variance, batches tracked.
    pub const BUFFERS: usize = 2 * C + 1;

    /// The layer described by `info` (whose `channels` and `spatial` must be `C` and `S`).
    pub const fn new(info: NormInfo) -> Self {
        assert!(info.channels == C && info.spatial == S);
        Self { info }
    }

    /// Where the layer keeps its numbers, and its settings.
    pub const fn info(&self) -> &NormInfo {
        &self.info
    }

    /// γ inside a network's parameters.
    pub fn weight<'p>(&self, params: &'p [f32]) -> &'p [f32; C] {
        crate::view(&params[self.info.params..self.info.params + C])
    }

    /// β inside a network's parameters.
    pub fn bias<'p>(&self, params: &'p [f32]) -> &'p [f32; C] {
        crate::view(&params[self.info.params + C..self.info.params + 2 * C])
    }

    /// The running mean inside a network's buffers.
    pub fn running_mean<'b>(&self, buffers: &'b [f32]) -> &'b [f32; C] {
        crate::view(&buffers[self.info.buffers..self.info.buffers + C])
    }

    /// The running (unbiased) variance inside a network's buffers.
    pub fn running_var<'b>(&self, buffers: &'b [f32]) -> &'b [f32; C] {
        crate::view(&buffers[self.info.buffers + C..self.info.buffers + 2 * C])
    }

    /// Initial parameters (γ = 1, β = 0) and buffers (mean 0, variance 1, no batches) — PyTorch's — in the
    /// network's whole parameter and buffer arrays.
    pub fn init(&self, params: &mut [f32], buffers: &mut [f32]) {
        let (gamma, beta) = params[self.info.params..self.info.params + 2 * C].split_at_mut(C);
        gamma.fill(1.0);
        beta.fill(0.0);
        let b = &mut buffers[self.info.buffers..self.info.buffers + 2 * C + 1];
        b[..C].fill(0.0);
        b[C..2 * C].fill(1.0);
        b[2 * C] = 0.0;
    }

    /// Training, stage 1 (per chunk): the chunk's per-channel `Σx` and `Σx²`.
    pub fn partial_stats(&self, x: &[f32], partials: &mut [f64]) {
        let (sum, sq) = partials[self.info.partials..self.info.partials + 2 * C].split_at_mut(C);
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

    /// Training, stage 2 (per chunk): `y = γ·(x − μ)/σ + β` with the batch's statistics.
    pub fn forward_train(&self, params: &[f32], pass: &Pass<'_>, x: &[f32], y: &mut [f32]) {
        let (mean, inv) = self.batch_stats(pass);
        self.affine(params, mean, inv, x, y);
    }

    /// Eval: `y = γ·(x − running_mean)/√(running_var + ε) + β`, per sample.
    pub fn forward_eval(&self, params: &[f32], buffers: &[f32], x: &[f32], y: &mut [f32]) {
        let inv = self.running_inv(buffers);
        self.affine(params, self.running_mean(buffers), &inv, x, y);
    }

    /// Training, backward stage 1 (per chunk): the chunk's `Σdy` and `Σdy·x̂` per channel, into `partials` and as
    /// the chunk's gradients of β and γ (which they are).
    pub fn backward_sums(&self, pass: &Pass<'_>, io: &Backward<'_>, grads: &mut [f32], partials: &mut [f64]) {
        let (mean, inv) = self.batch_stats(pass);
        let (sum_dy, sum_dy_xhat) = partials[self.info.partials..self.info.partials + 2 * C].split_at_mut(C);
        sum_dy.fill(0.0);
        sum_dy_xhat.fill(0.0);
        for (xs, dys) in io.x.chunks_exact(C * S).zip(io.dy.chunks_exact(C * S)) {
            for ch in 0..C {
                let range = ch * S..(ch + 1) * S;
                for (&x, &dy) in xs[range.clone()].iter().zip(&dys[range]) {
                    let xhat = (x - mean[ch]) * inv[ch];
                    sum_dy[ch] += f64::from(dy);
                    sum_dy_xhat[ch] += f64::from(dy * xhat);
                }
            }
        }
        let (dgamma, dbeta) = grads.split_at_mut(C);
        for ch in 0..C {
            dgamma[ch] = sum_dy_xhat[ch] as f32;
            dbeta[ch] = sum_dy[ch] as f32;
        }
    }

    /// Training, backward stage 2 (per chunk): `dx = γ/σ · (dy − Σdy/m − x̂·Σdy·x̂/m)`, `m` the values per channel
    /// in the batch.
    pub fn backward_train(&self, params: &[f32], pass: &Pass<'_>, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        let (mean, inv) = self.batch_stats(pass);
        let sums = &pass.norms[self.info.stats + 2 * C..self.info.stats + 4 * C];
        let (sum_dy, sum_dy_xhat) = sums.split_at(C);
        let m = (pass.batch * S) as f32;
        let gamma = &params[..C];
        for ((xs, dys), dxs) in x.chunks_exact(C * S).zip(dy.chunks_exact(C * S)).zip(dx.chunks_exact_mut(C * S)) {
            for ch in 0..C {
                let (a, b, c) = (mean[ch], inv[ch], gamma[ch] * inv[ch]);
                let (mean_dy, mean_dy_xhat) = (sum_dy[ch] / m, sum_dy_xhat[ch] / m);
                let range = ch * S..(ch + 1) * S;
                for ((&x, &dy), dx) in xs[range.clone()].iter().zip(&dys[range.clone()]).zip(&mut dxs[range]) {
                    *dx = c * (dy - mean_dy - (x - a) * b * mean_dy_xhat);
                }
            }
        }
    }

    /// Eval backward: the affine map's gradients (`dγ = Σdy·x̂`, `dβ = Σdy`, `dx = γ·dy/√(var + ε)`).
    pub fn backward_eval(&self, params: &[f32], buffers: &[f32], io: Backward<'_>, grads: &mut [f32]) {
        let inv = self.running_inv(buffers);
        let mean = self.running_mean(buffers);
        let (dgamma, dbeta) = grads.split_at_mut(C);
        dgamma.fill(0.0);
        dbeta.fill(0.0);
        for (xs, dys) in io.x.chunks_exact(C * S).zip(io.dy.chunks_exact(C * S)) {
            for ch in 0..C {
                let range = ch * S..(ch + 1) * S;
                for (&x, &dy) in xs[range.clone()].iter().zip(&dys[range]) {
                    dgamma[ch] += dy * (x - mean[ch]) * inv[ch];
                    dbeta[ch] += dy;
                }
            }
        }
        if let Some(dx) = io.dx {
            for (dxs, dys) in dx.chunks_exact_mut(C * S).zip(io.dy.chunks_exact(C * S)) {
                for ch in 0..C {
                    let scale = params[ch] * inv[ch];
                    let range = ch * S..(ch + 1) * S;
                    dxs[range.clone()].iter_mut().zip(&dys[range]).for_each(|(dx, &dy)| *dx = scale * dy);
                }
            }
        }
    }

    fn batch_stats<'p>(&self, pass: &Pass<'p>) -> (&'p [f32], &'p [f32]) {
        pass.norms[self.info.stats..self.info.stats + 2 * C].split_at(C)
    }

    fn running_inv(&self, buffers: &[f32]) -> [f32; C] {
        let var = self.running_var(buffers);
        std::array::from_fn(|ch| 1.0 / (var[ch] + self.info.eps).sqrt())
    }

    /// `y = γ·(x − mean)·inv + β` per channel. `params` is the layer's own slice (γ then β).
    fn affine(&self, params: &[f32], mean: &[f32], inv: &[f32], x: &[f32], y: &mut [f32]) {
        let (gamma, beta) = params[..2 * C].split_at(C);
        for (xs, ys) in x.chunks_exact(C * S).zip(y.chunks_exact_mut(C * S)) {
            for ch in 0..C {
                let (scale, shift) = (gamma[ch] * inv[ch], beta[ch] - gamma[ch] * inv[ch] * mean[ch]);
                let range = ch * S..(ch + 1) * S;
                xs[range.clone()].iter().zip(&mut ys[range]).for_each(|(&x, y)| *y = x * scale + shift);
            }
        }
    }
}
