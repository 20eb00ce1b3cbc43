//! Runs one pass over a batch: forward; a per-chunk step in the middle (a loss and its gradient, or nothing)
//! whose results are summed in chunk order; optionally backward, with the chunks' parameter gradients summed in
//! chunk order; then `collect` on each chunk in chunk order (copying outputs, input gradients or final states
//! out).
//!
//! Two schedules give the same numbers:
//! - **fused** (eval mode, and networks without whole-batch layers): each chunk runs forward, middle and
//!   backward in one go, in waves of one chunk per thread;
//! - **staged** (training through a layer whose statistics span the whole batch, such as batch norm): every
//!   chunk keeps its own buffers for the whole pass; all chunks run forward up to the next such layer, its
//!   partial sums are added up in chunk order and turned into statistics by the layer, and so on; backward
//!   mirrors it. The driver knows these layers only by their place in [`Plan::stages`](super::info::Plan).
//!
//! Sequences of any length are gathered chunk by chunk into a buffer of `samples × longest` rows, zero-padded;
//! layers see each sample's length in the [`Pass`]. Each chunk's work depends only on its own samples and on
//! reductions made in chunk order, so both schedules give the same bits for every thread count.

use super::buffers::Model;
use super::info::{Plan, Stage};
use super::pass::{Extent, Mode, Pass};
use super::workspace::{Chunk, Parallelism, Slot, Workspace, CHUNK};
use super::Network;
use crate::kernels::Helpers;
use crate::layers::BatchTooSmall;
use crate::sample::Example;
use crate::{Error, Result};

/// What a pass computes besides the forward pass.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backprop {
    /// Forward only.
    No,
    /// Parameter gradients.
    Params,
    /// Parameter gradients and the gradient with respect to the input (left in `Chunk::dx`).
    ParamsAndInput,
    /// The gradient with respect to the input only, the network held fixed: no parameter gradient, and batch norm
    /// in training mode normalises with the batch's statistics without updating its running ones.
    InputOnly,
}

impl Backprop {
    /// Whether the pass computes the gradient with respect to its input.
    fn input(self) -> bool {
        matches!(self, Backprop::ParamsAndInput | Backprop::InputOnly)
    }

    /// Whether the pass computes the parameter gradient.
    fn params(self) -> bool {
        matches!(self, Backprop::Params | Backprop::ParamsAndInput)
    }
}

/// A network's buffers as a pass gets them: read-only, or writable for the running statistics a staged
/// training pass updates.
pub(crate) enum Buffers<'a> {
    Shared(&'a [f32]),
    Exclusive(&'a mut [f32]),
}

impl Buffers<'_> {
    /// The buffers to read, however they were lent.
    fn read(&self) -> &[f32] {
        match self {
            Buffers::Shared(b) => b,
            Buffers::Exclusive(b) => b,
        }
    }
}

/// Everything about the network a pass reads besides its buffers.
pub(crate) struct Run<'a> {
    pub params: &'a [f32],
    pub mode: Mode,
    pub seed: u64,
    pub step: u64,
    pub parallelism: Parallelism,
    pub pool: Option<&'a Helpers>,
    /// The samples' initial states, `N::PLAN.state()` values each (zeros when `None`).
    pub initial: Option<&'a [f32]>,
    /// What the pass computes besides the forward pass.
    pub backprop: Backprop,
    /// How the pass's loss scales its terms (see [`Pass::loss_scale`]); 0 without a loss.
    pub loss_scale: f32,
}

