//! What the extension traits' methods share: running a pass on `&mut self` or on a shared network, the mean loss of
//! a batch, and copying outputs, input gradients and states out of a chunk.

use super::driver::{self, Backprop, Buffers, Middle, Run};
use super::{buffer, Chunk, Mode, Network, Parts, PartsMut, Pass, Runner, Workspace, CHUNK};
use crate::loss::Loss;
use crate::sample::Example;
use crate::{Error, Result};

/// The value of `result`, or a panic with its message at the caller's line.
#[track_caller]
pub(super) fn or_panic<T>(result: Result<T>) -> T {
    // Not `unwrap_or_else`: a panic inside a closure reports the closure's line, not the caller's.
    match result {
        Ok(value) => value,
        Err(e) => panic!("{e}"),
    }
}

pub(super) fn check_len(inputs: usize, other: usize, what: &'static str) -> Result<()> {
    if inputs == other {
        Ok(())
    } else {
        Err(Error::LengthMismatch { inputs, other, what })
    }
}

/// The outputs of the chunk `x` last run forward into activations `acts`: `samples × steps` rows for a
/// sequence output.
pub(super) fn output<'c, N: Network>(acts: &'c [Vec<f32>], x: &'c [f32], p: &Pass<'_>) -> &'c [f32] {
    let rows = if N::PLAN.sequence_output { p.rows() } else { p.samples };
    buffer(x, acts, N::PLAN.output_buffer, rows * N::PLAN.output)
}

/// Calls `f(sample, its rows, its padded rows)` for each sample of the chunk, as ranges of output values: one row
/// per sample for a vector output, its valid steps (then the padding to the chunk's longest) for a sequence.
pub(super) fn for_each_output_row<N: Network>(
    p: &Pass<'_>,
    mut f: impl FnMut(usize, std::ops::Range<usize>, std::ops::Range<usize>) -> Result<()>,
) -> Result<()> {
    let width = N::PLAN.output;
    for j in 0..p.samples {
        if N::PLAN.sequence_output {
            let start = j * p.steps * width;
            let len = p.lengths.get(j).copied().unwrap_or(p.steps);
            f(j, start..start + len * width, start + len * width..start + p.steps * width)?;
        } else {
            f(j, j * width..(j + 1) * width, 0..0)?;
        }
    }
    Ok(())
}

/// Copies the outputs of the chunk of `p` into their places in `ys`.
pub(super) fn copy_output<N: Network>(chunk: &Chunk, xs: &[N::Input], p: &Pass<'_>, ys: &mut [N::Output]) {
    let c = p.first / CHUNK;
    let x = driver_input::<N>(chunk, xs, c, p);
    let out = output::<N>(&chunk.acts, x, p);
    let ys = &mut ys[p.first..p.first + p.samples];
    if let Some(flat) = <N::Output as Example>::flat_slice_mut(ys) {
        flat.copy_from_slice(out);
        return;
    }
    let result = for_each_output_row::<N>(p, |j, rows, _| {
        ys[j].assign(&out[rows]);
        Ok(())
    });
    debug_assert!(result.is_ok());
}

/// The chunk's flat input, as the output copy needs it only for the output buffer 0 (a network without layers).
fn driver_input<'a, N: Network>(chunk: &'a Chunk, xs: &'a [N::Input], c: usize, p: &Pass<'_>) -> &'a [f32] {
    let range = c * CHUNK..(c * CHUNK + p.samples).min(xs.len());
    <N::Input as Example>::flat_slice(&xs[range]).unwrap_or(&chunk.dx[..0])
}

/// Copies the chunk's input gradients into their places in `all` (a sequence's valid steps only).
pub(super) fn copy_input_gradient<N: Network>(chunk: &Chunk, p: &Pass<'_>, all: &mut [N::Input]) {
    let width = N::PLAN.input;
    let all = &mut all[p.first..p.first + p.samples];
    if let Some(flat) = <N::Input as Example>::flat_slice_mut(all) {
        flat.copy_from_slice(&chunk.dx[..flat.len()]);
        return;
    }
    for (j, d) in all.iter_mut().enumerate() {
        let len = p.lengths.get(j).copied().unwrap_or(p.steps);
        let start = j * p.steps * width;
        d.assign(&chunk.dx[start..start + len * width]);
    }
}

