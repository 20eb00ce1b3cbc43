//! The training loop: epochs of training then evaluation, with progress, schedules, early stopping, the usual
//! diagnostics, checkpoints and curves; PNG grids of images.

mod checkpoint;
mod curves;
mod fit;
mod history;
mod images;
mod report;
mod schedule;
mod tbptt;
mod validate;

pub use curves::{write_curves, write_plot, write_scatter, Line};
pub use history::{EpochRecord, History};
pub use images::write_image_grid;
pub use schedule::Schedule;

use crate::data::{Augment, Samples};
use crate::loss::Loss;
use crate::net::Inference;
use crate::net::Mode;
use crate::net::Network;
use crate::optim::Optimizer;
use crate::regularize::Regularization;
use crate::sample::{argmax, predicted_class, Example};
use crate::{Error, Result};
use std::path::PathBuf;

/// What [`fit`] and [`evaluate`] measure accuracy with: a target that names a class (or one class per step of a
/// sequence output) — a label, a one-hot (or probability) array, or one of either per step — or, for images and
/// matrices (an autoencoder's reconstruction targets), a target that names none, whose accuracy is not measured.
pub trait ClassTarget {
    /// Whether the target names classes. When it does not, [`Evaluation::accuracy`] is NaN and `fit` records no
    /// accuracy.
    const CLASSES: bool = true;

    /// How many of `output`'s predictions (one per `width`-value row: a sample's, or each step's) hit the
    /// target's classes, and how many there are. A row holding a NaN predicts nothing: a miss.
    fn hits(&self, output: &[f32]) -> (usize, usize);
}

/// A matrix target (a one-channel image, or a sequence of fixed length) names no class.
impl<const H: usize, const W: usize> ClassTarget for [[f32; W]; H] {
    const CLASSES: bool = false;

    fn hits(&self, _: &[f32]) -> (usize, usize) {
        (0, 0)
    }
}

/// An image target names no class.
impl<const C: usize, const H: usize, const W: usize> ClassTarget for [[[f32; W]; H]; C] {
    const CLASSES: bool = false;

    fn hits(&self, _: &[f32]) -> (usize, usize) {
        (0, 0)
    }
}

impl ClassTarget for usize {
    fn hits(&self, output: &[f32]) -> (usize, usize) {
        (usize::from(predicted_class(output) == Some(*self)), 1)
    }
}

impl<const N: usize> ClassTarget for [f32; N] {
    fn hits(&self, output: &[f32]) -> (usize, usize) {
        (usize::from(predicted_class(output) == Some(argmax(self))), 1)
    }
}

/// Hits of one class per step.
fn step_hits<T: ClassTarget>(targets: &[T], output: &[f32]) -> (usize, usize) {
    let width = output.len() / targets.len().max(1);
    targets
        .iter()
        .zip(output.chunks_exact(width.max(1)))
        .map(|(t, row)| t.hits(row).0)
        .fold((0, targets.len()), |(h, n), x| (h + x, n))
}

impl<const T: usize> ClassTarget for [usize; T] {
    fn hits(&self, output: &[f32]) -> (usize, usize) {
        step_hits(self, output)
    }
}

impl ClassTarget for Vec<usize> {
    fn hits(&self, output: &[f32]) -> (usize, usize) {
        step_hits(self, output)
    }
}

impl<const N: usize> ClassTarget for Vec<[f32; N]> {
    fn hits(&self, output: &[f32]) -> (usize, usize) {
        step_hits(self, output)
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
    /// Truncated backpropagation through time: train on each batch of sequences in windows of this many steps,
    /// one update per window, the recurrent state carried from window to window while the gradient stops at the
    /// window's start (networks over `Input<Seq, F>` without a bidirectional layer, whose backward direction
    /// needs each sequence's later steps; see the README's "Recurrent networks"). `None`: whole sequences.
    pub tbptt: Option<usize>,
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
            tbptt: None,
        }
    }
}

/// Loss and accuracy of a network on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss.
    pub loss: f32,
    /// Fraction of samples whose largest output is at the target's class; NaN for targets that name no class
    /// (images: see [`ClassTarget::CLASSES`]).
    pub accuracy: f32,
}