/// The middle step of a pass: given a chunk run forward, its flat input and its pass, a number to sum over the
/// batch (a loss), or an error.
pub(crate) trait Middle: Fn(&mut Chunk, &[f32], &Pass<'_>) -> Result<f64> + Sync {}
impl<F: Fn(&mut Chunk, &[f32], &Pass<'_>) -> Result<f64> + Sync> Middle for F {}

/// Work on one chunk of a staged pass: its buffers, its flat input and its pass.
type ChunkWork<'a> = dyn Fn(&mut Chunk, &[f32], &Pass<'_>) -> Result<f64> + Sync + 'a;

/// The extent of each chunk of a pass over `xs`: its samples and its longest sequence, with or without a
/// `backward` pass (`CHUNK` samples of one row for inputs without a time axis, so that one sizing serves every
/// batch).
pub(super) fn extents<N: Network>(xs: &[N::Input], backward: bool) -> impl Iterator<Item = Extent> + Clone + '_ {
    let plan = N::PLAN;
    let steps = move |x: &N::Input| x.values().len() / plan.input.max(1);
    xs.chunks(CHUNK).map(move |chunk| match plan.sequence_input {
        false => Extent { samples: CHUNK, steps: 1, backward },
        true => Extent { samples: chunk.len(), steps: chunk.iter().map(steps).max().unwrap_or(1).max(1), backward },
    })
}

/// Refuses a sample of `xs` the network cannot read: a token id that is not below its vocabulary, or a sequence
/// longer than its positions. The error names the sample's index (counted from `offset`) and what is wrong.
pub(crate) fn check_inputs<N: Network>(xs: &[N::Input], offset: usize) -> Result<()> {
    let plan = N::PLAN;
    if plan.max_steps > 0 && plan.sequence_input {
        for (j, x) in xs.iter().enumerate() {
            let steps = x.values().len() / plan.input.max(1);
            if steps > plan.max_steps {
                let (max, layer) = (plan.max_steps, plan.max_steps_layer);
                return Err(Error::SequenceTooLong { index: offset + j, steps, max, layer });
            }
        }
    }
    let vocab = plan.tokens;
    if !<N::Input as Example>::TOKENS {
        return Ok(());
    }
    for (j, x) in xs.iter().enumerate() {
        if let Some((position, token)) =
            x.values().iter().map(|v| v.to_bits()).enumerate().find(|&(_, t)| t as usize >= vocab)
        {
            return Err(Error::TokenOutOfRange { index: offset + j, position, token, vocab });
        }
    }
    Ok(())
}

/// Gathers chunk `c` of `xs` into `slot`: its geometry, its input if the samples are sequences of any length
/// (padded to the longest), and the initial states of its recurrent layers.
fn prepare<N: Network>(xs: &[N::Input], c: usize, slot: &mut Slot, initial: Option<&[f32]>) -> Result<()> {
    let plan = N::PLAN;
    let range = c * CHUNK..(c * CHUNK + CHUNK).min(xs.len());
    slot.samples = range.len();
    slot.lengths.clear();
    slot.steps = match <N::Input as Example>::FIXED_LEN {
        Some(len) if plan.sequence_input => len / plan.input.max(1),
        Some(_) => 1,
        None => {
            for (j, x) in xs[range.clone()].iter().enumerate() {
                match x.values().len() / plan.input.max(1) {
                    0 => return Err(Error::EmptySequence { index: range.start + j }),
                    steps => slot.lengths.push(steps),
                }
            }
            let steps = slot.lengths.iter().copied().max().unwrap_or(1);
            let row = steps * plan.input;
            for (x, dst) in xs[range.clone()].iter().zip(slot.input.chunks_exact_mut(row)) {
                let values = x.values();
                dst[..values.len()].copy_from_slice(values);
                dst[values.len()..].fill(0.0);
            }
            steps
        }
    };
    load_states(&plan, &mut slot.chunk.states, slot.samples, initial.map(|i| &i[range.start * plan.state()..]));
    Ok(())
}

/// Loads the initial states of a chunk's `samples` samples (`plan.state()` values each, from the start of
/// `initial`; zeros when `None`) into its layers' state buffers.
pub(super) fn load_states(plan: &Plan, states: &mut [Vec<f32>], samples: usize, initial: Option<&[f32]>) {
    let total = plan.state();
    let mut offset = 0;
    for (buffer, &len) in states.iter_mut().zip(plan.states) {
        let buffer = &mut buffer[..samples * len];
        match initial {
            Some(initial) if len > 0 => {
                for (j, dst) in buffer.chunks_exact_mut(len).enumerate() {
                    dst.copy_from_slice(&initial[j * total + offset..][..len]);
                }
            }
            _ => buffer.fill(0.0),
        }
        offset += len;
    }
}

