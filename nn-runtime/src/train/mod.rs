//! The training loop: epochs of training then evaluation, with progress, schedules, early stopping, the lecture's
//! diagnostics, checkpoints and curves.

mod checkpoint;
mod curves;
mod fit;
mod history;
mod report;
mod schedule;
mod validate;

pub use curves::write_curves;
pub use history::{EpochRecord, History};
pub use schedule::Schedule;

use crate::data::{Augment, Dataset};
use crate::loss::Loss;
use crate::net::Mode;
use crate::net::Network;
use crate::optim::Optimizer;
use crate::regularize::Regularization;
use crate::sample::{argmax, predicted_class, Sample};
use crate::{Error, Result};
use std::path::PathBuf;

/// A target that names a class, so accuracy can be measured: a label, or a one-hot (or probability) array.
pub trait ClassTarget {
    /// The class this target stands for.
    fn class(&self) -> usize;
}

impl ClassTarget for usize {
    fn class(&self) -> usize {
        *self
    }
}

impl<const N: usize> ClassTarget for [f32; N] {
    fn class(&self) -> usize {
        argmax(self)
    }
}

/// Which validation measurement early stopping watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitor {
    /// Validation loss (lower is better).
    ValidLoss,
    /// Validation accuracy (higher is better).
    ValidAccuracy,
}

/// Stop when the monitored validation measurement has not improved by `min_delta` for `patience` epochs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Smallest change that counts as an improvement.
    pub min_delta: f32,
    /// What to watch.
    pub monitor: Monitor,
}

/// How [`fit`] trains.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Epochs to train (in total, counting those restored from a checkpoint).
    pub epochs: usize,
    /// Samples per step.
    pub batch_size: usize,
    /// Shuffle each epoch from this seed; `None` keeps the data's order.
    pub shuffle: Option<u64>,
    /// Skip an epoch's last batch if it is short.
    pub drop_last: bool,
    /// Learning rate per epoch, from the optimizer's rate at the start.
    pub schedule: Schedule,
    /// Stop early on a validation measurement (needs validation data).
    pub early_stopping: Option<EarlyStopping>,
    /// Write a checkpoint here after every epoch.
    pub checkpoint: Option<PathBuf>,
    /// Continue from `checkpoint` if the file exists.
    pub resume: bool,
    /// Measure accuracy on the whole training set after each epoch (costs a forward pass over it).
    pub train_accuracy: bool,
    /// Print one line per epoch and the diagnostics to stdout.
    pub verbose: bool,
    /// Show a progress bar on stderr (only when stderr is a terminal).
    pub progress: bool,
    /// Write loss and accuracy curves (SVG) here after every epoch.
    pub curves: Option<PathBuf>,
    /// Weight penalties (added to the reported training loss), max-norm and gradient clipping.
    pub regularization: Regularization,
    /// Random image transformations applied to each training batch (image inputs only); evaluation data is
    /// never augmented.
    pub augment: Option<Augment>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 64,
            shuffle: Some(0),
            drop_last: false,
            schedule: Schedule::Constant,
            early_stopping: None,
            checkpoint: None,
            resume: false,
            train_accuracy: false,
            verbose: true,
            progress: true,
            curves: None,
            augment: None,
            regularization: Regularization::default(),
        }
    }
}

/// Loss and accuracy of a network on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss.
    pub loss: f32,
    /// Fraction of samples whose largest output is at the target's class.
    pub accuracy: f32,
}

/// Evaluates `net` on `data` in eval mode (dropout off, batch norm on its running statistics); no gradients,
/// nothing changes, and the network's mode is restored afterwards. A sample whose output holds a NaN counts as
/// a miss.
///
/// # Errors
/// An empty data set ([`Error::EmptyBatch`]), inputs and targets that differ in number
/// ([`Error::DatasetMismatch`]), a non-finite input value ([`Error::NonFiniteInput`]), or a bad target.
pub fn evaluate<N, L>(net: &mut N, data: &Dataset<N::Input, L::Target>, loss: &L) -> Result<Evaluation>
where
    N: Network,
    L: Loss<N::Output>,
    L::Target: ClassTarget,
{
    data.check_lengths("evaluation")?;
    data.check_finite("evaluation")?;
    evaluate_checked(net, data, loss)
}

/// [`evaluate`] of data already checked.
fn evaluate_checked<N, L>(net: &mut N, data: &Dataset<N::Input, L::Target>, loss: &L) -> Result<Evaluation>
where
    N: Network,
    L: Loss<N::Output>,
    L::Target: ClassTarget,
{
    let mode = net.mode();
    net.set_mode(Mode::Eval);
    let result = evaluate_in_mode(net, data, loss);
    net.set_mode(mode);
    result
}

fn evaluate_in_mode<N, L>(net: &mut N, data: &Dataset<N::Input, L::Target>, loss: &L) -> Result<Evaluation>
where
    N: Network,
    L: Loss<N::Output>,
    L::Target: ClassTarget,
{
    if data.is_empty() {
        return Err(Error::EmptyBatch);
    }
    const BATCH: usize = 256;
    let mut outputs = vec![N::Output::zeroed(); BATCH.min(data.len())];
    let mut grad = vec![0.0f32; N::Output::LEN];
    let (mut total, mut correct) = (0.0f64, 0usize);
    let mut index = 0;
    // One forward pass per batch gives both the loss and the predictions.
    for (xs, ts) in data.inputs.chunks(BATCH).zip(data.targets.chunks(BATCH)) {
        let ys = &mut outputs[..xs.len()];
        net.forward_batch(xs, ys);
        for (y, t) in N::Output::flat(ys).chunks_exact(N::Output::LEN).zip(ts) {
            total += f64::from(loss.sample_loss(y, t, index, 1.0, &mut grad)?);
            correct += usize::from(predicted_class(y) == Some(t.class()));
            index += 1;
        }
    }
    Ok(Evaluation { loss: (total / data.len() as f64) as f32, accuracy: correct as f32 / data.len() as f32 })
}

/// Trains `net` on `train` for `config.epochs` epochs, evaluating on `valid` after each.
///
/// Steps run in [`Mode::Train`] and measurements in [`Mode::Eval`]; `fit` returns with the network in eval mode,
/// ready for inference (call `net.train()` before stepping it by hand).
///
/// # Errors
/// Before the first step, everything that can be known then: invalid settings, inconsistent, empty or
/// non-finite data ([`Error::DatasetMismatch`], [`Error::NonFiniteInput`]), a checkpoint or curves directory
/// that is missing or cannot be written, a batch-norm network whose batches would hold a single value per
/// channel ([`Error::BatchTooSmall`]). During training: a NaN or infinite loss ([`Error::NonFiniteLoss`]) or
/// gradient ([`Error::NonFiniteGradient`]), both naming the epoch and step with the parameters as they were
/// before it; a parameter made non-finite by an update ([`Error::NonFiniteParameter`]); bad targets; a
/// checkpoint that cannot be written or read.
pub fn fit<N, L, O>(
    net: &mut N,
    optimizer: &mut O,
    loss: &L,
    train: &Dataset<N::Input, L::Target>,
    valid: Option<&Dataset<N::Input, L::Target>>,
    config: &TrainConfig,
) -> Result<History>
where
    N: Network,
    L: Loss<N::Output>,
    L::Target: Clone + ClassTarget,
    O: Optimizer,
{
    let result = fit::Fit::start(net, optimizer, loss, train, valid, config).and_then(fit::Fit::run);
    net.set_mode(Mode::Eval);
    result
}

