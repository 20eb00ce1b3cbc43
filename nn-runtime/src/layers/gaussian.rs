//! `GaussianSample<Z>` (Kingma and Welling, 2014): the reparameterisation trick of a variational autoencoder. Its
//! input is μ and log σ² side by side; in training it outputs `μ + σ·ε` with `ε ~ N(0, I)`, in eval `μ`; and it
//! adds `β · KL(N(μ, σ²) ‖ N(0, I)) = β · −½ Σ (1 + log σ² − μ² − σ²)` to the loss — the first user of layers'
//! own loss terms ([`Layer::loss`]).

use super::dropout::mix;
use super::{Backward, Forward, Layer, Mode, Op, Pass};
use crate::kernels::math;

/// Samples `Z` latent values from the `2·Z = IN` values before it (μ, then log σ²), and adds `β` times their KL
/// divergence from the standard normal to the loss.
///
/// The noise ε is a pure function of the network's seed, the layer, the training-pass counter, the sample's index
/// in its batch, the step and the value's index (a counter-based hash, as dropout's masks), so the same seed
/// replays the same draws, a checkpoint resumes them, the thread count never matters, and backward recomputes ε
/// instead of storing it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GaussianSample<const IN: usize, const Z: usize> {
    beta: f32,
    stream: u64,
}

impl<const IN: usize, const Z: usize> GaussianSample<IN, Z> {
    /// The layer with KL weight `beta` (≥ 0), drawing from random stream `stream` (the layer's index).
    ///
    /// # Panics
    /// If `IN ≠ 2·Z` or `beta` is negative or not finite (the `network!` macro rejects both at compile time).
    pub const fn new(beta: f32, stream: u64) -> Self {
        assert!(IN == 2 * Z, "GaussianSample reads 2·Z values: μ, then log σ²");
        assert!(beta >= 0.0 && beta.is_finite(), "the KL weight must be finite and ≥ 0");
        Self { beta, stream }
    }

    /// The weight of the KL term.
    pub const fn beta(&self) -> f32 {
        self.beta
    }

    /// Calls `f(row, ε of the row)` for every row of a chunk in training (`len` output values), ε drawn from
    /// (seed, stream, pass, sample's index in the batch, step, value's index) — the same for any chunk schedule,
    /// padding or thread count.
    fn for_each_noise(&self, pass: &Pass<'_>, len: usize, mut f: impl FnMut(usize, &[f32; Z])) {
        let pass_key = mix(mix(mix(pass.seed) ^ self.stream) ^ pass.step);
        let mut eps = [0.0f32; Z];
        for row in 0..len / Z.max(1) {
            let (sample, step) = (row / pass.steps.max(1), row % pass.steps.max(1));
            let key = mix(mix(pass_key ^ (pass.first + sample) as u64) ^ ((step as u64) << 32));
            for (j, e) in eps.iter_mut().enumerate() {
                // Box–Muller from two 53-bit uniforms; u1 in (0, 1] so its logarithm is finite.
                let bits = mix(key.wrapping_add(2 * j as u64));
                let u1 = ((bits >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
                let u2 = (mix(key.wrapping_add(2 * j as u64 + 1)) >> 11) as f64 / (1u64 << 53) as f64;
                let radius = math::sqrt_f64(-2.0 * math::ln_f64(u1));
                *e = (radius * math::cos_f64(core::f64::consts::TAU * u2)) as f32;
            }
            f(row, &eps);
        }
    }

    /// Whether `row` of the chunk is padding past its sample's sequence (it then adds no loss).
    fn padding(pass: &Pass<'_>, row: usize) -> bool {
        let (sample, step) = (row / pass.steps.max(1), row % pass.steps.max(1));
        pass.lengths.get(sample).is_some_and(|&len| step >= len)
    }
}

impl<const IN: usize, const Z: usize> Layer for GaussianSample<IN, Z> {
    const IN: usize = IN;
    const OUT: usize = Z;
    /// Each row's KL term, kept for [`Layer::loss`] (in every pass: the loss of an evaluation includes it).
    const SAVED_PER_ROW: usize = 1;
    const LOSS: bool = true;

    fn op(&self) -> Op {
        Op::GaussianSample { latent: Z }
    }

    fn forward(&self, f: Forward<'_>) {
        let Forward { x, y, saved, pass, .. } = f;
        for (row, (x, kl)) in x.chunks_exact(IN).zip(saved.iter_mut()).enumerate() {
            let (mu, log_var) = x.split_at(Z);
            let sum: f64 = mu.iter().zip(log_var).map(|(&m, &lv)| f64::from(1.0 + lv - m * m - math::exp(lv))).sum();
            *kl = if Self::padding(pass, row) { 0.0 } else { (-0.5 * sum) as f32 };
        }
        if pass.mode == Mode::Eval {
            for (x, y) in x.chunks_exact(IN).zip(y.chunks_exact_mut(Z)) {
                y.copy_from_slice(&x[..Z]);
            }
            return;
        }
        self.for_each_noise(pass, y.len(), |row, eps| {
            let (x, y) = (&x[row * IN..(row + 1) * IN], &mut y[row * Z..(row + 1) * Z]);
            for j in 0..Z {
                y[j] = x[j] + math::exp(0.5 * x[Z + j]) * eps[j];
            }
        });
    }

    fn loss(&self, saved: &[f32], _pass: &Pass<'_>) -> f64 {
        f64::from(self.beta) * saved.iter().map(|&kl| f64::from(kl)).sum::<f64>()
    }

    fn backward(&self, b: Backward<'_>) {
        let Some(dx) = b.dx else { return };
        let pass = b.pass;
        // The KL term's gradient, scaled as the loss scales its terms (0 when the pass has no loss).
        let weight = self.beta * pass.loss_scale;
        for (row, ((x, dy), dx)) in
            b.x.chunks_exact(IN).zip(b.dy.chunks_exact(Z)).zip(dx.chunks_exact_mut(IN)).enumerate()
        {
            let kl = if Self::padding(pass, row) { 0.0 } else { weight };
            let (mu, log_var) = x.split_at(Z);
            let (d_mu, d_log_var) = dx.split_at_mut(Z);
            for j in 0..Z {
                d_mu[j] = dy[j] + kl * mu[j];
                d_log_var[j] = kl * 0.5 * math::exp_m1(log_var[j]);
            }
        }
        if pass.mode == Mode::Eval {
            return;
        }
        self.for_each_noise(pass, b.dy.len(), |row, eps| {
            let (x, dy, dx) = (&b.x[row * IN..(row + 1) * IN], &b.dy[row * Z..(row + 1) * Z], &mut dx[row * IN..]);
            for j in 0..Z {
                // y = μ + e^{lv/2}·ε: ∂y/∂lv = ½·e^{lv/2}·ε.
                dx[Z + j] += dy[j] * 0.5 * math::exp(0.5 * x[Z + j]) * eps[j];
            }
        });
    }
}
