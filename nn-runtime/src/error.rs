//! The one error type of the runtime.

use std::path::{Path, PathBuf};

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
    /// A sequence of no steps (sequences have at least one).
    #[error("sample {index} is a sequence of no steps; every sequence needs at least one")]
    EmptySequence {
        /// The sample's position in the batch.
        index: usize,
    },
    /// A sequence output and what is given per step of it (targets, or output gradients) differ in length.
    #[error("sample {index} has {steps} output steps but {given} {what}; a sequence output takes one per step")]
    StepMismatch {
        /// The sample's position in the batch (in the data set, for `fit` and `evaluate`).
        index: usize,
        /// Its output's steps.
        steps: usize,
        /// How many were given.
        given: usize,
        /// What was given: `"targets"` (to a loss) or `"output gradients"` (to `backward`).
        what: &'static str,
    },
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
    /// A token id is not below the vocabulary of the network's `Embedding`.
    #[error(
        "token {token} at position {position} of sample {index} is out of range: the vocabulary has {vocab} tokens \
         (0..{vocab})"
    )]
    TokenOutOfRange {
        /// The sample's position in the batch (in the data set, for `fit` and `evaluate`).
        index: usize,
        /// The id's position in the sample (its step).
        position: usize,
        /// The id.
        token: u32,
        /// The vocabulary's size.
        vocab: usize,
    },
    /// A sequence longer than the network's table of positions (or its key/value cache) holds.
    #[error("sample {index} has {steps} steps, but this network's positions end at {max} (`{layer}`)")]
    SequenceTooLong {
        /// The sample's position in the batch (in the data set, for `fit` and `evaluate`).
        index: usize,
        /// Its steps.
        steps: usize,
        /// The most steps the network takes.
        max: usize,
        /// The layer whose positions end there.
        layer: &'static str,
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
    /// Reading or writing a file failed.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The kind of I/O failure.
        kind: std::io::ErrorKind,
        /// The operating system's message.
        message: String,
    },
    /// A data or checkpoint file is malformed: wrong magic number, truncated, inconsistent.
    #[error("{}: {problem}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the numbers involved.
        problem: String,
    },
    /// A data set's samples do not have the shape the network takes.
    #[error(
        "{}: samples are {shape} ({found} values), but the network's input is {expected_shape} ({expected} values)",
        path.display()
    )]
    SampleSize {
        /// The file.
        path: PathBuf,
        /// Values per sample in the file.
        found: usize,
        /// Its shape, e.g. `28×28`.
        shape: String,
        /// Values per sample the network takes.
        expected: usize,
        /// The shape of the network's input, e.g. `1×28×28`.
        expected_shape: String,
    },
    /// A checkpoint holds a value `fit` could never have written: a field out of range, of the wrong length, or
    /// not finite. Nothing is loaded.
    #[error("{}: not a usable checkpoint: `{field}` {problem}", path.display())]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// The metadata key or tensor name.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A weight file does not fit the network; every problem is listed.
    #[error("{} does not fit the network:{}", path.display(), list(problems))]
    WeightFile {
        /// The file.
        path: PathBuf,
        /// Every missing, unexpected or mis-shaped tensor.
        problems: Vec<WeightProblem>,
    },
    /// Training produced a NaN or infinite loss.
    #[error("the loss became {loss} at epoch {epoch}, step {step}; lower the learning rate or check the data")]
    NonFiniteLoss {
        /// Epoch, from 1.
        epoch: usize,
        /// Step within the epoch, from 1.
        step: usize,
        /// The loss value.
        loss: f32,
    },
    /// Training produced a NaN or infinite gradient (the loss itself was finite).
    #[error(
        "the gradient of `{tensor}` became non-finite at epoch {epoch}, step {step} (the parameters are those before \
         that step); lower the learning rate, clip the gradient or check the data"
    )]
    NonFiniteGradient {
        /// Epoch, from 1.
        epoch: usize,
        /// Step within the epoch, from 1.
        step: usize,
        /// The first parameter tensor whose gradient holds a NaN or infinity.
        tensor: &'static str,
    },
    /// An optimizer step left a parameter NaN or infinite.
    #[error(
        "parameter `{tensor}` became non-finite at epoch {epoch}, step {step} (the parameters are those after that \
         step); lower the learning rate or clip the gradient"
    )]
    NonFiniteParameter {
        /// Epoch, from 1.
        epoch: usize,
        /// Step within the epoch, from 1.
        step: usize,
        /// The first parameter tensor holding a NaN or infinity.
        tensor: &'static str,
    },
    /// A data set holds a NaN or infinite input value, which no network can learn from.
    #[error("sample {index} of the {set} data holds {value}; inputs must be finite numbers")]
    NonFiniteInput {
        /// Which data: `"training"`, `"validation"`, `"evaluation"`.
        set: &'static str,
        /// The sample's index in its data set.
        index: usize,
        /// The first non-finite value in it.
        value: f32,
    },
    /// A data set whose inputs and targets differ in number (its fields are public, so nothing else prevents it).
    #[error("the {set} data has {inputs} inputs but {targets} targets; build it with `Dataset::new`")]
    DatasetMismatch {
        /// Which data: `"training"`, `"validation"`, `"evaluation"`.
        set: &'static str,
        /// Number of inputs.
        inputs: usize,
        /// Number of targets.
        targets: usize,
    },
    /// A layer that the export format cannot express.
    #[error("cannot export layer `{layer}` (`{declaration}`) to {format}: {problem}")]
    Unexportable {
        /// The layer's field name.
        layer: &'static str,
        /// The layer as declared.
        declaration: &'static str,
        /// The format, e.g. `ONNX`.
        format: &'static str,
        /// Why.
        problem: String,
    },
    /// A training setting that cannot work (zero batch size, no epochs, ...).
    #[error("invalid training setting `{name}`: {problem}")]
    InvalidSetting {
        /// The setting's name, as in `TrainConfig`.
        name: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A batch-norm layer in training mode was given one value per channel, whose variance is undefined.
    #[error(
        "batch-norm layer `{layer}` needs more than one value per channel in training, but this batch gives \
         {values}; use a larger batch, or switch the network to eval mode"
    )]
    BatchTooSmall {
        /// The layer's field name.
        layer: &'static str,
        /// Values per channel in the batch (samples × positions).
        values: usize,
    },
}

