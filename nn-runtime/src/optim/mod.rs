//! Optimizers: each has a `Config` whose `Default` is PyTorch's, validated when the optimizer is built.
//!
//! An optimizer keeps its per-parameter state (momentum, moment estimates) itself, sized on the first
//! [`Optimizer::step`]; the learning rate can change between steps (for schedules).

mod adam;
mod rmsprop;
mod sgd;

pub use adam::{Adam, AdamConfig, AdamW, AdamWConfig};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use sgd::{Sgd, SgdConfig};

use crate::{Error, Result};

/// Updates parameters from their gradient.
pub trait Optimizer {
    /// Applies one update to `params` given `grads` (same length).
    ///
    /// # Panics
    /// If the lengths differ, or differ from the length this optimizer was first used with.
    fn step(&mut self, params: &mut [f32], grads: &[f32]);

    /// The current learning rate.
    fn learning_rate(&self) -> f32;

    /// Sets the learning rate for the following steps, or returns an error if it is negative or not finite.
    fn try_set_learning_rate(&mut self, lr: f32) -> Result<()>;

    /// Sets the learning rate for the following steps.
    ///
    /// # Panics
    /// If `lr` is negative or not finite.
    fn set_learning_rate(&mut self, lr: f32) {
        self.try_set_learning_rate(lr).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Checks `value` against a predicate, naming the parameter and the valid range on failure.
pub(crate) fn check(name: &'static str, value: f32, ok: bool, expected: &'static str) -> Result<()> {
    if ok && value.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidHyperParameter { name, value: f64::from(value), expected })
    }
}

pub(crate) fn check_lr(lr: f32) -> Result<()> {
    check("lr", lr, lr >= 0.0, "a finite learning rate ≥ 0")
}

/// Sizes `state` for `n` parameters on first use, and rejects a parameter buffer of another size later.
pub(crate) fn size_state(state: &mut Vec<f32>, n: usize, what: &str) {
    if state.is_empty() {
        state.resize(n, 0.0);
    }
    assert_eq!(
        state.len(),
        n,
        "this {what} optimizer was first used with {} parameters, now with {n}; use one optimizer per network",
        state.len()
    );
}

#[cfg(test)]
mod tests;
