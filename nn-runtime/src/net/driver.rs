//! Runs one pass over a batch: forward; a per-chunk step in the middle (a loss and its gradient, or nothing)
//! whose results are summed in chunk order; optionally backward, with the chunks' parameter gradients summed in
//! chunk order; then `collect` on each chunk in chunk order (copying outputs or input gradients out).
//!
//! Two schedules give the same numbers:
//! - **fused** (eval mode, and networks without whole-batch layers): each chunk runs forward, middle and
//!   backward in one go, in waves of one chunk per thread;
//! - **staged** (training through a layer whose statistics span the whole batch, such as batch norm): every
//!   chunk keeps its own buffers for the whole pass; all chunks run forward up to the next such layer, its
//!   partial sums are added up in chunk order and turned into statistics by the layer, and so on; backward
//!   mirrors it. The driver knows these layers only by their place in [`Plan::stages`](super::info::Plan).
//!
//! Each chunk's work depends only on its own samples and on reductions made in chunk order, so both schedules
//! give the same bits for every thread count.

use super::info::Stage;
use super::pass::{Mode, Pass};
use super::workspace::{Chunk, Parallelism, Workspace, CHUNK};
use super::Network;
use crate::sample::Sample;
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
}

/// A network's buffers as a pass gets them: read-only, or writable for the running statistics a staged
/// training pass updates.
pub(crate) enum Buffers<'a> {
    Shared(&'a [f32]),
    Exclusive(&'a mut [f32]),
}

/// Everything about the network a pass reads besides its buffers.
pub(crate) struct Run<'a> {
    pub params: &'a [f32],
    pub mode: Mode,
    pub seed: u64,
    pub step: u64,
    pub parallelism: Parallelism,
    pub pool: Option<&'a rayon::ThreadPool>,
}

/// The parameters and buffers the generated passes read (generated code; not for users).
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Model<'a> {
    /// Every parameter.
    pub params: &'a [f32],
    /// Every buffer value.
    pub buffers: &'a [f32],
}

/// The flat input of chunk `c`.
pub(crate) fn chunk_input<N: Network>(xs: &[N::Input], c: usize) -> &[f32] {
    N::Input::flat(&xs[c * CHUNK..(c * CHUNK + CHUNK).min(xs.len())])
}

/// Runs a pass over `xs` (see the module documentation); returns the sum of `middle`'s results in chunk order,
/// or the first error in chunk order. Nothing is allocated once the workspace has been sized.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run<N: Network>(
    run: &Run<'_>,
    buffers: Buffers<'_>,
    ws: &mut Workspace,
    xs: &[N::Input],
    backprop: Backprop,
    grads: Option<&mut [f32]>,
    middle: &(impl Fn(&mut Chunk, &[f32], usize) -> Result<f64> + Sync),
    collect: &mut impl FnMut(&Chunk, usize),
) -> Result<f64> {
    let chunks = xs.len().div_ceil(CHUNK);
    if chunks == 0 {
        return Ok(0.0);
    }
    let grads = if backprop == Backprop::No { None } else { grads };
    let staged = run.mode == Mode::Train && !N::PLAN.stages.is_empty();
    let backward = backprop != Backprop::No;
    match (staged, buffers) {
        (true, Buffers::Exclusive(buffers)) => {
            ws.ensure(std::any::type_name::<N>(), &N::PLAN, N::PARAMS, chunks, CHUNK, backward);
            staged_pass::<N>(run, buffers, ws, xs, backprop, grads, middle, collect)
        }
        (true, Buffers::Shared(_)) => unreachable!("a training pass through whole-batch layers needs &mut buffers"),
        (false, Buffers::Shared(buffers)) => fused::<N>(run, buffers, ws, xs, backprop, grads, middle, collect),
        (false, Buffers::Exclusive(buffers)) => fused::<N>(run, buffers, ws, xs, backprop, grads, middle, collect),
    }
}