/// The flat input of chunk `c` of `xs`, prepared in `slot`: the samples themselves when they are fixed-size,
/// else the gathered copy.
fn chunk_input<'a, N: Network>(
    xs: &'a [N::Input],
    c: usize,
    slot_input: &'a [f32],
    samples: usize,
    steps: usize,
) -> &'a [f32] {
    let range = c * CHUNK..(c * CHUNK + CHUNK).min(xs.len());
    match <N::Input as Example>::flat_slice(&xs[range]) {
        Some(x) => x,
        None => &slot_input[..samples * steps * N::PLAN.input],
    }
}

/// The pass of the chunk in `slot` (chunk `c` of a batch of `batch` samples).
fn pass<'a>(run: &Run<'_>, c: usize, batch: usize, samples: usize, steps: usize, lengths: &'a [usize]) -> Pass<'a> {
    let (mode, seed, step, first, backward) = (run.mode, run.seed, run.step, c * CHUNK, run.backprop != Backprop::No);
    let (param_grads, loss_scale) = (run.backprop.params(), run.loss_scale);
    Pass { mode, seed, step, first, batch, samples, steps, lengths, backward, param_grads, loss_scale }
}

/// Runs a pass over `xs` (see the module documentation); returns the sum of `middle`'s results in chunk order,
/// or the first error in chunk order. Nothing is allocated once the workspace holds the batch's longest sample.
pub(crate) fn run<N: Network>(
    run: &Run<'_>,
    buffers: Buffers<'_>,
    ws: &mut Workspace,
    xs: &[N::Input],
    grads: Option<&mut [f32]>,
    middle: &impl Middle,
    collect: &mut impl FnMut(&Chunk, &Pass<'_>),
) -> Result<f64> {
    let chunks = xs.len().div_ceil(CHUNK);
    if chunks == 0 {
        return Ok(0.0);
    }
    // Every sample of the batch before any chunk runs: a bad one changes nothing.
    check_inputs::<N>(xs, 0)?;
    let backprop = run.backprop;
    let grads = if backprop.params() { grads } else { None };
    let staged = run.mode == Mode::Train && !N::PLAN.stages.is_empty();
    let width = if staged {
        chunks
    } else if run.pool.is_some() {
        run.parallelism.width(chunks)
    } else {
        1
    };
    ws.ensure(std::any::type_name::<N>(), &N::PLAN, N::PARAMS, width, extents::<N>(xs, backprop != Backprop::No));
    match (staged, buffers) {
        (true, Buffers::Exclusive(buffers)) => staged_pass::<N>(run, buffers, ws, xs, grads, middle, collect),
        (true, Buffers::Shared(_)) => unreachable!("a training pass through whole-batch layers needs &mut buffers"),
        (false, buffers) => fused::<N>(run, buffers.read(), ws, width, xs, grads, middle, collect),
    }
}

/// Forward, middle and backward of one chunk in one go, `width` chunks at a time.
#[allow(clippy::too_many_arguments)]
fn fused<N: Network>(
    run: &Run<'_>,
    buffers: &[f32],
    ws: &mut Workspace,
    width: usize,
    xs: &[N::Input],
    mut grads: Option<&mut [f32]>,
    middle: &impl Middle,
    collect: &mut impl FnMut(&Chunk, &Pass<'_>),
) -> Result<f64> {
    let backprop = run.backprop;
    let chunks = xs.len().div_ceil(CHUNK);
    let model = Model { params: run.params, buffers };
    // Whole-batch layers read no statistics outside a staged pass; they get the (unused) space anyway.
    let Workspace { slots, stats, .. } = ws;
    let stats = &*stats;
    let work = |slot: &mut Slot, c: usize| -> Result<f64> {
        prepare::<N>(xs, c, slot, run.initial)?;
        let Slot { chunk, input, lengths, samples, steps, .. } = slot;
        let x = chunk_input::<N>(xs, c, input, *samples, *steps);
        let p = pass(run, c, xs.len(), *samples, *steps, lengths);
        N::forward_chunk(model, chunk, x, &p, stats, None);
        let result = middle(chunk, x, &p);
        if backprop != Backprop::No && result.is_ok() {
            N::backward_chunk(model, chunk, x, backprop.input(), &p, stats, None);
        }
        result
    };
    let mut total = 0.0;
    for start in (0..chunks).step_by(width) {
        let wave = &mut slots[..width.min(chunks - start)];
        for_each_chunk(run, wave, start, &work);
        for slot in wave.iter_mut() {
            total += std::mem::replace(&mut slot.result, Ok(0.0))?;
        }
        if let Some(grads) = grads.as_deref_mut() {
            sum_gradients(run.pool, grads, wave, start == 0);
        }
        for (i, slot) in wave.iter().enumerate() {
            collect(&slot.chunk, &pass(run, start + i, xs.len(), slot.samples, slot.steps, &slot.lengths));
        }
    }
    Ok(total)
}

/// Stage by stage, every chunk on its own buffers, with the whole-batch layers' reductions between stages.
fn staged_pass<N: Network>(
    run: &Run<'_>,
    buffers: &mut [f32],
    ws: &mut Workspace,
    xs: &[N::Input],
    grads: Option<&mut [f32]>,
    middle: &impl Middle,
    collect: &mut impl FnMut(&Chunk, &Pass<'_>),
) -> Result<f64> {
    let backprop = run.backprop;
    let chunks = xs.len().div_ceil(CHUNK);
    let Workspace { slots, stats, sums, .. } = ws;
    let wss = &mut slots[..chunks];
    let stages = N::PLAN.stages;
    let whole = pass(run, 0, xs.len(), xs.len().min(CHUNK), 1, &[]);
    for_each_chunk(run, wss, 0, &|slot: &mut Slot, c| prepare::<N>(xs, c, slot, run.initial).map(|()| 0.0));
    for slot in wss.iter_mut() {
        std::mem::replace(&mut slot.result, Ok(0.0))?;
    }
    // Runs `body(chunk, x, pass)` on every chunk.
    let each = |wss: &mut [Slot], body: &ChunkWork<'_>| {
        for_each_chunk(run, wss, 0, &|slot: &mut Slot, c| {
            let Slot { chunk, input, lengths, samples, steps, .. } = slot;
            let x = chunk_input::<N>(xs, c, input, *samples, *steps);
            body(chunk, x, &pass(run, c, xs.len(), *samples, *steps, lengths))
        });
    };
    for s in 0..=stages.len() {
        let model = Model { params: run.params, buffers: &*buffers };
        let stats_now = &*stats;
        each(wss, &|chunk, x, p| {
            N::forward_chunk(model, chunk, x, p, stats_now, Some(s));
            Ok(0.0)
        });
        if let Some(stage) = stages.get(s) {
            let sums = add_partials(stage, wss, sums);
            // A pass that holds the network fixed updates no running statistics.
            let buffers = if backprop == Backprop::InputOnly { &mut [][..] } else { &mut *buffers };
            let (stats, buffers) = stage_slices(stage, stats, buffers);
            N::finish_stats(s, false, sums, &whole, stats, buffers).map_err(|e| too_small(e, stage))?;
        }
    }
    let model = Model { params: run.params, buffers: &*buffers };
    each(wss, middle);
    let mut total = 0.0;
    for slot in wss.iter_mut() {
        total += std::mem::replace(&mut slot.result, Ok(0.0))?;
    }
    if backprop != Backprop::No {
        let dx = backprop.input();
        for s in (0..=stages.len()).rev() {
            let stats_now = &*stats;
            each(wss, &|chunk, x, p| {
                N::backward_chunk(model, chunk, x, dx, p, stats_now, Some(s));
                Ok(0.0)
            });
            if let Some(stage) = s.checked_sub(1).map(|j| &stages[j]) {
                let sums = add_partials(stage, wss, sums);
                let (stats, _) = stage_slices(stage, stats, &mut []);
                N::finish_stats(s - 1, true, sums, &whole, stats, &mut []).map_err(|e| too_small(e, stage))?;
            }
        }
    }
    if let Some(grads) = grads {
        sum_gradients(run.pool, grads, wss, true);
    }
    for (c, slot) in wss.iter().enumerate() {
        collect(&slot.chunk, &pass(run, c, xs.len(), slot.samples, slot.steps, &slot.lengths));
    }
    Ok(total)
}

/// The partial sums of `stage` added up over the chunks in chunk order, in f64.
fn add_partials<'s>(stage: &Stage, slots: &[Slot], sums: &'s mut [f64]) -> &'s [f64] {
    let sums = &mut sums[..stage.partials_len];
    sums.fill(0.0);
    for slot in slots {
        let partials = &slot.chunk.partials[stage.partials..stage.partials + stage.partials_len];
        for (s, &p) in sums.iter_mut().zip(partials) {
            *s += p;
        }
    }
    sums
}