impl Error {
    /// An I/O failure on `path`.
    pub fn io(path: &Path, error: &std::io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), kind: error.kind(), message: error.to_string() }
    }

    /// A malformed data or weight file.
    pub fn format(path: &Path, problem: impl Into<String>) -> Self {
        Error::Format { path: path.to_path_buf(), problem: problem.into() }
    }
}

/// One thing wrong with a weight file; [`Error::WeightFile`] lists them all.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WeightProblem {
    /// The network has this tensor but the file does not.
    Missing(String),
    /// The file has a tensor the network does not.
    Unexpected(String),
    /// Both have the tensor, with different shapes.
    Shape {
        /// Tensor name.
        name: String,
        /// The network's shape.
        expected: Vec<usize>,
        /// The file's shape.
        found: Vec<usize>,
    },
    /// The tensor is not stored as a type we read: F32, F64, F16 and BF16 for every tensor, and the integers
    /// I64 and I32 only for counters such as `num_batches_tracked`.
    Dtype {
        /// Tensor name.
        name: String,
        /// The file's element type.
        found: String,
    },
    /// The tensor holds a NaN or an infinity, which no trained network has.
    NonFinite {
        /// Tensor name.
        name: String,
        /// Index of the first such value.
        index: usize,
    },
}

impl std::fmt::Display for WeightProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WeightProblem::Missing(n) => write!(f, "missing tensor `{n}`"),
            WeightProblem::Unexpected(n) => write!(f, "unexpected tensor `{n}`"),
            WeightProblem::Shape { name, expected, found } => {
                write!(f, "tensor `{name}` has shape {found:?}, the network needs {expected:?}")
            }
            WeightProblem::Dtype { name, found } => {
                write!(f, "tensor `{name}` is stored as {found}; weights must be F32, F64, F16 or BF16")
            }
            WeightProblem::NonFinite { name, index } => {
                write!(f, "tensor `{name}` holds a NaN or infinite value (at index {index})")
            }
        }
    }
}

fn list(problems: &[WeightProblem]) -> String {
    problems.iter().map(|p| format!("\n  - {p}")).collect()
}

/// `Result` with the runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
