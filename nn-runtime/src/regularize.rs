//! Weight penalties, weight constraints and gradient clipping, applied around an optimizer step.
//!
//! Penalties and constraints act on the weight matrices and kernels only (tensors named `*.weight`, and a recurrent
//! layer's `*.weight_ih_l{k}` and `*.weight_hh_l{k}` — each row one gate unit's incoming weights —, with at least
//! two dimensions, an `Embedding`'s table included): not on biases, nor on one-dimensional weights such as batch or
//! layer norm's scale γ or PReLU's slopes, as is usual. A weight tensor's first dimension is its output units — a
//! unit's incoming weights are one row of `[out, ...]` — but for a transposed convolution's `[in, out, K, K]`,
//! where output channel `o`'s are `[:, o]`.

use crate::net::Network;
use crate::{Error, Result};

/// What to add to the loss and its gradient, and how to constrain the update. All off by default.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Regularization {
    /// L1 penalty `λ₁ Σ|w|` on the weights.
    pub l1: f32,
    /// L2 penalty `(λ₂/2) Σ w²` on the weights, added to the loss (for decoupled weight decay use `AdamW`).
    pub l2: f32,
    /// Max-norm constraint: after every step, each unit's incoming weight vector is scaled down to this norm if it
    /// is longer (typically 3 or 4).
    pub max_norm: Option<f32>,
    /// Scale the whole gradient down to this global L2 norm if it is longer (PyTorch's `clip_grad_norm_`).
    pub clip_norm: Option<f32>,
    /// Clamp every gradient value to `[-clip, clip]` (PyTorch's `clip_grad_value_`).
    pub clip_value: Option<f32>,
}

impl Regularization {
    /// Rejects negative or non-finite settings.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, v: f32| {
            Err(Error::InvalidSetting { name, problem: format!("{v} must be a finite number ≥ 0") })
        };
        for (name, v) in [("l1", self.l1), ("l2", self.l2)] {
            if !(v >= 0.0 && v.is_finite()) {
                return bad(name, v);
            }
        }
        for (name, v) in [("max_norm", self.max_norm), ("clip_norm", self.clip_norm), ("clip_value", self.clip_value)] {
            if let Some(v) = v {
                if !(v > 0.0 && v.is_finite()) {
                    return Err(Error::InvalidSetting { name, problem: format!("{v} must be a finite number > 0") });
                }
            }
        }
        Ok(())
    }
}

/// Adds the L1 and L2 penalties of the weights in `params` to `grads`; returns the penalty to add to the loss.
pub fn add_weight_penalty<N: Network>(params: &[f32], grads: &mut [f32], l1: f32, l2: f32) -> f32 {
    if l1 == 0.0 && l2 == 0.0 {
        return 0.0;
    }
    let mut penalty = 0.0f64;
    for t in N::TENSORS.iter().filter(|t| is_weight_matrix(t)) {
        let range = t.offset..t.offset + t.len();
        for (g, &w) in grads[range.clone()].iter_mut().zip(&params[range]) {
            penalty += f64::from(l1 * w.abs() + 0.5 * l2 * w * w);
            // The subgradient of |w| at 0 is taken as 0.
            let sign = if w > 0.0 {
                1.0
            } else if w < 0.0 {
                -1.0
            } else {
                0.0
            };
            *g += l1 * sign + l2 * w;
        }
    }
    penalty as f32
}

/// The global L2 norm of `grads` (summed in f64).
pub fn grad_norm(grads: &[f32]) -> f32 {
    grads.iter().map(|&g| f64::from(g) * f64::from(g)).sum::<f64>().sqrt() as f32
}

/// Scales `grads` so their global L2 norm is at most `max_norm`; returns the norm before clipping.
pub fn clip_grad_norm(grads: &mut [f32], max_norm: f32) -> f32 {
    let norm = grad_norm(grads);
    scale_to_norm(grads, norm, max_norm);
    norm
}

/// [`clip_grad_norm`] for gradients whose norm is known already.
pub(crate) fn scale_to_norm(grads: &mut [f32], norm: f32, max_norm: f32) {
    if norm > max_norm {
        let scale = max_norm / (norm + 1e-6);
        grads.iter_mut().for_each(|g| *g *= scale);
    }
}

/// Clamps every gradient value to `[-clip, clip]`.
pub fn clip_grad_value(grads: &mut [f32], clip: f32) {
    grads.iter_mut().for_each(|g| *g = g.clamp(-clip, clip));
}

/// Scales each unit's incoming weights down to L2 norm `c` where it is longer: each row of each weight tensor —
/// but for a transposed convolution, whose weight is `[in, out, K, K]`, each output channel's `[in, K, K]`.
pub fn apply_max_norm<N: Network>(params: &mut [f32], c: f32) {
    for t in N::TENSORS.iter().filter(|t| is_weight_matrix(t)) {
        let values = &mut params[t.offset..t.offset + t.len()];
        if !is_transposed_convolution::<N>(t) {
            let row = t.len() / t.shape[0];
            for unit in values.chunks_exact_mut(row.max(1)) {
                let scale = shrink(unit.iter(), c);
                unit.iter_mut().for_each(|w| *w *= scale);
            }
            continue;
        }
        // Output channel `o` is the `o`-th block of K·K values in every input channel's row.
        let (outs, kk) = (t.shape[1], t.shape[2..].iter().product::<usize>());
        for o in 0..outs {
            let scale = shrink(values.chunks_exact(outs * kk).flat_map(|row| &row[o * kk..(o + 1) * kk]), c);
            for row in values.chunks_exact_mut(outs * kk) {
                row[o * kk..(o + 1) * kk].iter_mut().for_each(|w| *w *= scale);
            }
        }
    }
}

/// The factor that brings weights of L2 norm above `c` down to `c` (1 for the others).
fn shrink<'a>(weights: impl Iterator<Item = &'a f32>, c: f32) -> f32 {
    let norm = weights.map(|&w| f64::from(w) * f64::from(w)).sum::<f64>().sqrt() as f32;
    if norm > c {
        c / norm
    } else {
        1.0
    }
}

/// Whether `t` is the weight of a transposed convolution (whose units are its second dimension).
fn is_transposed_convolution<N: Network>(t: &crate::TensorInfo) -> bool {
    let prefix = t.name.rsplit_once('.').map_or("", |(p, _)| p);
    N::LAYERS
        .iter()
        .position(|l| l.prefix == prefix)
        .is_some_and(|i| matches!(N::op(i), crate::layers::Op::ConvTranspose2d { .. }))
}

/// Whether penalties and constraints apply to `t`: a weight ([`is_weight`]) with at least two dimensions.
fn is_weight_matrix(t: &crate::TensorInfo) -> bool {
    is_weight(t.name) && t.shape.len() >= 2
}

/// Whether a tensor name is a weight rather than a bias or buffer: its last part is `weight`, or for a recurrent
/// layer `weight_ih_l{k}` / `weight_hh_l{k}` (and `_reverse`).
pub(crate) fn is_weight(name: &str) -> bool {
    name.rsplit('.').next().is_some_and(|last| last == "weight" || last.starts_with("weight_"))
}
