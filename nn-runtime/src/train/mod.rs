//! The training loop: epochs of training then evaluation, with progress, schedules, early stopping, the lecture's
//! diagnostics, checkpoints and curves.

mod checkpoint;
mod curves;
mod history;
mod schedule;

pub use curves::write_curves;
pub use history::{EpochRecord, History};
pub use schedule::Schedule;

use crate::data::{Augment, Dataset, Loader};
use crate::loss::Loss;
use crate::net::Mode;
use crate::net::Network;
use crate::optim::Optimizer;
use crate::regularize::{add_weight_penalty, apply_max_norm, clip_grad_norm, clip_grad_value, Regularization};
use crate::sample::{argmax, predicted_class, Sample};
use crate::{Error, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

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
    let result = fit_epochs(net, optimizer, loss, train, valid, config);
    net.set_mode(Mode::Eval);
    result
}

fn fit_epochs<N, L, O>(
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
    validate::<N, _>(config, train, valid)?;
    let image_shape = match (config.augment, N::INPUT_SHAPE) {
        (Some(a), &[c, h, w]) => {
            a.validate([c, h, w])?;
            Some((a, [c, h, w]))
        }
        (Some(_), shape) => {
            return Err(Error::InvalidSetting {
                name: "augment",
                problem: format!("augmentation transforms images, but the network's input has shape {shape:?}"),
            })
        }
        (None, _) => None,
    };
    let mut loader = Loader::new(train.len(), config.batch_size)?.drop_last(config.drop_last);
    if let Some(seed) = config.shuffle {
        loader = loader.shuffled(seed);
    }
    let mut history = History::default();
    let mut base_lr = optimizer.learning_rate();
    let mut start = 1;
    if let (true, Some(path)) = (config.resume, &config.checkpoint) {
        if path.exists() {
            let restored = checkpoint::load(path, net, optimizer)?;
            start = restored.epoch + 1;
            base_lr = restored.base_lr;
            history.resumed_epochs = restored.epoch;
            history.epochs = restored.epochs;
            history.first_loss = restored.first_loss;
            if config.verbose {
                println!("resumed from {} after epoch {}", path.display(), restored.epoch);
            }
        }
    }
    let classes = N::Output::LEN;
    history.expected_first_loss = (classes > 1).then(|| (classes as f32).ln());
    let (mut xs, mut ts) = (Vec::with_capacity(config.batch_size), Vec::with_capacity(config.batch_size));
    let mut before = vec![0.0f32; N::PARAMS];
    let mut best: Option<(f32, usize)> = history
        .epochs
        .iter()
        .filter_map(|r| monitored(config, r).map(|v| (v, r.epoch)))
        .fold(None, |b, (v, e)| match b {
            Some((bv, _)) if !improves(config, v, bv) => b,
            _ => Some((v, e)),
        });

    for epoch in start..=config.epochs {
        let started = Instant::now();
        let lr = config.schedule.rate(base_lr, epoch, config.epochs);
        optimizer.try_set_learning_rate(lr)?;
        let bar = progress_bar(config, &loader, epoch);
        let steps = loader.batches_per_epoch();
        let (mut sum, mut seen) = (0.0f64, 0usize);
        let mut ratios = Vec::new();
        net.set_mode(Mode::Train);
        for (step, batch) in loader.epoch(epoch).enumerate() {
            train.gather_into(batch, &mut xs, &mut ts);
            if let Some((augment, shape)) = image_shape {
                augment.apply(&mut xs, shape, batch, epoch)?;
            }
            let value = net.loss_and_grad(&xs, &ts, loss)? + regularize(net, &config.regularization);
            if !value.is_finite() {
                bar.abandon();
                return Err(Error::NonFiniteLoss { epoch, step: step + 1, loss: value });
            }
            if let Some(tensor) = non_finite_tensor::<N>(net.grads()) {
                bar.abandon();
                return Err(Error::NonFiniteGradient { epoch, step: step + 1, tensor });
            }
            if history.first_loss.is_none() {
                history.first_loss = Some(value);
                if config.verbose {
                    report_first_loss(value, history.expected_first_loss);
                }
            }
            let last = step + 1 == steps;
            if last {
                before.copy_from_slice(net.params());
            }
            step_optimizer(net, optimizer);
            if let Some(c) = config.regularization.max_norm {
                apply_max_norm::<N>(net.params_mut(), c);
            }
            if let Some(tensor) = non_finite_tensor::<N>(net.params()) {
                bar.abandon();
                return Err(Error::NonFiniteParameter { epoch, step: step + 1, tensor });
            }
            if last {
                ratios = update_ratios::<N>(&before, net.params());
            }
            sum += f64::from(value) * batch.len() as f64;
            seen += batch.len();
            bar.inc(batch.len() as u64);
            bar.set_message(format!("loss {:.4}", sum / seen as f64));
        }
        bar.finish_and_clear();
        let train_accuracy =
            if config.train_accuracy { Some(evaluate_checked(net, train, loss)?.accuracy) } else { None };
        let valid_eval = valid.map(|v| evaluate_checked(net, v, loss)).transpose()?;
        let record = EpochRecord {
            epoch,
            lr,
            train_loss: (sum / seen.max(1) as f64) as f32,
            train_accuracy,
            valid_loss: valid_eval.map(|e| e.loss),
            valid_accuracy: valid_eval.map(|e| e.accuracy),
            update_ratios: ratios,
            seconds: started.elapsed().as_secs_f32(),
        };
        if config.verbose {
            print_epoch(&record, config.epochs);
        }
        let measured = monitored(config, &record);
        history.epochs.push(record);
        if let Some(path) = &config.checkpoint {
            checkpoint::save(path, net, optimizer, epoch, base_lr, &history)?;
        }
        if let Some(path) = &config.curves {
            write_curves(&history, path)?;
        }
        if let (Some(stop), Some(value)) = (config.early_stopping, measured) {
            match best {
                Some((b, _)) if !improves(config, value, b) => {}
                _ => best = Some((value, epoch)),
            }
            let (_, best_epoch) = best.expect("set above");
            if epoch - best_epoch >= stop.patience {
                if config.verbose {
                    println!("early stopping after epoch {epoch}: no improvement since epoch {best_epoch}");
                }
                history.stopped_early = Some(epoch);
                break;
            }
        }
    }
    Ok(history)
}

