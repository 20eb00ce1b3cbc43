//! What `fit` and `evaluate` read a data set through: its inputs and a target for each. A labelled
//! [`Dataset`](super::Dataset) stores its targets; a [`Reconstruction`] data set's targets are its inputs.

use crate::sample::Example;
use crate::{Error, Result};

/// Inputs and one target each, as [`fit`](crate::train::fit) and [`evaluate`](crate::train::evaluate) read them.
/// Implemented by [`Dataset`](super::Dataset) (stored targets) and [`Reconstruction`] (the inputs are the
/// targets); implement it for data kept some other way.
pub trait Samples<X, T> {
    /// The samples.
    fn inputs(&self) -> &[X];

    /// The target of sample `index`.
    ///
    /// # Panics
    /// If `index` is not below [`Samples::target_count`].
    fn target(&self, index: usize) -> &T;

    /// Number of targets (one per input in a consistent data set).
    fn target_count(&self) -> usize;

    /// Checks that there is one target per input; `set` names the data in the error.
    ///
    /// # Errors
    /// [`Error::DatasetMismatch`].
    fn check_lengths(&self, set: &'static str) -> Result<()> {
        let (inputs, targets) = (self.inputs().len(), self.target_count());
        if inputs == targets {
            Ok(())
        } else {
            Err(Error::DatasetMismatch { set, inputs, targets })
        }
    }

    /// Checks that every input value is a finite number (no NaN, no ±∞) and every sequence has a step; `set`
    /// names the data in the error. Token ids are not numbers: only their sequences' lengths are checked here.
    ///
    /// # Errors
    /// [`Error::NonFiniteInput`] or [`Error::EmptySequence`] naming the first such sample.
    fn check_inputs(&self, set: &'static str) -> Result<()>
    where
        X: Example,
    {
        let inputs = self.inputs();
        if X::TOKENS {
            // Ids are not numbers: whether they fit the vocabulary is the network's to say (`fit`, `evaluate`).
            return match inputs.iter().position(|x| x.values().is_empty() && X::FIXED_LEN.is_none()) {
                Some(index) => Err(Error::EmptySequence { index }),
                None => Ok(()),
            };
        }
        if let Some(flat) = X::flat_slice(inputs) {
            if crate::kernels::all_finite(flat) {
                return Ok(());
            }
        }
        for (index, x) in inputs.iter().enumerate() {
            if let Some(&value) = x.values().iter().find(|v| !v.is_finite()) {
                return Err(Error::NonFiniteInput { set, index, value });
            }
            if x.values().is_empty() && X::FIXED_LEN.is_none() {
                return Err(Error::EmptySequence { index });
            }
        }
        Ok(())
    }

    /// Copies the samples at `indices` into `inputs` and `targets`, replacing what they held. Their capacity is
    /// reused — sequences are copied into the sequences already there (`clone_from`) — so a training loop that
    /// gathers every batch into the same vectors allocates only until they have held its largest batch.
    fn gather_into(&self, indices: &[usize], inputs: &mut Vec<X>, targets: &mut Vec<T>)
    where
        X: Clone,
        T: Clone,
    {
        let all = self.inputs();
        inputs.truncate(indices.len());
        targets.truncate(indices.len());
        for (slot, &i) in inputs.iter_mut().zip(indices) {
            slot.clone_from(&all[i]);
        }
        for (slot, &i) in targets.iter_mut().zip(indices) {
            slot.clone_from(self.target(i));
        }
        inputs.extend(indices[inputs.len()..].iter().map(|&i| all[i].clone()));
        targets.extend(indices[targets.len()..].iter().map(|&i| self.target(i).clone()));
    }
}

/// A data set whose targets are its inputs, held once: what an autoencoder learns to reconstruct. `fit` and
/// `evaluate` take it where they take a [`Dataset`](super::Dataset).
///
/// ```
/// use nn_runtime::data::{Reconstruction, Samples};
///
/// let images: Vec<[f32; 4]> = vec![[0.0, 0.5, 1.0, 0.25]; 3];
/// let data = Reconstruction::new(images);
/// assert_eq!(data.target(2), &data.inputs[2]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Reconstruction<X> {
    /// The samples, each its own target.
    pub inputs: Vec<X>,
}

impl<X> Reconstruction<X> {
    /// The data set of `inputs`, each its own target (the vector is moved, not copied).
    pub fn new(inputs: Vec<X>) -> Self {
        Self { inputs }
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.inputs.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.inputs.is_empty()
    }
}

impl<X> Samples<X, X> for Reconstruction<X> {
    fn inputs(&self) -> &[X] {
        &self.inputs
    }

    fn target(&self, index: usize) -> &X {
        &self.inputs[index]
    }

    fn target_count(&self) -> usize {
        self.inputs.len()
    }
}
