//! Everything about a run that can be checked before its first step, so that a run never fails after an epoch's
//! work for a reason known at the start.

use super::TrainConfig;
use crate::data::Samples;
use crate::loss::Loss;
use crate::net::Network;
use crate::sample::Example;
use crate::{Error, Result};

/// Everything about a run that can be checked before its first step.
pub(super) fn validate<N: Network, T>(
    config: &TrainConfig,
    train: &impl Samples<N::Input, T>,
    valid: Option<&impl Samples<N::Input, T>>,
) -> Result<()> {
    let bad = |name, problem: &str| Err(Error::InvalidSetting { name, problem: problem.into() });
    if config.epochs == 0 {
        return bad("epochs", "must be at least 1");
    }
    if config.batch_size == 0 {
        return bad("batch_size", "must be at least 1");
    }
    train.check_lengths("training")?;
    if train.inputs().is_empty() {
        return bad("train", "the training set is empty");
    }
    if let Some(valid) = valid {
        valid.check_lengths("validation")?;
        if valid.inputs().is_empty() {
            return bad("valid", "the validation set is empty; pass `None` to train without one");
        }
        valid.check_inputs("validation")?;
        crate::net::check_inputs::<N>(valid.inputs(), 0)?;
    }
    train.check_inputs("training")?;
    crate::net::check_inputs::<N>(train.inputs(), 0)?;
    if config.drop_last && train.inputs().len() < config.batch_size {
        return bad("drop_last", "fewer samples than one batch, so every batch would be dropped");
    }
    if config.early_stopping.is_some() && valid.is_none() {
        return bad("early_stopping", "needs validation data");
    }
    if config.resume && config.checkpoint.is_none() {
        return bad("resume", "needs a `checkpoint` path");
    }
    check_batch_statistics::<N>(config, train.inputs().len())?;
    check_windows::<N>(config.tbptt)?;
    for (name, path) in [("checkpoint", &config.checkpoint), ("curves", &config.curves)] {
        if let Some(path) = path {
            check_writable_dir(name, path)?;
        }
    }
    config.regularization.validate()?;
    config.schedule.validate()
}

/// Checks every target of `data` against the output the network will give for its input — a class label below
/// the number of classes, one target per step of a sequence output — by running `loss` on a zero output of that
/// shape, so that a bad target deep in the data set is an error naming its index in the data set before
/// anything is trained, whatever the batching and shuffling.
pub(super) fn check_targets<N: Network, L: Loss<N::Output>>(
    loss: &L,
    data: &impl Samples<N::Input, L::Target>,
) -> Result<()> {
    let plan = N::PLAN;
    let (mut output, mut grad) = (Vec::new(), Vec::new());
    for (index, x) in data.inputs().iter().enumerate() {
        let t = data.target(index);
        let len = if plan.sequence_output { x.values().len() / plan.input.max(1) * plan.output } else { plan.output };
        output.clear();
        output.resize(len, 0.0);
        grad.resize(len, 0.0);
        loss.sample_loss(&output, t, index, 1.0, &mut grad)?;
    }
    Ok(())
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

/// Refuses windows of truncated backpropagation through time that cannot be cut: zero steps, a network without
/// a time axis, windows shorter than a fixed-length sequence (whose input type holds exactly its length), or a
/// bidirectional recurrent layer (its backward direction reads the steps after a window, which a window does not
/// have: it would run over each window alone from a state carried across the cut, another function).
fn check_windows<N: Network>(tbptt: Option<usize>) -> Result<()> {
    let Some(k) = tbptt else { return Ok(()) };
    let bidirectional =
        N::LAYERS.iter().zip(N::ops()).find(|(_, op)| matches!(op, crate::layers::Op::Recurrent { directions: 2, .. }));
    let problem = if k == 0 {
        "windows of 0 steps: use at least 1".to_string()
    } else if !N::PLAN.sequence_input {
        "the network's input is not a sequence, so there is nothing to cut into windows".to_string()
    } else if let Some((layer, _)) = bidirectional {
        format!(
            "layer `{}` is bidirectional: its backward direction needs each sequence's later steps, which a window \
             does not hold; train it on whole sequences (`tbptt: None`)",
            layer.name
        )
    } else {
        match <N::Input as Example>::FIXED_LEN {
            Some(len) if k < len / N::PLAN.input.max(1) => format!(
                "windows of {k} steps, but the network takes sequences of exactly {} steps; declare its input as \
                 `Input<Seq, {}>` (any length) to train it in windows",
                len / N::PLAN.input.max(1),
                N::PLAN.input
            ),
            _ => return Ok(()),
        }
    };
    Err(Error::InvalidSetting { name: "tbptt", problem })
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
