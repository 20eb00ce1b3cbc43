//! Optimizers: each has a `Config` whose `Default` is PyTorch's, validated when the optimizer is built.
//!
//! An optimizer keeps its per-parameter state (momentum, moment estimates) itself, sized on the first
//! [`Optimizer::step`]; the learning rate can change between steps (for schedules). Called from a network's
//! `train_step` or `fit` with [`Parallelism::Threads`](crate::Parallelism::Threads), the built-in optimizers share
//! a large update with the network's helper threads (each value is updated on its own, so the bits are those of
//! one thread).

mod adam;
pub mod lbfgs;
mod rmsprop;
mod sgd;

pub use adam::{Adam, AdamConfig, AdamW, AdamWConfig};
pub use lbfgs::{Lbfgs, LbfgsConfig};
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
    #[track_caller]
    fn set_learning_rate(&mut self, lr: f32) {
        if let Err(e) = self.try_set_learning_rate(lr) {
            panic!("{e}");
        }
    }

    /// Everything the optimizer accumulated (moments, step counts), for a checkpoint.
    fn state(&self) -> OptimizerState;

    /// Restores what [`Optimizer::state`] returned, so training continues exactly where it stopped.
    ///
    /// # Errors
    /// If the state comes from another kind of optimizer, names state this one does not have, or holds values
    /// this optimizer could never have produced (a negative or fractional step count, NaN, negative second
    /// moments, buffers of different lengths); nothing changes then.
    fn load_state(&mut self, state: &OptimizerState) -> Result<()>;
}

/// An optimizer's accumulated state: named buffers (one value per parameter) and scalars (step counts).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimizerState {
    /// Which optimizer this is (`"sgd"`, `"adam"`, ...).
    pub kind: String,
    /// Named scalars, such as the step count.
    pub scalars: Vec<(String, f64)>,
    /// Named per-parameter buffers; empty before the first step.
    pub buffers: Vec<(String, Vec<f32>)>,
}

impl OptimizerState {
    /// Starts a state of the given kind.
    pub(crate) fn new(kind: &str) -> Self {
        Self { kind: kind.to_string(), ..Self::default() }
    }

    pub(crate) fn scalar(mut self, name: &str, value: f64) -> Self {
        self.scalars.push((name.to_string(), value));
        self
    }

    pub(crate) fn buffer(mut self, name: &str, values: &[f32]) -> Self {
        self.buffers.push((name.to_string(), values.to_vec()));
        self
    }

    /// Checks the kind, that every scalar and buffer name is one of `known`, and that the buffers are finite and
    /// of one length (an optimizer's buffers hold one value per parameter).
    pub(crate) fn check_kind(&self, kind: &str, known: &[&str]) -> Result<()> {
        if self.kind != kind {
            return Err(bad_state(format!("it belongs to a `{}` optimizer, not `{kind}`", self.kind)));
        }
        let names = self.scalars.iter().map(|(n, _)| n).chain(self.buffers.iter().map(|(n, _)| n));
        if let Some(name) = names.into_iter().find(|n| !known.contains(&n.as_str())) {
            return Err(bad_state(format!("`{kind}` has no state called `{name}`")));
        }
        let mut lengths = self.buffers.iter().filter(|(_, v)| !v.is_empty());
        if let Some((first, v)) = lengths.next() {
            if let Some((other, w)) = lengths.find(|(_, w)| w.len() != v.len()) {
                return Err(bad_state(format!(
                    "`{first}` has {} values but `{other}` has {}; both hold one value per parameter",
                    v.len(),
                    w.len()
                )));
            }
        }
        if let Some((name, _)) = self.buffers.iter().find(|(_, v)| !crate::kernels::all_finite(v)) {
            return Err(bad_state(format!("`{name}` holds a NaN or infinite value")));
        }
        if let Some((name, v)) = self.scalars.iter().find(|(_, v)| !v.is_finite()) {
            return Err(bad_state(format!("`{name}` = {v} is not a finite number")));
        }
        Ok(())
    }

    /// The scalar `name` as a whole number in `0..=max` (0 if absent).
    pub(crate) fn count(&self, name: &str, max: u64) -> Result<u64> {
        let v = self.get_scalar(name);
        if v >= 0.0 && v <= max as f64 && v.fract() == 0.0 {
            Ok(v as u64)
        } else {
            Err(bad_state(format!("`{name}` = {v} is not a whole number in 0..={max}")))
        }
    }

    pub(crate) fn get_scalar(&self, name: &str) -> f64 {
        self.scalars.iter().find(|(n, _)| n == name).map_or(0.0, |(_, v)| *v)
    }

    pub(crate) fn get_buffer(&self, name: &str) -> Vec<f32> {
        self.buffers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// The buffer `name`, which holds squares (second moments) and so must not be negative.
    pub(crate) fn get_squares(&self, name: &str) -> Result<Vec<f32>> {
        let v = self.get_buffer(name);
        match v.iter().position(|&x| x < 0.0) {
            Some(i) => Err(bad_state(format!("`{name}` holds a negative value ({}) at {i}; it holds squares", v[i]))),
            None => Ok(v),
        }
    }
}

fn bad_state(problem: String) -> Error {
    Error::InvalidSetting { name: "optimizer state", problem }
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

/// `x`, or 0 if it is subnormal. A moment of a parameter whose gradient stays 0 (a weight from an always-black
/// border pixel of MNIST) decays geometrically and, after some hundred steps, into the subnormal range, where every
/// operation on it costs the CPU about a hundred times more: a VAE's Adam step took three times as long by its
/// third epoch. Below 1.2·10⁻³⁸ a moment's contribution to any update is lost to rounding anyway.
#[inline(always)]
pub(crate) fn flush_subnormal(x: f32) -> f32 {
    if x.abs() < f32::MIN_POSITIVE {
        0.0
    } else {
        x
    }
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