/// The pass context of chunk `c` of a batch of `batch` samples.
fn pass(run: &Run<'_>, c: usize, batch: usize) -> Pass<'static> {
    let samples = (batch - c * CHUNK).min(CHUNK);
    Pass { mode: run.mode, seed: run.seed, step: run.step, first: c * CHUNK, batch, samples, steps: 1, lengths: &[] }
}

/// Forward, middle and backward of one chunk in one go.
#[allow(clippy::too_many_arguments)]
fn fused<N: Network>(
    run: &Run<'_>,
    buffers: &[f32],
    ws: &mut Workspace,
    xs: &[N::Input],
    backprop: Backprop,
    mut grads: Option<&mut [f32]>,
    middle: &(impl Fn(&mut Chunk, &[f32], usize) -> Result<f64> + Sync),
    collect: &mut impl FnMut(&Chunk, usize),
) -> Result<f64> {
    let chunks = xs.len().div_ceil(CHUNK);
    let width = if run.pool.is_some() { run.parallelism.width(chunks) } else { 1 };
    ws.ensure(std::any::type_name::<N>(), &N::PLAN, N::PARAMS, width, CHUNK, backprop != Backprop::No);
    let model = Model { params: run.params, buffers };
    // Whole-batch layers read no statistics outside a staged pass; they get the (unused) space anyway.
    let Workspace { chunks: all, results: all_results, stats, .. } = ws;
    let stats = &*stats;
    let work = |chunk: &mut Chunk, c: usize| -> Result<f64> {
        let x = chunk_input::<N>(xs, c);
        let p = pass(run, c, xs.len());
        N::forward_chunk(model, chunk, x, &p, stats, None);
        let result = middle(chunk, x, c);
        if backprop != Backprop::No && result.is_ok() {
            N::backward_chunk(model, chunk, x, backprop == Backprop::ParamsAndInput, &p, stats, None);
        }
        result
    };
    let mut total = 0.0;
    for start in (0..chunks).step_by(width) {
        let wave = width.min(chunks - start);
        let (wave_chunks, results) = (&mut all[..wave], &mut all_results[..wave]);
        for_each_chunk(run.pool, wave_chunks, results, start, &work);
        for result in results.iter_mut() {
            total += std::mem::replace(result, Ok(0.0))?;
        }
        if let Some(grads) = grads.as_deref_mut() {
            sum_gradients(run.pool, grads, wave_chunks, start == 0);
        }
        for (i, chunk) in wave_chunks.iter().enumerate() {
            collect(chunk, start + i);
        }
    }
    Ok(total)
}

/// Stage by stage, every chunk on its own buffers, with the whole-batch layers' reductions between stages.
#[allow(clippy::too_many_arguments)]
fn staged_pass<N: Network>(
    run: &Run<'_>,
    buffers: &mut [f32],
    ws: &mut Workspace,
    xs: &[N::Input],
    backprop: Backprop,
    grads: Option<&mut [f32]>,
    middle: &(impl Fn(&mut Chunk, &[f32], usize) -> Result<f64> + Sync),
    collect: &mut impl FnMut(&Chunk, usize),
) -> Result<f64> {
    let chunks = xs.len().div_ceil(CHUNK);
    let Workspace { chunks: all, results, stats, sums, .. } = ws;
    let (wss, results) = (&mut all[..chunks], &mut results[..chunks]);
    let stages = N::PLAN.stages;
    let whole = pass(run, 0, xs.len());
    for s in 0..=stages.len() {
        let model = Model { params: run.params, buffers: &*buffers };
        let stats_now = &*stats;
        for_each_chunk(run.pool, wss, results, 0, &|chunk: &mut Chunk, c| {
            N::forward_chunk(model, chunk, chunk_input::<N>(xs, c), &pass(run, c, xs.len()), stats_now, Some(s));
            Ok(0.0)
        });
        if let Some(stage) = stages.get(s) {
            let sums = add_partials(stage, wss, sums);
            let (stats, buffers) = stage_slices(stage, stats, buffers);
            N::finish_stats(s, false, sums, &whole, stats, buffers).map_err(|e| name_layer(e, stage))?;
        }
    }
    let model = Model { params: run.params, buffers: &*buffers };
    for_each_chunk(run.pool, wss, results, 0, &|chunk: &mut Chunk, c| middle(chunk, chunk_input::<N>(xs, c), c));
    let mut total = 0.0;
    for result in results.iter_mut() {
        total += std::mem::replace(result, Ok(0.0))?;
    }
    if backprop != Backprop::No {
        let dx = backprop == Backprop::ParamsAndInput;
        for s in (0..=stages.len()).rev() {
            let stats_now = &*stats;
            for_each_chunk(run.pool, wss, results, 0, &|chunk: &mut Chunk, c| {
                let p = pass(run, c, xs.len());
                N::backward_chunk(model, chunk, chunk_input::<N>(xs, c), dx, &p, stats_now, Some(s));
                Ok(0.0)
            });
            if let Some(stage) = s.checked_sub(1).map(|j| &stages[j]) {
                let sums = add_partials(stage, wss, sums);
                let (stats, _) = stage_slices(stage, stats, &mut []);
                N::finish_stats(s - 1, true, sums, &whole, stats, &mut []).map_err(|e| name_layer(e, stage))?;
            }
        }
    }
    if let Some(grads) = grads {
        sum_gradients(run.pool, grads, wss, true);
    }
    for (c, chunk) in wss.iter().enumerate() {
        collect(chunk, c);
    }
    Ok(total)
}

/// The partial sums of `stage` added up over the chunks in chunk order, in f64.
fn add_partials<'s>(stage: &Stage, chunks: &[Chunk], sums: &'s mut [f64]) -> &'s [f64] {
    let sums = &mut sums[..stage.partials_len];
    sums.fill(0.0);
    for chunk in chunks {
        for (s, &p) in sums.iter_mut().zip(&chunk.partials[stage.partials..stage.partials + stage.partials_len]) {
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

/// A layer's error with the layer's name filled in.
fn name_layer(error: Error, stage: &Stage) -> Error {
    match error {
        Error::BatchTooSmall { values, .. } => Error::BatchTooSmall { layer: stage.name, values },
        other => other,
    }
}

/// Parameters per piece of the parallel gradient sum (256 KiB: big enough to outweigh handing a piece to a
/// thread, small enough to share out the sum of a 100,000-parameter network).
const SUM_PIECE: usize = 1 << 16;

/// Sums the parameter gradients of a wave of chunks into `total`, in chunk order, onto the wave's first gradient
/// if `first` (so `total` needs no clearing), else onto `total`. Pieces of the parameter range go to the pool's
/// threads; every value is still summed in chunk order, so the bits do not depend on the thread count.
fn sum_gradients(pool: Option<&rayon::ThreadPool>, total: &mut [f32], wave: &[Chunk], first: bool) {
    let sum_piece = |i: usize, piece: &mut [f32]| {
        let range = i * SUM_PIECE..i * SUM_PIECE + piece.len();
        let mut chunks = wave.iter().map(|ws| &ws.grads[range.clone()]);
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
            use rayon::prelude::*;
            pool.install(|| total.par_chunks_mut(SUM_PIECE).enumerate().for_each(|(i, p)| sum_piece(i, p)));
        }
        _ => total.chunks_mut(SUM_PIECE).enumerate().for_each(|(i, p)| sum_piece(i, p)),
    }
}

/// `results[i] = work(chunk i, first + i)` for each chunk — on the pool when there is one and more than one
/// chunk.
fn for_each_chunk(
    pool: Option<&rayon::ThreadPool>,
    chunks: &mut [Chunk],
    results: &mut [Result<f64>],
    first: usize,
    work: &(impl Fn(&mut Chunk, usize) -> Result<f64> + Sync),
) {
    match (pool, chunks.len()) {
        (Some(pool), 2..) => {
            use rayon::prelude::*;
            pool.install(|| {
                chunks.par_iter_mut().zip(results.par_iter_mut()).enumerate().for_each(|(i, (chunk, result))| {
                    *result = work(chunk, first + i);
                });
            });
        }
        _ => {
            for (i, (chunk, result)) in chunks.iter_mut().zip(results.iter_mut()).enumerate() {
                *result = work(chunk, first + i);
            }
        }
    }
}
