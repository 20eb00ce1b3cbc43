//! Checkpoints: parameters, optimizer state and history in one safetensors file, written atomically after every
//! epoch, from which training resumes exactly.
//!
//! Everything read back is validated before anything is changed — every metadata field parsed strictly and
//! range-checked, every tensor checked for its length and finiteness — so a corrupt or hand-edited file is an
//! [`Error::Checkpoint`] naming the field, never a panic or a silent restart.

use super::history::{EpochRecord, History};
use crate::io::{read_safetensors, state_dict, to_safetensors_typed, write_atomic, Stored};
use crate::net::Introspection;
use crate::net::Network;
use crate::optim::{Optimizer, OptimizerState};
use crate::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

const FORMAT: &str = "nn-checkpoint-2";

/// Everything needed to continue a run after epoch `epoch`.
pub(crate) struct Restored {
    pub epoch: usize,
    pub base_lr: f32,
    pub epochs: Vec<EpochRecord>,
    pub first_loss: Option<f32>,
}

/// Writes the checkpoint after `epoch`.
pub(crate) fn save<N: Network, O: Optimizer>(
    path: &Path,
    net: &N,
    optimizer: &O,
    epoch: usize,
    base_lr: f32,
    history: &History,
) -> Result<()> {
    let state = optimizer.state();
    let model: Vec<_> =
        state_dict(net).map(|(name, shape, v, stored)| (format!("model.{name}"), shape, v, stored)).collect();
    let buffer_names: Vec<String> = state.buffers.iter().map(|(n, _)| format!("optimizer.{n}")).collect();
    let lens: Vec<[usize; 1]> = state.buffers.iter().map(|(_, v)| [v.len()]).collect();
    let tensors = model.iter().map(|(name, shape, v, stored)| (name.as_str(), *shape, *v, *stored)).chain(
        state
            .buffers
            .iter()
            .zip(&buffer_names)
            .zip(&lens)
            .filter(|((b, _), _)| !b.1.is_empty())
            .map(|(((_, v), name), len)| (name.as_str(), &len[..], v.as_slice(), Stored::F32)),
    );
    let mut meta = HashMap::new();
    meta.insert("format".to_string(), FORMAT.to_string());
    meta.insert("epoch".to_string(), epoch.to_string());
    meta.insert("base_lr".to_string(), base_lr.to_string());
    meta.insert("history".to_string(), history.to_text());
    if let Some(first) = history.first_loss {
        meta.insert("first_loss".to_string(), first.to_string());
    }
    meta.insert("optimizer".to_string(), state.kind.clone());
    let (seed, step) = net.random_state();
    meta.insert("random_seed".to_string(), seed.to_string());
    meta.insert("random_step".to_string(), step.to_string());
    for (name, value) in &state.scalars {
        meta.insert(format!("optimizer.{name}"), value.to_string());
    }
    write_atomic(path, &to_safetensors_typed(tensors, Some(meta))?)
}

/// Reads a checkpoint into `net` and `optimizer`; on any error neither changes.
pub(crate) fn load<N: Network, O: Optimizer>(path: &Path, net: &mut N, optimizer: &mut O) -> Result<Restored> {
    let (tensors, meta) = read_safetensors(path)?;
    let bad =
        |field: &str, problem: String| Error::Checkpoint { path: path.to_path_buf(), field: field.into(), problem };
    let field = |key: &str| meta.get(key).map(String::as_str).ok_or_else(|| bad(key, "is missing".into()));
    if field("format")? != FORMAT {
        return Err(bad("format", format!("is `{}`, expected `{FORMAT}`", field("format")?)));
    }
    let whole = |key: &str| -> Result<u64> {
        let text = field(key)?;
        text.parse::<u64>().map_err(|_| bad(key, format!("= `{text}` is not a whole number in 0..={}", u64::MAX)))
    };
    let epoch = usize::try_from(whole("epoch")?).unwrap_or(usize::MAX);
    let epochs = History::from_text(field("history")?).map_err(|problem| bad("history", problem))?;
    if epoch == 0 || epochs.len() != epoch {
        return Err(bad(
            "epoch",
            format!("= {epoch}, but the history holds {} epochs (a checkpoint is written after each)", epochs.len()),
        ));
    }
    let base_lr = finite(field("base_lr")?).filter(|v| *v >= 0.0);
    let base_lr = base_lr.ok_or_else(|| bad("base_lr", format!("= `{}` is not a finite rate ≥ 0", meta["base_lr"])))?;
    let first_loss = match meta.get("first_loss") {
        None => None,
        Some(text) => Some(finite(text).ok_or_else(|| bad("first_loss", format!("= `{text}` is not finite")))?),
    };
    let (seed, step) = (whole("random_seed")?, whole("random_step")?);

    let (mut model, mut buffers) = (HashMap::new(), Vec::new());
    for (name, tensor) in tensors {
        if let Some(n) = name.strip_prefix("model.") {
            model.insert(n.to_string(), tensor);
        } else if let Some(n) = name.strip_prefix("optimizer.") {
            if tensor.values.len() != N::PARAMS {
                let problem =
                    format!("has {} values, but the network has {} parameters", tensor.values.len(), N::PARAMS);
                return Err(bad(&name, problem));
            }
            buffers.push((n.to_string(), tensor.values));
        } else {
            return Err(bad(&name, "is not a tensor of a checkpoint (`model.*` or `optimizer.*`)".into()));
        }
    }
    let problems = crate::io::fit_problems::<N>(&model);
    if !problems.is_empty() {
        return Err(Error::WeightFile { path: path.to_path_buf(), problems });
    }
    let kind = field("optimizer")?.to_string();
    let scalars = meta
        .iter()
        .filter_map(|(key, text)| key.strip_prefix("optimizer.").map(|name| (key, name, text)))
        .map(|(key, name, text)| match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok((name.to_string(), v)),
            _ => Err(bad(key, format!("= `{text}` is not a finite number"))),
        })
        .collect::<Result<Vec<_>>>()?;
    // Each optimizer validates its own state completely before changing anything.
    optimizer.load_state(&OptimizerState { kind, scalars, buffers }).map_err(|e| bad("optimizer", e.to_string()))?;
    crate::io::copy_in(net, |name| model.remove(name).map(|t| t.values).unwrap_or_default());
    net.set_random_state(seed, step);
    Ok(Restored { epoch, base_lr, epochs, first_loss })
}

/// `text` as a finite f32, if it is one.
fn finite(text: &str) -> Option<f32> {
    text.parse::<f32>().ok().filter(|v| v.is_finite())
}