/// Adds the weight penalties to the gradient `loss_and_grad` left in the network and clips it; returns the penalty.
fn regularize<N: Network>(net: &mut N, r: &Regularization) -> f32 {
    let parts = net.parts_mut();
    let penalty = add_weight_penalty::<N>(parts.params, parts.grads, r.l1, r.l2);
    if let Some(c) = r.clip_value {
        clip_grad_value(parts.grads, c);
    }
    if let Some(c) = r.clip_norm {
        clip_grad_norm(parts.grads, c);
    }
    penalty
}

/// The optimizer update with the gradient `loss_and_grad` left in the network.
fn step_optimizer<N: Network, O: Optimizer>(net: &mut N, optimizer: &mut O) {
    let parts = net.parts_mut();
    optimizer.step(parts.params, parts.grads);
}

/// Everything about a run that can be checked before its first step.
fn validate<N: Network, T>(
    config: &TrainConfig,
    train: &Dataset<N::Input, T>,
    valid: Option<&Dataset<N::Input, T>>,
) -> Result<()> {
    let bad = |name, problem: &str| Err(Error::InvalidSetting { name, problem: problem.into() });
    if config.epochs == 0 {
        return bad("epochs", "must be at least 1");
    }
    if config.batch_size == 0 {
        return bad("batch_size", "must be at least 1");
    }
    train.check_lengths("training")?;
    if train.inputs.is_empty() {
        return bad("train", "the training set is empty");
    }
    if let Some(valid) = valid {
        valid.check_lengths("validation")?;
        if valid.is_empty() {
            return bad("valid", "the validation set is empty; pass `None` to train without one");
        }
        valid.check_finite("validation")?;
    }
    train.check_finite("training")?;
    if config.drop_last && train.inputs.len() < config.batch_size {
        return bad("drop_last", "fewer samples than one batch, so every batch would be dropped");
    }
    if config.early_stopping.is_some() && valid.is_none() {
        return bad("early_stopping", "needs validation data");
    }
    if config.resume && config.checkpoint.is_none() {
        return bad("resume", "needs a `checkpoint` path");
    }
    check_batch_statistics::<N>(config, train.len())?;
    for (name, path) in [("checkpoint", &config.checkpoint), ("curves", &config.curves)] {
        if let Some(path) = path {
            check_writable_dir(name, path)?;
        }
    }
    config.regularization.validate()?;
    config.schedule.validate()
}

