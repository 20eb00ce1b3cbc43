//! Checkpoints: parameters, optimizer state and history in one safetensors file, written atomically after every
//! epoch, from which training resumes exactly.

use super::history::{EpochRecord, History};
use crate::io::{read_safetensors, state_dict, to_safetensors_typed, write_atomic, Stored};
use crate::network::Network;
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

/// Reads a checkpoint into `net` and `optimizer`.
pub(crate) fn load<N: Network, O: Optimizer>(path: &Path, net: &mut N, optimizer: &mut O) -> Result<Restored> {
    let (tensors, meta) = read_safetensors(path)?;
    let bad = |what: &str| Error::format(path, format!("not a usable checkpoint: {what}"));
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(bad("missing or unknown `format` metadata"));
    }
    let number = |key: &str| meta.get(key).and_then(|v| v.parse::<f64>().ok()).ok_or_else(|| bad(key));
    let (mut model, mut buffers) = (HashMap::new(), Vec::new());
    for (name, tensor) in tensors {
        if let Some(n) = name.strip_prefix("model.") {
            model.insert(n.to_string(), tensor);
        } else if let Some(n) = name.strip_prefix("optimizer.") {
            buffers.push((n.to_string(), tensor.values));
        } else {
            return Err(bad(&format!("unexpected tensor `{name}`")));
        }
    }
    let problems = crate::io::fit_problems::<N>(&model);
    if !problems.is_empty() {
        return Err(Error::WeightFile { path: path.to_path_buf(), problems });
    }
    let kind = meta.get("optimizer").ok_or_else(|| bad("optimizer"))?.clone();
    let scalars = meta
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("optimizer.").map(|k| (k.to_string(), v.parse::<f64>())))
        .map(|(k, v)| v.map(|v| (k, v)).map_err(|_| bad("optimizer scalar")))
        .collect::<Result<Vec<_>>>()?;
    let integer = |key: &str| meta.get(key).and_then(|v| v.parse::<u64>().ok()).ok_or_else(|| bad(key));
    let (seed, step) = (integer("random_seed")?, integer("random_step")?);
    optimizer.load_state(&OptimizerState { kind, scalars, buffers })?;
    crate::io::copy_in(net, |name| model.remove(name).expect("checked by fit_problems").values);
    net.set_random_state(seed, step);
    Ok(Restored {
        epoch: number("epoch")? as usize,
        base_lr: number("base_lr")? as f32,
        epochs: History::from_text(meta.get("history").map_or("", String::as_str)).ok_or_else(|| bad("history"))?,
        first_loss: meta.get("first_loss").and_then(|v| v.parse().ok()),
    })
}