/// Copies the chunk's final states into their places in `finals` (`N::PLAN.state()` values per sample).
pub(super) fn copy_states<N: Network>(chunk: &Chunk, p: &Pass<'_>, finals: &mut [f32]) {
    let total = N::PLAN.state();
    let mut offset = 0;
    for (buffer, &len) in chunk.states.iter().zip(N::PLAN.states) {
        for j in 0..p.samples {
            finals[(p.first + j) * total + offset..][..len].copy_from_slice(&buffer[j * len..(j + 1) * len]);
        }
        offset += len;
    }
}

/// One state per sample, if any are given.
pub(super) fn check_states<N: Network>(
    samples: usize,
    initial: Option<&[N::State]>,
    finals: Option<&[N::State]>,
) -> Result<()> {
    if let Some(i) = initial {
        check_len(samples, i.len(), "initial states")?;
    }
    if let Some(f) = finals {
        check_len(samples, f.len(), "final-state slots")?;
    }
    Ok(())
}

/// What a pass on `&mut self` computes besides the forward pass: its backward part, whether the parameter
/// gradient goes into the network's, and how its loss scales its terms (0 without a loss).
#[derive(Clone, Copy)]
pub(super) struct Wants {
    pub backprop: Backprop,
    pub gradient: bool,
    pub loss_scale: f32,
}

impl Wants {
    /// A forward pass, without a loss.
    pub(super) const FORWARD: Self = Self { backprop: Backprop::No, gradient: false, loss_scale: 0.0 };
}