/// Evaluates `net` on `data` in eval mode (dropout off, batch norm on its running statistics); no gradients,
/// nothing changes, and the network's mode is restored afterwards. A sample whose output holds a NaN counts as
/// a miss.
///
/// # Errors
/// An empty data set ([`Error::EmptyBatch`]), inputs and targets that differ in number
/// ([`Error::DatasetMismatch`]), a non-finite input value ([`Error::NonFiniteInput`]), or a bad target.
pub fn evaluate<N, L>(net: &mut N, data: &impl Samples<N::Input, L::Target>, loss: &L) -> Result<Evaluation>
where
    N: Network,
    L: Loss<N::Output>,
    L::Target: ClassTarget,
{
    data.check_lengths("evaluation")?;
    data.check_inputs("evaluation")?;
    crate::net::check_inputs::<N>(data.inputs(), 0)?;
    evaluate_checked(net, data, loss)
}

/// [`evaluate`] of data already checked.
fn evaluate_checked<N, L>(net: &mut N, data: &impl Samples<N::Input, L::Target>, loss: &L) -> Result<Evaluation>
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

fn evaluate_in_mode<N, L>(net: &mut N, data: &impl Samples<N::Input, L::Target>, loss: &L) -> Result<Evaluation>
where
    N: Network,
    L: Loss<N::Output>,
    L::Target: ClassTarget,
{
    let inputs = data.inputs();
    if inputs.is_empty() {
        return Err(Error::EmptyBatch);
    }
    const BATCH: usize = 256;
    let mut outputs = vec![N::Output::zeros(0); BATCH.min(inputs.len())];
    let mut grad = Vec::new();
    let (mut total, mut terms, mut correct, mut predictions) = (0.0f64, 0usize, 0usize, 0usize);
    let mut index = 0;
    // One forward pass per batch gives both the loss and the predictions.
    for xs in inputs.chunks(BATCH) {
        let ys = &mut outputs[..xs.len()];
        net.try_forward_batch(xs, ys)?;
        if N::LAYER_LOSS {
            // The layers' own terms (a VAE's KL divergence), from a second forward pass.
            total += crate::net::layer_loss_sum(net, xs)?;
        }
        for y in ys.iter() {
            let (y, t) = (y.values(), data.target(index));
            grad.resize(y.len(), 0.0);
            total += f64::from(loss.sample_loss(y, t, index, 1.0, &mut grad)?);
            terms += loss.terms(t);
            let (hits, count) = t.hits(y);
            (correct, predictions) = (correct + hits, predictions + count);
            index += 1;
        }
    }
    let accuracy = if L::Target::CLASSES { correct as f32 / predictions.max(1) as f32 } else { f32::NAN };
    Ok(Evaluation { loss: (total / terms.max(1) as f64) as f32, accuracy })
}

/// Trains `net` on `train` for `config.epochs` epochs, evaluating on `valid` after each.
///
/// Steps run in [`Mode::Train`] and measurements in [`Mode::Eval`]; `fit` returns with the network in eval mode,
/// ready for inference (call `net.train()` before stepping it by hand).
///
/// # Errors
/// Before the first step, everything that can be known then: invalid settings, inconsistent, empty or
/// non-finite data ([`Error::DatasetMismatch`], [`Error::NonFiniteInput`]), a target that does not fit the output
/// ([`Error::LabelOutOfRange`], [`Error::StepMismatch`], naming the sample's index in its data set), a checkpoint
/// or curves directory that is missing or cannot be written, a batch-norm network whose batches would hold a
/// single value per channel ([`Error::BatchTooSmall`]), truncated backpropagation through time over a
/// bidirectional layer. During training: a NaN or infinite loss ([`Error::NonFiniteLoss`]) or gradient
/// ([`Error::NonFiniteGradient`]), both naming the epoch and step with the parameters as they were before it; a
/// parameter made non-finite by an update ([`Error::NonFiniteParameter`]); a checkpoint that cannot be written or
/// read.
pub fn fit<N, L, O, D>(
    net: &mut N,
    optimizer: &mut O,
    loss: &L,
    train: &D,
    valid: Option<&D>,
    config: &TrainConfig,
) -> Result<History>
where
    N: Network,
    L: Loss<N::Output>,
    L::Target: Clone + ClassTarget,
    O: Optimizer,
    D: Samples<N::Input, L::Target>,
{
    let result = fit::Fit::start(net, optimizer, loss, train, valid, config).and_then(fit::Fit::run);
    net.set_mode(Mode::Eval);
    result
}