/// `stage`'s statistics and (if `buffers` is the network's) buffers.
fn stage_slices<'a, 'b>(stage: &Stage, stats: &'a mut [f32], buffers: &'b mut [f32]) -> (&'a mut [f32], &'b mut [f32]) {
    let stats = &mut stats[stage.stats..stage.stats + stage.stats_len];
    let buffers =
        if buffers.is_empty() { buffers } else { &mut buffers[stage.buffers..stage.buffers + stage.buffers_len] };
    (stats, buffers)
}

/// The error of `stage`'s layer, whose batch is too small for its statistics, naming the layer.
fn too_small(error: BatchTooSmall, stage: &Stage) -> Error {
    Error::BatchTooSmall { layer: stage.name, values: error.values }
}

/// Parameters per piece of the parallel gradient sum (256 KiB: big enough to outweigh handing a piece to a
/// thread, small enough to share out the sum of a 100,000-parameter network).
const SUM_PIECE: usize = 1 << 16;

/// Sums the parameter gradients of a wave of chunks into `total`, in chunk order, onto the wave's first gradient
/// if `first` (so `total` needs no clearing), else onto `total`. Pieces of the parameter range go to the network's
/// threads; every value is still summed in chunk order, so the bits do not depend on the thread count.
fn sum_gradients(pool: Option<&Helpers>, total: &mut [f32], wave: &[Slot], first: bool) {
    let sum_piece = |start: usize, piece: &mut [f32]| {
        let range = start..start + piece.len();
        let mut chunks = wave.iter().map(|slot| &slot.chunk.grads[range.clone()]);
        if first {
            // The first two in one pass: the same bits as copying the first and adding the second.
            let Some(g0) = chunks.next() else { return };
            match chunks.next() {
                Some(g1) => piece.iter_mut().zip(g0).zip(g1).for_each(|((t, &a), &b)| *t = a + b),
                None => piece.copy_from_slice(g0),
            }
        }
        chunks.for_each(|g| crate::kernels::add_assign(piece, g));
    };
    match pool {
        Some(pool) if total.len() > SUM_PIECE => {
            pool.for_each_piece(total, SUM_PIECE, &|i, piece| sum_piece(i * SUM_PIECE, piece));
        }
        _ => sum_piece(0, total),
    }
}

/// `slot.result = work(slot, first + i)` for each slot — slot `i` on thread `i mod n` of the network's `n`
/// threads when it has helpers and there is more than one chunk; a single chunk on the calling thread, its large
/// products shared with the helpers when there are some.
fn for_each_chunk(
    run: &Run<'_>,
    slots: &mut [Slot],
    first: usize,
    work: &(impl Fn(&mut Slot, usize) -> Result<f64> + Sync),
) {
    match (run.pool, slots.len()) {
        (Some(pool), 2..) => pool.for_each_piece(slots, 1, &|i, slot| slot[0].result = work(&mut slot[0], first + i)),
        (Some(pool), 1) => crate::kernels::with_helpers(pool, || slots[0].result = work(&mut slots[0], first)),
        _ => {
            for (i, slot) in slots.iter_mut().enumerate() {
                slot.result = work(slot, first + i);
            }
        }
    }
}
