//! The one error type of the runtime.

/// Everything that can go wrong at run time, with the numbers involved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A batch and its targets (or gradients) have different lengths.
    #[error("the batch has {inputs} samples but {other} {what}")]
    LengthMismatch {
        /// Samples in the batch.
        inputs: usize,
        /// Entries in the other slice.
        other: usize,
        /// What the other slice holds ("targets", "output gradients", ...).
        what: &'static str,
    },
    /// A training or loss computation was given no samples.
    #[error("the batch is empty")]
    EmptyBatch,
    /// A class label is not below the number of classes.
    #[error("label {label} of sample {index} is out of range: the network has {classes} classes (0..{classes})")]
    LabelOutOfRange {
        /// The offending label.
        label: usize,
        /// Its position in the batch.
        index: usize,
        /// Number of classes (the network's output size).
        classes: usize,
    },
    /// A hyper-parameter outside its valid range.
    #[error("invalid hyper-parameter `{name}` = {value}: {expected}")]
    InvalidHyperParameter {
        /// The parameter's name, as in the `Config` struct.
        name: &'static str,
        /// The value given.
        value: f64,
        /// What a valid value looks like.
        expected: &'static str,
    },
}

/// `Result` with the runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
