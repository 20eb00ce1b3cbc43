//! Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), as PyTorch implements them.

use super::{check, check_lr, flush_subnormal, size_state, Optimizer, OptimizerState};
use crate::kernels::update;
use crate::Result;

/// Settings of [`Adam`]; `Default` is PyTorch's `torch.optim.Adam`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate (default 1e-3).
    pub lr: f32,
    /// Decay of the first-moment estimate (default 0.9).
    pub beta1: f32,
    /// Decay of the second-moment estimate (default 0.999).
    pub beta2: f32,
    /// Added to the denominator for stability (default 1e-8).
    pub eps: f32,
    /// L2 penalty added to the gradient, `g + λp` (default 0).
    pub weight_decay: f32,
    /// Use the maximum of past second moments (AMSGrad; default off).
    pub amsgrad: bool,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, amsgrad: false }
    }
}

/// Settings of [`AdamW`]; `Default` is PyTorch's `torch.optim.AdamW` (as Adam, but weight decay 1e-2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWConfig {
    /// Learning rate (default 1e-3).
    pub lr: f32,
    /// Decay of the first-moment estimate (default 0.9).
    pub beta1: f32,
    /// Decay of the second-moment estimate (default 0.999).
    pub beta2: f32,
    /// Added to the denominator for stability (default 1e-8).
    pub eps: f32,
    /// Decoupled weight decay, `p ← p(1 − lr·λ)` before the Adam update (default 1e-2).
    pub weight_decay: f32,
    /// Use the maximum of past second moments (AMSGrad; default off).
    pub amsgrad: bool,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-2, amsgrad: false }
    }
}

/// The update both variants share; `decoupled` picks AdamW's form of weight decay.
#[derive(Clone, Debug)]
struct Moments {
    config: AdamConfig,
    decoupled: bool,
    m: Vec<f32>,
    v: Vec<f32>,
    v_max: Vec<f32>,
    /// Steps taken (PyTorch's `step`).
    t: u64,
}

impl Moments {
    fn new(config: AdamConfig, decoupled: bool) -> Result<Self> {
        check_lr(config.lr)?;
        check("beta1", config.beta1, (0.0..1.0).contains(&config.beta1), "a beta1 in [0, 1)")?;
        check("beta2", config.beta2, (0.0..1.0).contains(&config.beta2), "a beta2 in [0, 1)")?;
        check("eps", config.eps, config.eps >= 0.0, "an eps ≥ 0")?;
        check("weight_decay", config.weight_decay, config.weight_decay >= 0.0, "a weight decay ≥ 0")?;
        Ok(Self { config, decoupled, m: Vec::new(), v: Vec::new(), v_max: Vec::new(), t: 0 })
    }

    fn step(&mut self, params: &mut [f32], grads: &[f32]) {
        assert_eq!(params.len(), grads.len(), "parameters and gradients differ in length");
        let AdamConfig { lr, beta1, beta2, eps, weight_decay, amsgrad } = self.config;
        size_state(&mut self.m, params.len(), "Adam");
        size_state(&mut self.v, params.len(), "Adam");
        if amsgrad {
            size_state(&mut self.v_max, params.len(), "Adam");
        }
        self.t = self.t.saturating_add(1);
        // βᵗ is 0 in f32 long before t leaves the i32 range.
        let t = i32::try_from(self.t).unwrap_or(i32::MAX);
        let c1 = 1.0 - beta1.powi(t);
        let c2_sqrt = (1.0 - beta2.powi(t)).sqrt();
        let step = lr / c1;
        let decoupled = self.decoupled;
        let v_max: &mut [f32] = if amsgrad { &mut self.v_max } else { &mut [] };
        let k = Coefficients { lr, beta1, beta2, eps, weight_decay, step, c2_sqrt };
        update(params, grads, [&mut self.m, &mut self.v, v_max], &|part| {
            let [m, v, v_max] = part.states;
            let values = part.values.iter_mut().zip(part.grads).zip(m.iter_mut().zip(v.iter_mut()));
            // One loop per setting, each without a branch or an index inside, so that each becomes vector code.
            match (decoupled, amsgrad) {
                (false, false) => values.for_each(|((p, &g), (m, v))| *p -= k.update::<false>(*p, g, m, v, None)),
                (true, false) => values.for_each(|((p, &g), (m, v))| *p = k.update::<true>(*p, g, m, v, None)),
                (false, true) => values
                    .zip(v_max.iter_mut())
                    .for_each(|(((p, &g), (m, v)), v_max)| *p -= k.update::<false>(*p, g, m, v, Some(v_max))),
                (true, true) => values
                    .zip(v_max.iter_mut())
                    .for_each(|(((p, &g), (m, v)), v_max)| *p = k.update::<true>(*p, g, m, v, Some(v_max))),
            }
        });
    }
}