/// Refuses batch sizes (including an epoch's short last batch) too small for a layer that normalises over the
/// batch (batch norm per feature needs two samples).
fn check_batch_statistics<N: Network>(config: &TrainConfig, samples: usize) -> Result<()> {
    let Some(stage) = N::PLAN.stages.iter().max_by_key(|s| s.min_batch) else { return Ok(()) };
    let last = samples % config.batch_size;
    let smallest = if last != 0 && !config.drop_last { last } else { config.batch_size.min(samples) };
    if smallest >= stage.min_batch {
        return Ok(());
    }
    let problem = if smallest == config.batch_size || samples <= config.batch_size {
        format!("layer `{}` needs at least {} samples per batch in training", stage.name, stage.min_batch)
    } else {
        format!(
            "{samples} samples in batches of {} leave a last batch of {smallest}, too few for layer `{}` (it needs \
             {}); set `drop_last: true` or choose another batch size",
            config.batch_size, stage.name, stage.min_batch
        )
    };
    Err(Error::InvalidSetting { name: "batch_size", problem })
}

/// Checks that the directory `path` will be written in exists and takes new files, by creating and removing
/// one, so a run does not fail after its first epoch's work.
fn check_writable_dir(name: &'static str, path: &std::path::Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::InvalidSetting {
            name,
            problem: format!("the directory {} does not exist; create it first", dir.display()),
        });
    }
    tempfile::Builder::new()
        .prefix(".nn-write-test")
        .tempfile_in(dir)
        .map(drop)
        .map_err(|e| Error::InvalidSetting { name, problem: format!("cannot write in {}: {e}", dir.display()) })
}

/// The name of the first tensor of `values` (laid out as the parameters) holding a NaN or infinity.
fn non_finite_tensor<N: Network>(values: &[f32]) -> Option<&'static str> {
    if crate::kernels::all_finite(values) {
        return None;
    }
    N::TENSORS.iter().find(|t| !crate::kernels::all_finite(&values[t.offset..t.offset + t.len()])).map(|t| t.name)
}

fn monitored(config: &TrainConfig, r: &EpochRecord) -> Option<f32> {
    match config.early_stopping?.monitor {
        Monitor::ValidLoss => r.valid_loss,
        Monitor::ValidAccuracy => r.valid_accuracy,
    }
}

fn improves(config: &TrainConfig, value: f32, best: f32) -> bool {
    let Some(stop) = config.early_stopping else { return false };
    match stop.monitor {
        Monitor::ValidLoss => value < best - stop.min_delta,
        Monitor::ValidAccuracy => value > best + stop.min_delta,
    }
}

/// `‖after − before‖ / ‖before‖` per parameter tensor.
fn update_ratios<N: Network>(before: &[f32], after: &[f32]) -> Vec<(&'static str, f32)> {
    N::TENSORS
        .iter()
        .map(|t| {
            let range = t.offset..t.offset + t.len();
            let (b, a) = (&before[range.clone()], &after[range]);
            let update: f64 = b.iter().zip(a).map(|(x, y)| f64::from(y - x).powi(2)).sum::<f64>().sqrt();
            let weight: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            (t.name, if weight > 0.0 { (update / weight) as f32 } else { f32::INFINITY })
        })
        .collect()
}

fn progress_bar(config: &TrainConfig, loader: &Loader, epoch: usize) -> ProgressBar {
    let samples = if config.drop_last { loader.batches_per_epoch() * config.batch_size } else { loader.len() } as u64;
    let target = if config.progress && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(samples), target);
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} {per_sec:.dim} ETA {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("epoch {epoch}"));
    bar
}

fn report_first_loss(value: f32, expected: Option<f32>) {
    let Some(expected) = expected else { return };
    print!("first loss {value:.4}, ln(classes) = {expected:.4}");
    if value > 1.5 * expected || value < 0.5 * expected {
        println!(": far from ln(classes) — check the initialisation and the input scaling");
    } else {
        println!(": as expected for a fresh classifier");
    }
}

fn print_epoch(r: &EpochRecord, epochs: usize) {
    let mut line = format!("epoch {:>3}/{epochs}  lr {:.2e}  train loss {:.4}", r.epoch, r.lr, r.train_loss);
    if let Some(a) = r.train_accuracy {
        line += &format!("  train acc {a:.4}");
    }
    if let (Some(l), Some(a)) = (r.valid_loss, r.valid_accuracy) {
        line += &format!("  valid loss {l:.4}  valid acc {a:.4}");
    }
    line += &format!("  ({:.1} s)", r.seconds);
    println!("{line}");
    let weights: Vec<String> =
        r.update_ratios.iter().filter(|(n, _)| n.ends_with("weight")).map(|(n, v)| format!("{n} {v:.1e}")).collect();
    if !weights.is_empty() {
        println!("           update/weight: {}", weights.join(", "));
    }
}