/// A pass on `&mut self`: in the network's mode, on its own workspace, advancing the step counter in training
/// mode; the parameter gradient into the network's gradient if `gradient`.
pub(super) fn run_mut<N: Network>(
    net: &mut N,
    xs: &[N::Input],
    initial: Option<&[f32]>,
    wants: Wants,
    middle: &impl Middle,
    collect: &mut impl FnMut(&Chunk, &Pass<'_>),
) -> Result<f64> {
    let Wants { backprop, gradient, loss_scale } = wants;
    let PartsMut { params, buffers, grads, run } = net.parts_mut();
    let Runner { mode, seed, step, parallelism, pool, ws } = run;
    let settings = Run {
        params,
        mode: *mode,
        seed: *seed,
        step: *step,
        parallelism: *parallelism,
        pool: pool.as_deref(),
        initial,
        backprop,
        loss_scale,
    };
    let grads = gradient.then_some(grads);
    let result = driver::run::<N>(&settings, Buffers::Exclusive(buffers), ws, xs, grads, middle, collect);
    if *mode == Mode::Train {
        // A counter that only keys dropout masks: wrapping after 2⁶⁴ passes is harmless, and a checkpoint may
        // restore any value.
        *step = step.wrapping_add(1);
    }
    result
}

/// A pass on `&self`, in eval mode, on the caller's workspace.
pub(super) fn run_shared<N: Network>(
    net: &N,
    ws: &mut Workspace,
    xs: &[N::Input],
    middle: &impl Middle,
    collect: &mut impl FnMut(&Chunk, &Pass<'_>),
) -> Result<f64> {
    let Parts { params, buffers, run, .. } = net.parts();
    let settings = Run {
        params,
        mode: Mode::Eval,
        seed: run.seed,
        step: run.step,
        parallelism: run.parallelism,
        pool: run.pool.as_deref(),
        initial: None,
        backprop: Backprop::No,
        loss_scale: 0.0,
    };
    driver::run::<N>(&settings, Buffers::Shared(buffers), ws, xs, None, middle, collect)
}

/// The sum over `xs` of the network's layers' own loss terms (`Layer::loss`), unscaled, from a forward pass in
/// the network's mode.
#[cfg(feature = "train")]
pub(crate) fn layer_loss_sum<N: Network>(net: &mut N, xs: &[N::Input]) -> Result<f64> {
    let middle = |chunk: &mut Chunk, _: &[f32], p: &Pass<'_>| Ok(N::layer_loss(chunk, p));
    run_mut(net, xs, None, Wants::FORWARD, &middle, &mut |_, _| {})
}

/// The mean loss of a batch, with (`backward`) or without its gradient: the sum of every sample's terms over
/// their count (a sequence output contributes one term per step).
pub(super) fn batch_loss<N: Network, L: Loss<N::Output>>(
    net: &mut N,
    xs: &[N::Input],
    initial: Option<&[f32]>,
    targets: &[L::Target],
    loss: &L,
    backward: bool,
    finals: Option<&mut [f32]>,
) -> Result<f32> {
    let gradients = if backward { Gradients::Params } else { Gradients::None };
    batch_loss_with(net, xs, initial, targets, loss, gradients, finals)
}

/// Which gradients a [`batch_loss_with`] pass computes.
pub(super) enum Gradients<'a, I> {
    /// None: the loss only.
    None,
    /// The parameter gradient, into the network's.
    Params,
    /// The gradient with respect to each input, into these slots; and the parameter gradient into the network's
    /// if `params`, else the network is held fixed (no parameter gradient computed, no running statistics
    /// updated).
    Inputs { slots: &'a mut [I], params: bool },
}

/// [`batch_loss`] with any of the [`Gradients`].
pub(super) fn batch_loss_with<N: Network, L: Loss<N::Output>>(
    net: &mut N,
    xs: &[N::Input],
    initial: Option<&[f32]>,
    targets: &[L::Target],
    loss: &L,
    gradients: Gradients<'_, N::Input>,
    finals: Option<&mut [f32]>,
) -> Result<f32> {
    check_len(xs.len(), targets.len(), "targets")?;
    if let Gradients::Inputs { slots, .. } = &gradients {
        check_len(xs.len(), slots.len(), "input-gradient slots")?;
        if <N::Input as Example>::TOKENS {
            let problem = "the inputs are token ids, which have no gradient".into();
            return Err(Error::InvalidSetting { name: "input gradients", problem });
        }
    }
    if xs.is_empty() {
        return Err(Error::EmptyBatch);
    }
    let terms: usize = targets.iter().map(|t| loss.terms(t)).sum();
    let scale = 1.0 / terms.max(1) as f32;
    let per_chunk = |chunk: &mut Chunk, x: &[f32], p: &Pass<'_>| -> Result<f64> {
        // The layers' own terms (a VAE's KL divergence), scaled as the loss's.
        let mut total = N::layer_loss(chunk, p) * f64::from(scale);
        let Chunk { acts, deltas, .. } = chunk;
        let grad_out = &mut deltas[0];
        let out = output::<N>(acts, x, p);
        for_each_output_row::<N>(p, |j, rows, padded| {
            let index = p.first + j;
            total +=
                f64::from(loss.sample_loss(&out[rows.clone()], &targets[index], index, scale, &mut grad_out[rows])?);
            grad_out[padded].fill(0.0);
            Ok(())
        })?;
        Ok(total)
    };
    let (backprop, params, mut slots) = match gradients {
        Gradients::None => (Backprop::No, false, None),
        Gradients::Params => (Backprop::Params, true, None),
        Gradients::Inputs { slots, params: true } => (Backprop::ParamsAndInput, true, Some(slots)),
        Gradients::Inputs { slots, params: false } => (Backprop::InputOnly, false, Some(slots)),
    };
    let mut finals = finals;
    let mut collect = |chunk: &Chunk, p: &Pass<'_>| {
        if let Some(finals) = finals.as_deref_mut() {
            copy_states::<N>(chunk, p, finals);
        }
        if let Some(slots) = slots.as_deref_mut() {
            copy_input_gradient::<N>(chunk, p, slots);
        }
    };
    let wants = Wants { backprop, gradient: params, loss_scale: scale };
    let total = run_mut(net, xs, initial, wants, &per_chunk, &mut collect)?;
    Ok(total as f32)
}