/// The numbers of one Adam step, the same for every value.
#[derive(Clone, Copy)]
struct Coefficients {
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    /// `lr / (1 − β₁ᵗ)`.
    step: f32,
    /// `√(1 − β₂ᵗ)`.
    c2_sqrt: f32,
}

impl Coefficients {
    /// Updates one value's moments `m`, `v` (and `v_max` for AMSGrad) from its gradient `g`. With `DECOUPLED`
    /// (AdamW) returns the new value; else (weight decay as an L2 gradient) returns the step to subtract from it.
    #[inline(always)]
    fn update<const DECOUPLED: bool>(self, p: f32, g: f32, m: &mut f32, v: &mut f32, v_max: Option<&mut f32>) -> f32 {
        let (p, g) =
            if DECOUPLED { (p * (1.0 - self.lr * self.weight_decay), g) } else { (p, g + self.weight_decay * p) };
        *m = flush_subnormal(self.beta1 * *m + (1.0 - self.beta1) * g);
        *v = flush_subnormal(self.beta2 * *v + (1.0 - self.beta2) * g * g);
        let v_hat = match v_max {
            Some(v_max) => {
                *v_max = v_max.max(*v);
                *v_max
            }
            None => *v,
        };
        let delta = self.step * *m / (v_hat.sqrt() / self.c2_sqrt + self.eps);
        if DECOUPLED {
            p - delta
        } else {
            delta
        }
    }
}

/// Adam: `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `p ← p − lr·m̂/(√v̂ + ε)` with bias-corrected
/// `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`; weight decay is added to the gradient.
#[derive(Clone, Debug)]
pub struct Adam(Moments);

/// AdamW: Adam with decoupled weight decay, `p ← p(1 − lr·λ)` before each Adam update.
#[derive(Clone, Debug)]
pub struct AdamW(Moments);

impl Adam {
    /// An optimizer with the given settings.
    ///
    /// # Panics
    /// On invalid settings; [`Adam::try_new`] returns them as an error.
    #[track_caller]
    pub fn new(config: AdamConfig) -> Self {
        match Self::try_new(config) {
            Ok(optimizer) => optimizer,
            Err(e) => panic!("{e}"),
        }
    }

    /// An optimizer with the given settings, or an error naming the invalid one.
    pub fn try_new(config: AdamConfig) -> Result<Self> {
        Moments::new(config, false).map(Self)
    }

    /// The settings.
    pub fn config(&self) -> &AdamConfig {
        &self.0.config
    }
}

impl AdamW {
    /// An optimizer with the given settings.
    ///
    /// # Panics
    /// On invalid settings; [`AdamW::try_new`] returns them as an error.
    #[track_caller]
    pub fn new(config: AdamWConfig) -> Self {
        match Self::try_new(config) {
            Ok(optimizer) => optimizer,
            Err(e) => panic!("{e}"),
        }
    }

    /// An optimizer with the given settings, or an error naming the invalid one.
    pub fn try_new(config: AdamWConfig) -> Result<Self> {
        let AdamWConfig { lr, beta1, beta2, eps, weight_decay, amsgrad } = config;
        Moments::new(AdamConfig { lr, beta1, beta2, eps, weight_decay, amsgrad }, true).map(Self)
    }
}

impl Moments {
    fn state(&self, kind: &str) -> OptimizerState {
        OptimizerState::new(kind)
            .scalar("step", self.t as f64)
            .buffer("exp_avg", &self.m)
            .buffer("exp_avg_sq", &self.v)
            .buffer("max_exp_avg_sq", &self.v_max)
    }

    fn load_state(&mut self, kind: &str, state: &OptimizerState) -> Result<()> {
        state.check_kind(kind, &["step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"])?;
        // Checkpoints store the count as text of an f64, exact up to 2⁵³.
        let t = state.count("step", 1 << 53)?;
        let (v, v_max) = (state.get_squares("exp_avg_sq")?, state.get_squares("max_exp_avg_sq")?);
        (self.t, self.m, self.v, self.v_max) = (t, state.get_buffer("exp_avg"), v, v_max);
        Ok(())
    }
}

macro_rules! delegate_optimizer {
    ($($name:ident => $kind:literal),*) => {$(
        impl Optimizer for $name {
            fn step(&mut self, params: &mut [f32], grads: &[f32]) {
                self.0.step(params, grads);
            }

            fn learning_rate(&self) -> f32 {
                self.0.config.lr
            }

            fn try_set_learning_rate(&mut self, lr: f32) -> Result<()> {
                check_lr(lr)?;
                self.0.config.lr = lr;
                Ok(())
            }

            fn state(&self) -> OptimizerState {
                self.0.state($kind)
            }

            fn load_state(&mut self, state: &OptimizerState) -> Result<()> {
                self.0.load_state($kind, state)
            }
        }
    )*};
}

delegate_optimizer!(Adam => "adam", AdamW => "adamw");
