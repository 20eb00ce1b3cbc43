//! Stochastic gradient descent with momentum, Nesterov momentum and (coupled) weight decay.

use super::{check, check_lr, flush_subnormal, size_state, Optimizer, OptimizerState};
use crate::kernels::update;
use crate::Result;

/// Settings of [`Sgd`]; `Default` is PyTorch's `torch.optim.SGD` (lr 1e-3, everything else off).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate.
    pub lr: f32,
    /// Momentum factor μ (0 = plain SGD).
    pub momentum: f32,
    /// Dampening of the gradient added to the momentum buffer.
    pub dampening: f32,
    /// L2 penalty added to the gradient: `g + λ·p`.
    pub weight_decay: f32,
    /// Nesterov momentum (needs `momentum > 0` and `dampening == 0`).
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        Self { lr: 1e-3, momentum: 0.0, dampening: 0.0, weight_decay: 0.0, nesterov: false }
    }
}

/// SGD as PyTorch implements it:
/// `g ← ∇ + λp`; `b ← g` on the first step, then `b ← μb + (1 − τ)g`; `g ← g + μb` (Nesterov) or `g ← b`;
/// `p ← p − lr·g`.
#[derive(Clone, Debug)]
pub struct Sgd {
    config: SgdConfig,
    buffer: Vec<f32>,
    started: bool,
}

impl Sgd {
    /// An optimizer with the given settings.
    ///
    /// # Panics
    /// On invalid settings; [`Sgd::try_new`] returns them as an error.
    #[track_caller]
    pub fn new(config: SgdConfig) -> Self {
        match Self::try_new(config) {
            Ok(optimizer) => optimizer,
            Err(e) => panic!("{e}"),
        }
    }

    /// An optimizer with the given settings, or an error naming the invalid one.
    pub fn try_new(config: SgdConfig) -> Result<Self> {
        check_lr(config.lr)?;
        check("momentum", config.momentum, config.momentum >= 0.0, "a momentum ≥ 0")?;
        check("dampening", config.dampening, (0.0..=1.0).contains(&config.dampening), "a dampening in [0, 1]")?;
        check("weight_decay", config.weight_decay, config.weight_decay >= 0.0, "a weight decay ≥ 0")?;
        if config.nesterov {
            let ok = config.momentum > 0.0 && config.dampening == 0.0;
            check("momentum", config.momentum, ok, "Nesterov momentum needs momentum > 0 and dampening = 0")?;
        }
        Ok(Self { config, buffer: Vec::new(), started: false })
    }

    /// The settings.
    pub fn config(&self) -> &SgdConfig {
        &self.config
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        assert_eq!(params.len(), grads.len(), "parameters and gradients differ in length");
        let SgdConfig { lr, momentum, dampening, weight_decay, nesterov } = self.config;
        if momentum == 0.0 {
            update(params, grads, [&mut [], &mut [], &mut []], &|part| {
                for (p, &g) in part.values.iter_mut().zip(part.grads) {
                    *p -= lr * (g + weight_decay * *p);
                }
            });
            return;
        }
        size_state(&mut self.buffer, params.len(), "SGD");
        let first = !self.started;
        self.started = true;
        update(params, grads, [&mut self.buffer, &mut [], &mut []], &|part| {
            let [buffer, ..] = part.states;
            for ((p, &g), b) in part.values.iter_mut().zip(part.grads).zip(buffer) {
                let g = g + weight_decay * *p;
                *b = flush_subnormal(if first { g } else { momentum * *b + (1.0 - dampening) * g });
                let update = if nesterov { g + momentum * *b } else { *b };
                *p -= lr * update;
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
        OptimizerState::new("sgd")
            .scalar("started", f64::from(u8::from(self.started)))
            .buffer("momentum_buffer", &self.buffer)
    }

    fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
        state.check_kind("sgd", &["started", "momentum_buffer"])?;
        self.started = state.count("started", 1)? == 1;
        self.buffer = state.get_buffer("momentum_buffer");
        Ok(())
    }
}
