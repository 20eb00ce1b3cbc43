//! An in-memory data set of typed samples and their targets.

use super::Samples;
use crate::sample::Example;
use crate::{Error, Result};

/// Inputs (the network's sample type) and one target each.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<X, T> {
    /// The samples.
    pub inputs: Vec<X>,
    /// One target per sample: a class index, or an array like the network's output.
    pub targets: Vec<T>,
}

impl<X, T> Samples<X, T> for Dataset<X, T> {
    fn inputs(&self) -> &[X] {
        &self.inputs
    }

    fn target(&self, index: usize) -> &T {
        &self.targets[index]
    }

    fn target_count(&self) -> usize {
        self.targets.len()
    }
}

impl<X, T> Dataset<X, T> {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }

    /// Checks that there is one target per input ([`Dataset::new`] ensures it; the fields are public, so
    /// [`crate::train::fit`] and [`crate::train::evaluate`] check again on entry). `set` names the data in the
    /// error.
    ///
    /// # Errors
    /// [`Error::DatasetMismatch`].
    pub fn check_lengths(&self, set: &'static str) -> Result<()> {
        Samples::check_lengths(self, set)
    }
}

impl<X: Example, T> Dataset<X, T> {
    /// Checks that every input value is a finite number (no NaN, no ±∞) and every sequence has a step; `set`
    /// names the data in the error. Token ids are not numbers: only their sequences' lengths are checked here.
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] or [`Error::EmptySequence`] naming the first such sample.
    pub fn check_inputs(&self, set: &'static str) -> Result<()> {
        Samples::check_inputs(self, set)
    }
}

impl<X: Example, T: Clone> Dataset<X, T> {
    /// A data set from matching inputs and targets.
    pub fn new(inputs: Vec<X>, targets: Vec<T>) -> Result<Self> {
        if inputs.len() != targets.len() {
            return Err(Error::LengthMismatch { inputs: inputs.len(), other: targets.len(), what: "targets" });
        }
        Ok(Self { inputs, targets })
    }

    /// The first `n` samples (all if there are fewer).
    #[must_use]
    pub fn take(mut self, n: usize) -> Self {
        self.inputs.truncate(n);
        self.targets.truncate(n);
        self
    }

    /// Splits off the samples from `at` on: `(first at, the rest)`, e.g. for a validation set.
    #[must_use]
    pub fn split(mut self, at: usize) -> (Self, Self) {
        let at = at.min(self.len());
        let rest = Self { inputs: self.inputs.split_off(at), targets: self.targets.split_off(at) };
        (self, rest)
    }

    /// Mean and standard deviation of every input value.
    pub fn mean_std(&self) -> (f32, f32) {
        let values = || self.inputs.iter().flat_map(|x| x.values().iter().map(|&v| f64::from(v)));
        let n = values().count();
        if n == 0 {
            return (0.0, 1.0);
        }
        let mean = values().sum::<f64>() / n as f64;
        let var = values().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        (mean as f32, var.sqrt() as f32)
    }

    /// Normalises every input value to `(x − mean) / std` (e.g. MNIST's 0.1307 and 0.3081).
    ///
    /// # Errors
    /// If `mean` is not a finite number or `std` not a positive finite number.
    pub fn normalize(&mut self, mean: f32, std: f32) -> Result<()> {
        if !mean.is_finite() {
            return Err(Error::InvalidSetting { name: "mean", problem: format!("{mean} is not a finite number") });
        }
        if !(std > 0.0 && std.is_finite()) {
            return Err(Error::InvalidSetting {
                name: "std",
                problem: format!("{std} is not a positive finite number"),
            });
        }
        let inv = 1.0 / std;
        for x in &mut self.inputs {
            x.values_mut().iter_mut().for_each(|v| *v = (*v - mean) * inv);
        }
        Ok(())
    }

    /// Copies the samples at `indices` into `inputs` and `targets`, replacing what they held. Their capacity is
    /// reused — sequences are copied into the sequences already there (`clone_from`) — so a training loop that
    /// gathers every batch into the same vectors allocates only until they have held its largest batch.
    pub fn gather_into(&self, indices: &[usize], inputs: &mut Vec<X>, targets: &mut Vec<T>) {
        Samples::gather_into(self, indices, inputs, targets);
    }
}

impl<X: Example> Dataset<X, usize> {
    /// The same samples with one-hot targets, for losses that compare arrays (`Mse`, binary cross-entropy).
    ///
    /// # Errors
    /// If a label is not below `N`, or the inputs and targets differ in number.
    pub fn one_hot<const N: usize>(&self) -> Result<Dataset<X, [f32; N]>> {
        self.check_lengths("converted")?;
        let targets =
            self.targets
                .iter()
                .enumerate()
                .map(|(index, &label)| {
                    if label < N {
                        Ok(one_hot(label))
                    } else {
                        Err(Error::LabelOutOfRange { label, index, classes: N })
                    }
                })
                .collect::<Result<_>>()?;
        Ok(Dataset { inputs: self.inputs.clone(), targets })
    }
}

/// `[0, …, 1, …, 0]` with the 1 at `label`.
///
/// # Panics
/// If `label >= N`.
pub fn one_hot<const N: usize>(label: usize) -> [f32; N] {
    let mut v = [0.0; N];
    v[label] = 1.0;
    v
}
