//! RMSprop (Hinton's lecture 6e), with PyTorch's options: momentum and the centred variant.

use super::{check, check_lr, flush_subnormal, size_state, Optimizer, OptimizerState};
use crate::kernels::update;
use crate::Result;

/// Settings of [`RmsProp`]; `Default` is PyTorch's `torch.optim.RMSprop`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsPropConfig {
    /// Learning rate (default 1e-2).
    pub lr: f32,
    /// Smoothing constant of the squared-gradient average (default 0.99).
    pub alpha: f32,
    /// Added to the denominator for stability (default 1e-8).
    pub eps: f32,
    /// L2 penalty added to the gradient (default 0).
    pub weight_decay: f32,
    /// Momentum factor (default 0).
    pub momentum: f32,
    /// Normalise by the estimated variance instead of the second moment (default off).
    pub centered: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        Self { lr: 1e-2, alpha: 0.99, eps: 1e-8, weight_decay: 0.0, momentum: 0.0, centered: false }
    }
}

/// RMSprop: `v ← αv + (1−α)g²`; centred: `ḡ ← αḡ + (1−α)g`, `v' = v − ḡ²`; then `d = √v' + ε`;
/// with momentum `b ← μb + g/d`, `p ← p − lr·b`, else `p ← p − lr·g/d`.
#[derive(Clone, Debug)]
pub struct RmsProp {
    config: RmsPropConfig,
    square_avg: Vec<f32>,
    grad_avg: Vec<f32>,
    buffer: Vec<f32>,
}

impl RmsProp {
    /// An optimizer with the given settings.
    ///
    /// # Panics
    /// On invalid settings; [`RmsProp::try_new`] returns them as an error.
    #[track_caller]
    pub fn new(config: RmsPropConfig) -> Self {
        match Self::try_new(config) {
            Ok(optimizer) => optimizer,
            Err(e) => panic!("{e}"),
        }
    }

    /// An optimizer with the given settings, or an error naming the invalid one.
    pub fn try_new(config: RmsPropConfig) -> Result<Self> {
        check_lr(config.lr)?;
        check("alpha", config.alpha, (0.0..=1.0).contains(&config.alpha), "an alpha in [0, 1]")?;
        check("eps", config.eps, config.eps >= 0.0, "an eps ≥ 0")?;
        check("weight_decay", config.weight_decay, config.weight_decay >= 0.0, "a weight decay ≥ 0")?;
        check("momentum", config.momentum, config.momentum >= 0.0, "a momentum ≥ 0")?;
        Ok(Self { config, square_avg: Vec::new(), grad_avg: Vec::new(), buffer: Vec::new() })
    }

    /// The settings.
    pub fn config(&self) -> &RmsPropConfig {
        &self.config
    }
}

impl Optimizer for RmsProp {
    fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        assert_eq!(params.len(), grads.len(), "parameters and gradients differ in length");
        let RmsPropConfig { lr, alpha, eps, weight_decay, momentum, centered } = self.config;
        size_state(&mut self.square_avg, params.len(), "RMSprop");
        if centered {
            size_state(&mut self.grad_avg, params.len(), "RMSprop");
        }
        if momentum > 0.0 {
            size_state(&mut self.buffer, params.len(), "RMSprop");
        }
        let grad_avg: &mut [f32] = if centered { &mut self.grad_avg } else { &mut [] };
        let buffer: &mut [f32] = if momentum > 0.0 { &mut self.buffer } else { &mut [] };
        update(params, grads, [&mut self.square_avg, grad_avg, buffer], &|part| {
            let [square_avg, grad_avg, buffer] = part.states;
            for (i, (p, &g)) in part.values.iter_mut().zip(part.grads).enumerate() {
                let g = g + weight_decay * *p;
                let v = &mut square_avg[i];
                *v = flush_subnormal(alpha * *v + (1.0 - alpha) * g * g);
                let var = if centered {
                    let a = &mut grad_avg[i];
                    *a = flush_subnormal(alpha * *a + (1.0 - alpha) * g);
                    *v - *a * *a
                } else {
                    *v
                };
                let denom = var.sqrt() + eps;
                if momentum > 0.0 {
                    let b = &mut buffer[i];
                    *b = flush_subnormal(momentum * *b + g / denom);
                    *p -= lr * *b;
                } else {
                    *p -= lr * g / denom;
                }
            }
        });
    }

    fn learning_rate(&self) -> f32 {
        self.config.lr
    }

    fn try_set_learning_rate(&mut self, lr: f32) -> Result<()> {
        check_lr(lr)?;
        self.config.lr = lr;
        Ok(())
    }

    fn state(&self) -> OptimizerState {
        OptimizerState::new("rmsprop")
            .buffer("square_avg", &self.square_avg)
            .buffer("grad_avg", &self.grad_avg)
            .buffer("momentum_buffer", &self.buffer)
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        state.check_kind("rmsprop", &["square_avg", "grad_avg", "momentum_buffer"])?;
        self.square_avg = state.get_squares("square_avg")?;
        self.grad_avg = state.get_buffer("grad_avg");
        self.buffer = state.get_buffer("momentum_buffer");
        Ok(())
    }
}
