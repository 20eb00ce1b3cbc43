//! Learning-rate schedules, as a function of the epoch (so a resumed run gets the same rates).

use crate::{Error, Result};

/// How the learning rate changes from epoch to epoch, starting from the optimizer's rate when training begins.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Schedule {
    /// The same rate throughout.
    #[default]
    Constant,
    /// Multiplied by `gamma` every `every` epochs (PyTorch's `StepLR`).
    Step {
        /// Epochs between decays.
        every: usize,
        /// Factor per decay.
        gamma: f32,
    },
    /// Cosine annealing from the base rate to `min_lr` over all epochs (PyTorch's `CosineAnnealingLR` with
    /// `T_max` = the number of epochs).
    Cosine {
        /// The rate reached in the last epoch.
        min_lr: f32,
    },
}

impl Schedule {
    /// The rate for `epoch` (from 1) of `epochs`, given the base rate.
    pub fn rate(&self, base: f32, epoch: usize, epochs: usize) -> f32 {
        let e = epoch.saturating_sub(1);
        match *self {
            Schedule::Constant => base,
            Schedule::Step { every, gamma } => base * gamma.powi((e / every.max(1)) as i32),
            Schedule::Cosine { min_lr } => {
                let progress = e as f32 / epochs.max(1) as f32;
                min_lr + (base - min_lr) * (1.0 + (std::f32::consts::PI * progress).cos()) / 2.0
            }
        }
    }

    /// Rejects schedules that cannot work.
    pub fn validate(&self) -> Result<()> {
        let bad = |problem: &str| Err(Error::InvalidSetting { name: "schedule", problem: problem.into() });
        match *self {
            Schedule::Step { every: 0, .. } => bad("a step schedule needs `every` ≥ 1"),
            Schedule::Step { gamma, .. } if !(gamma > 0.0 && gamma.is_finite()) => bad("`gamma` must be positive"),
            Schedule::Cosine { min_lr } if !(min_lr >= 0.0 && min_lr.is_finite()) => bad("`min_lr` must be ≥ 0"),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_pytorch() {
        let step = Schedule::Step { every: 2, gamma: 0.1 };
        let rates: Vec<f32> = (1..=5).map(|e| step.rate(1.0, e, 5)).collect();
        assert_eq!(rates, [1.0, 1.0, 0.1, 0.1, 0.010000001]);
        let cos = Schedule::Cosine { min_lr: 0.0 };
        assert_eq!(cos.rate(1.0, 1, 4), 1.0);
        assert!((cos.rate(1.0, 3, 4) - 0.5).abs() < 1e-6);
        assert!((cos.rate(1.0, 4, 4) - 0.146_446_6).abs() < 1e-6);
        assert_eq!(Schedule::Constant.rate(0.3, 9, 10), 0.3);
        assert!(Schedule::Step { every: 0, gamma: 0.5 }.validate().is_err());
        assert!(Schedule::Cosine { min_lr: -1.0 }.validate().is_err());
    }
}
