//! The epoch loop of [`super::fit`], one concern per method: starting (or resuming) a run, one training step, one
//! epoch, measuring it, saving it, and deciding whether to stop.

use super::report::{print_epoch, progress_bar, report_first_loss, update_ratios};
use super::tbptt::Windows;
use super::validate::{check_targets, validate};
use super::{checkpoint, evaluate_checked, write_curves, ClassTarget, EpochRecord, History, Monitor, TrainConfig};
use crate::data::{Augment, Loader, Samples};
use crate::loss::Loss;
use crate::net::{Inference, Introspection, Training};
use crate::net::{Mode, Network};
use crate::optim::Optimizer;
use crate::regularize::{
    add_weight_penalty, apply_max_norm, clip_grad_norm, clip_grad_value, grad_norm, scale_to_norm,
};
use crate::{Error, Result};
use std::time::Instant;

/// A run in progress: what it trains, with what, and what it has measured so far.
pub(super) struct Fit<'a, N: Network, L: Loss<N::Output>, O, D> {
    net: &'a mut N,
    optimizer: &'a mut O,
    loss: &'a L,
    train: &'a D,
    valid: Option<&'a D>,
    config: &'a TrainConfig,
    /// The augmentation and the image shape it transforms.
    augment: Option<(Augment, [usize; 3])>,
    history: History,
    /// The learning rate the schedule starts from.
    base_lr: f32,
    /// The first epoch to run (after those restored from a checkpoint).
    first_epoch: usize,
    /// The best monitored measurement so far, and its epoch.
    best: Option<(f32, usize)>,
    /// One batch's inputs and targets, reused.
    xs: Vec<N::Input>,
    ts: Vec<L::Target>,
    /// The parameters before the epoch's last step, for the update ratios.
    before: Vec<f32>,
    /// The windows of truncated backpropagation through time, if the run trains in windows.
    windows: Windows<N, L::Target>,
    /// The largest gradient norm (before clipping) of the epoch's steps so far.
    largest_gradient: f32,
}

impl<'a, N, L, O, D> Fit<'a, N, L, O, D>
where
    N: Network,
    L: Loss<N::Output>,
    L::Target: Clone + ClassTarget,
    O: Optimizer,
    D: Samples<N::Input, L::Target>,
{
    /// Checks everything that can be checked before the first step, and resumes from the checkpoint if asked.
    pub(super) fn start(
        net: &'a mut N,
        optimizer: &'a mut O,
        loss: &'a L,
        train: &'a D,
        valid: Option<&'a D>,
        config: &'a TrainConfig,
    ) -> Result<Self> {
        validate::<N, _>(config, train, valid)?;
        if !L::Target::CLASSES && config.early_stopping.is_some_and(|e| e.monitor == super::Monitor::ValidAccuracy) {
            let problem = "monitors validation accuracy, but the targets name no class: monitor the loss".into();
            return Err(Error::InvalidSetting { name: "early_stopping", problem });
        }
        check_targets::<N, L>(loss, train)?;
        if let Some(valid) = valid {
            check_targets::<N, L>(loss, valid)?;
        }
        let augment = augmentation::<N>(config)?;
        let classes = N::PLAN.output;
        let expected_first_loss = (classes > 1 && L::Target::CLASSES).then(|| (classes as f32).ln());
        let history = History { expected_first_loss, ..History::default() };
        let base_lr = optimizer.learning_rate();
        let (xs, ts) = (Vec::with_capacity(config.batch_size), Vec::with_capacity(config.batch_size));
        let before = vec![0.0; N::PARAMS];
        let mut fit = Fit {
            net,
            optimizer,
            loss,
            train,
            valid,
            config,
            augment,
            history,
            base_lr,
            first_epoch: 1,
            best: None,
            xs,
            ts,
            before,
            windows: Windows::default(),
            largest_gradient: 0.0,
        };
        fit.resume()?;
        Ok(fit)
    }

    /// Runs the remaining epochs.
    pub(super) fn run(mut self) -> Result<History> {
        let mut loader =
            Loader::new(self.train.inputs().len(), self.config.batch_size)?.drop_last(self.config.drop_last);
        if let Some(seed) = self.config.shuffle {
            loader = loader.shuffled(seed);
        }
        for epoch in self.first_epoch..=self.config.epochs {
            let started = Instant::now();
            let lr = self.config.schedule.rate(self.base_lr, epoch, self.config.epochs);
            self.optimizer.try_set_learning_rate(lr)?;
            let (train_loss, ratios) = self.epoch(&mut loader, epoch)?;
            let record = self.measure(epoch, lr, train_loss, ratios, started)?;
            if self.config.verbose {
                print_epoch(&record, self.config.epochs);
            }
            let measured = monitored(self.config, &record);
            self.history.epochs.push(record);
            self.save(epoch)?;
            if self.stops_early(epoch, measured) {
                break;
            }
        }
        Ok(self.history)
    }

    /// Continues from the checkpoint, if resuming and there is one.
    fn resume(&mut self) -> Result<()> {
        let (true, Some(path)) = (self.config.resume, &self.config.checkpoint) else { return Ok(()) };
        if !path.exists() {
            return Ok(());
        }
        let restored = checkpoint::load(path, self.net, self.optimizer)?;
        self.first_epoch = restored.epoch + 1;
        self.base_lr = restored.base_lr;
        self.history.resumed_epochs = restored.epoch;
        self.history.epochs = restored.epochs;
        self.history.first_loss = restored.first_loss;
        let config = self.config;
        for r in &self.history.epochs {
            if let Some(v) = monitored(config, r) {
                if self.best.is_none_or(|(b, _)| improves(config, v, b)) {
                    self.best = Some((v, r.epoch));
                }
            }
        }
        if config.verbose {
            println!("resumed from {} after epoch {}", path.display(), restored.epoch);
        }
        Ok(())
    }

    /// One epoch of training steps: the mean training loss, and the update ratios of its last step.
    fn epoch(&mut self, loader: &mut Loader, epoch: usize) -> Result<(f32, Vec<(&'static str, f32)>)> {
        let bar = progress_bar(self.config, loader, epoch);
        let steps = loader.batches_per_epoch();
        let (mut sum, mut seen) = (0.0f64, 0usize);
        let mut ratios = Vec::new();
        self.largest_gradient = 0.0;
        self.net.set_mode(Mode::Train);
        for (step, batch) in loader.epoch(epoch).enumerate() {
            let last = step + 1 == steps;
            let value = self.step(epoch, step + 1, batch, last).inspect_err(|_| bar.abandon())?;
            if last {
                ratios = update_ratios::<N>(&self.before, self.net.params());
            }
            sum += f64::from(value) * batch.len() as f64;
            seen += batch.len();
            bar.inc(batch.len() as u64);
            bar.set_message(format!("loss {:.4}", sum / seen as f64));
        }
        bar.finish_and_clear();
        Ok(((sum / seen.max(1) as f64) as f32, ratios))
    }

    /// One training step on the samples at `batch` — one update, or with truncated backpropagation through time
    /// one per window. Returns the loss (the windows' mean, weighted by their terms).
    fn step(&mut self, epoch: usize, step: usize, batch: &[usize], last: bool) -> Result<f32> {
        self.train.gather_into(batch, &mut self.xs, &mut self.ts);
        if let Some((augment, shape)) = self.augment {
            augment.apply(&mut self.xs, shape, batch, epoch)?;
        }
        let Some(k) = self.config.tbptt else {
            let value = self.net.loss_and_grad(&self.xs, &self.ts, self.loss)?;
            return self.update(value, epoch, step, last);
        };
        let mut windows = std::mem::take(&mut self.windows);
        let result = self.windows(&mut windows, k, epoch, step, last);
        self.windows = windows;
        result
    }

    /// The windows of `k` steps of the gathered batch, each with its update.
    fn windows(
        &mut self,
        windows: &mut Windows<N, L::Target>,
        k: usize,
        epoch: usize,
        step: usize,
        last: bool,
    ) -> Result<f32> {
        let count = windows.start(&self.xs, k);
        let (mut sum, mut terms) = (0.0f64, 0usize);
        for w in 0..count {
            windows.gather(w, k, &self.xs, &self.ts, self.loss)?;
            windows.carry(self.net)?;
            if let Some((value, n)) = windows.learn(self.net, self.loss)? {
                sum += f64::from(self.update(value, epoch, step, last)?) * n as f64;
                terms += n;
            }
        }
        Ok((sum / terms.max(1) as f64) as f32)
    }

    /// Completes a step whose loss and gradient `loss_and_grad` left: penalties and clipping, the checks that
    /// nothing became non-finite, and the update. Returns the loss with the penalties.
    fn update(&mut self, loss: f32, epoch: usize, step: usize, last: bool) -> Result<f32> {
        let (penalty, norm) = self.regularize();
        let value = loss + penalty;
        if !value.is_finite() {
            return Err(Error::NonFiniteLoss { epoch, step, loss: value });
        }
        // The norm (summed in f64) is finite exactly when every gradient value was: only then is the search
        // for the tensor to name needed. (A value clamped by `clip_value` since is finite now, and passes.)
        if !norm.is_finite() {
            if let Some(tensor) = non_finite_tensor::<N>(self.net.grads()) {
                return Err(Error::NonFiniteGradient { epoch, step, tensor });
            }
        }
        if self.history.first_loss.is_none() {
            self.history.first_loss = Some(value);
            if self.config.verbose {
                report_first_loss(value, self.history.expected_first_loss);
            }
        }
        if last {
            self.before.copy_from_slice(self.net.params());
        }
        let parts = self.net.parts_mut();
        parts.run.with_threads(|| self.optimizer.step(parts.params, parts.grads));
        if let Some(c) = self.config.regularization.max_norm {
            apply_max_norm::<N>(parts.params, c);
        }
        if let Some(tensor) = non_finite_tensor::<N>(self.net.params()) {
            return Err(Error::NonFiniteParameter { epoch, step, tensor });
        }
        Ok(value)
    }

    /// Adds the weight penalties to the gradient `loss_and_grad` left in the network and clips it; returns the
    /// penalty and the gradient's norm before clipping (the epoch's largest is kept).
    fn regularize(&mut self) -> (f32, f32) {
        let r = &self.config.regularization;
        let parts = self.net.parts_mut();
        let penalty = add_weight_penalty::<N>(parts.params, parts.grads, r.l1, r.l2);
        let norm = grad_norm(parts.grads);
        self.largest_gradient = self.largest_gradient.max(norm);
        if let Some(c) = r.clip_value {
            clip_grad_value(parts.grads, c);
        }
        match (r.clip_norm, r.clip_value) {
            // Clamped values change the norm: measure it again.
            (Some(c), Some(_)) => _ = clip_grad_norm(parts.grads, c),
            (Some(c), None) => scale_to_norm(parts.grads, norm, c),
            (None, _) => {}
        }
        (penalty, norm)
    }

    /// The epoch's record: its training loss and the measurements made after it.
    fn measure(
        &mut self,
        epoch: usize,
        lr: f32,
        train_loss: f32,
        update_ratios: Vec<(&'static str, f32)>,
        started: Instant,
    ) -> Result<EpochRecord> {
        let train_accuracy = if self.config.train_accuracy && L::Target::CLASSES {
            Some(evaluate_checked(self.net, self.train, self.loss)?.accuracy)
        } else {
            None
        };
        let valid = self.valid.map(|v| evaluate_checked(self.net, v, self.loss)).transpose()?;
        Ok(EpochRecord {
            epoch,
            lr,
            train_loss,
            train_accuracy,
            valid_loss: valid.map(|e| e.loss),
            valid_accuracy: valid.filter(|_| L::Target::CLASSES).map(|e| e.accuracy),
            update_ratios,
            largest_gradient: Some(self.largest_gradient),
            seconds: started.elapsed().as_secs_f32(),
        })
    }

    /// The checkpoint and the curves after `epoch`.
    fn save(&self, epoch: usize) -> Result<()> {
        if let Some(path) = &self.config.checkpoint {
            checkpoint::save(path, self.net, self.optimizer, epoch, self.base_lr, &self.history)?;
        }
        if let Some(path) = &self.config.curves {
            write_curves(&self.history, path)?;
        }
        Ok(())
    }

    /// Whether early stopping ends the run after `epoch`, whose monitored measurement is `measured`.
    fn stops_early(&mut self, epoch: usize, measured: Option<f32>) -> bool {
        let (Some(stop), Some(value)) = (self.config.early_stopping, measured) else { return false };
        if self.best.is_none_or(|(b, _)| improves(self.config, value, b)) {
            self.best = Some((value, epoch));
        }
        let best_epoch = self.best.map_or(epoch, |(_, e)| e);
        if epoch - best_epoch < stop.patience {
            return false;
        }
        if self.config.verbose {
            println!("early stopping after epoch {epoch}: no improvement since epoch {best_epoch}");
        }
        self.history.stopped_early = Some(epoch);
        true
    }
}

/// The augmentation `config` asks for, with the image shape of `N`'s input it transforms.
fn augmentation<N: Network>(config: &TrainConfig) -> Result<Option<(Augment, [usize; 3])>> {
    match (config.augment, N::INPUT_SHAPE) {
        (Some(a), &[c, h, w]) => {
            a.validate([c, h, w])?;
            Ok(Some((a, [c, h, w])))
        }
        (Some(_), shape) => Err(Error::InvalidSetting {
            name: "augment",
            problem: format!("augmentation transforms images, but the network's input has shape {shape:?}"),
        }),
        (None, _) => Ok(None),
    }
}

/// The measurement early stopping watches, if it is on.
fn monitored(config: &TrainConfig, r: &EpochRecord) -> Option<f32> {
    match config.early_stopping?.monitor {
        Monitor::ValidLoss => r.valid_loss,
        Monitor::ValidAccuracy => r.valid_accuracy,
    }
}

/// Whether `value` improves on `best` by more than early stopping's `min_delta`.
fn improves(config: &TrainConfig, value: f32, best: f32) -> bool {
    let Some(stop) = config.early_stopping else { return false };
    match stop.monitor {
        Monitor::ValidLoss => value < best - stop.min_delta,
        Monitor::ValidAccuracy => value > best + stop.min_delta,
    }
}

/// The name of the first tensor of `values` (laid out as the parameters) holding a NaN or infinity.
fn non_finite_tensor<N: Network>(values: &[f32]) -> Option<&'static str> {
    if crate::kernels::all_finite(values) {
        return None;
    }
    N::TENSORS.iter().find(|t| !crate::kernels::all_finite(&values[t.offset..t.offset + t.len()])).map(|t| t.name)
}
