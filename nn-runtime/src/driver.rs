//! Runs one pass over a batch: forward, a per-chunk step in the middle (a loss gradient, copying outputs, ...),
//! optionally backward, then a reduction of every chunk in chunk order.
//!
//! Two schedules give the same numbers a network's layers define:
//! - **fused** (every network in eval mode, and networks without batch norm): each chunk runs forward, middle
//!   and backward in one go on a workspace of its thread, in waves of one chunk per thread;
//! - **staged** (training through batch norm, whose statistics span the whole batch): every chunk keeps its own
//!   workspace for the whole pass; all chunks run forward up to the next batch-norm layer, the statistics are
//!   reduced in chunk order, and so on; backward mirrors it.
//!
//! Each chunk's work depends only on its own samples and on reductions made in chunk order, so both schedules
//! give the same bits for every thread count.

use crate::network::Network;
use crate::pass::{Mode, Pass};
use crate::sample::Sample;
use crate::workspace::{State, Workspace, CHUNK};
use crate::Result;

/// What a pass computes besides the forward pass.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backprop {
    /// Forward only.
    No,
    /// Parameter gradients.
    Params,
    /// Parameter gradients and the gradient with respect to the input (left in `Workspace::dx`).
    ParamsAndInput,
}

/// The flat input of chunk `c`.
pub(crate) fn chunk_input<N: Network>(xs: &[N::Input], c: usize) -> &[f32] {
    N::Input::flat(&xs[c * CHUNK..(c * CHUNK + CHUNK).min(xs.len())])
}

/// Runs a pass over `xs`: forward; `middle(net, ws, x, c)` on each chunk (which may set `ws.error`); backward as
/// `backprop` says (starting from `ws.grad_out`), with the chunks' parameter gradients summed into `grads` (which
/// needs no clearing); then `reduce(ws, c)` on the calling thread in chunk order. Nothing is allocated once the
/// workspaces exist. A pass in training mode advances the network's step counter.
pub(crate) fn run<N: Network>(
    net: &mut N,
    xs: &[N::Input],
    middle: impl Fn(&N, &mut Workspace, &[f32], usize) + Sync,
    backprop: Backprop,
    grads: &mut [f32],
    mut reduce: impl FnMut(&mut Workspace, usize) -> Result<()>,
) -> Result<()> {
    let mut st = std::mem::take(net.state_mut());
    let grads = if backprop == Backprop::No { None } else { Some(grads) };
    let result = if st.mode == Mode::Train && !N::NORMS.is_empty() {
        staged(net, &mut st, xs, &middle, backprop, grads, &mut reduce)
    } else {
        fused(net, &mut st, xs, &middle, backprop, grads, &mut reduce)
    };
    if st.mode == Mode::Train {
        // A counter that only keys dropout masks: wrapping after 2⁶⁴ passes is harmless, and a checkpoint may
        // restore any value.
        st.step = st.step.wrapping_add(1);
    }
    *net.state_mut() = st;
    result
}

/// The pass context of chunk `c`.
fn pass<'a>(st_mode: Mode, seed: u64, step: u64, c: usize, batch: usize, norms: &'a [f32]) -> Pass<'a> {
    Pass { mode: st_mode, seed, step, first: c * CHUNK, batch, norms }
}

/// Forward, middle and backward of one chunk in one go.
fn fused<N: Network>(
    net: &N,
    st: &mut State,
    xs: &[N::Input],
    middle: &(impl Fn(&N, &mut Workspace, &[f32], usize) + Sync),
    backprop: Backprop,
    mut grads: Option<&mut [f32]>,
    reduce: &mut impl FnMut(&mut Workspace, usize) -> Result<()>,
) -> Result<()> {
    st.ensure::<N>(1);
    let chunks = xs.len().div_ceil(CHUNK);
    let width = st.width(chunks);
    let (mode, seed, step, batch) = (st.mode, st.seed, st.step, xs.len());
    let work = |ws: &mut Workspace, c: usize| {
        let x = chunk_input::<N>(xs, c);
        let p = pass(mode, seed, step, c, batch, &[]);
        net.forward_chunk(x, ws, &p, None);
        middle(net, ws, x, c);
        if backprop != Backprop::No && ws.error.is_none() {
            backward_chunk(net, ws, x, &p, None, backprop);
        }
    };
    for start in (0..chunks).step_by(width.max(1)) {
        let wave = &mut st.workspaces[..width.min(chunks - start)];
        for_each_chunk(st.pool.as_deref(), wave, start, &work);
        if let Some(e) = wave.iter_mut().find_map(|ws| ws.error.take()) {
            return Err(e);
        }
        if let Some(grads) = grads.as_deref_mut() {
            sum_gradients(st.pool.as_deref(), grads, wave, start == 0);
        }
        for (i, ws) in wave.iter_mut().enumerate() {
            reduce(ws, start + i)?;
        }
    }
    Ok(())
}

/// Stage by stage, every chunk on its own workspace, with batch-norm reductions between stages.
fn staged<N: Network>(
    net: &mut N,
    st: &mut State,
    xs: &[N::Input],
    middle: &(impl Fn(&N, &mut Workspace, &[f32], usize) + Sync),
    backprop: Backprop,
    grads: Option<&mut [f32]>,
    reduce: &mut impl FnMut(&mut Workspace, usize) -> Result<()>,
) -> Result<()> {
    let chunks = xs.len().div_ceil(CHUNK);
    if chunks == 0 {
        return Ok(());
    }
    st.ensure::<N>(chunks);
    let (mode, seed, step, batch) = (st.mode, st.seed, st.step, xs.len());
    let State { workspaces, norms, pool, .. } = st;
    let wss = &mut workspaces[..chunks];
    let pool = pool.as_deref();
    let stages = N::NORMS.len() + 1;
    for s in 0..stages {
        for_each_chunk(pool, wss, 0, &|ws: &mut Workspace, c| {
            let p = pass(mode, seed, step, c, batch, norms);
            net.forward_chunk(chunk_input::<N>(xs, c), ws, &p, Some(s));
        });
        if let Some(norm) = N::NORMS.get(s) {
            norm.reduce_stats(wss, batch, norms, Some(net.buffers_mut()))?;
        }
    }
    let net = &*net;
    for_each_chunk(pool, wss, 0, &|ws: &mut Workspace, c| middle(net, ws, chunk_input::<N>(xs, c), c));
    if let Some(e) = wss.iter_mut().find_map(|ws| ws.error.take()) {
        return Err(e);
    }
    if backprop != Backprop::No {
        for s in (0..stages).rev() {
            for_each_chunk(pool, wss, 0, &|ws: &mut Workspace, c| {
                let p = pass(mode, seed, step, c, batch, norms);
                backward_chunk(net, ws, chunk_input::<N>(xs, c), &p, Some(s), backprop);
            });
            if s > 0 {
                N::NORMS[s - 1].reduce_grad_sums(wss, norms);
            }
        }
    }
    if let Some(grads) = grads {
        sum_gradients(pool, grads, wss, true);
    }
    for (c, ws) in wss.iter_mut().enumerate() {
        reduce(ws, c)?;
    }
    Ok(())
}

/// Parameters per piece of the parallel gradient sum (256 KiB: big enough to outweigh handing a piece to a
/// thread, small enough to share out the sum of a 100,000-parameter network).
const SUM_PIECE: usize = 1 << 16;

/// Sums the parameter gradients of a wave of chunks into `total`, in chunk order, onto the wave's first gradient
/// if `first` (so `total` needs no clearing), else onto `total`. Pieces of the parameter range go to the pool's
/// threads; every value is still summed in chunk order, so the bits do not depend on the thread count.
fn sum_gradients(pool: Option<&rayon::ThreadPool>, total: &mut [f32], wave: &[Workspace], first: bool) {
    let sum_piece = |i: usize, piece: &mut [f32]| {
        let range = i * SUM_PIECE..i * SUM_PIECE + piece.len();
        let mut chunks = wave.iter().map(|ws| &ws.grads[range.clone()]);
        if first {
            // The first two in one pass: the same bits as copying the first and adding the second.
            let g0 = chunks.next().expect("a wave has at least one chunk");
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

/// Backward of one chunk (or one stage of it), with the input gradient into `ws.dx` if asked.
fn backward_chunk<N: Network>(
    net: &N,
    ws: &mut Workspace,
    x: &[f32],
    p: &Pass<'_>,
    stage: Option<usize>,
    backprop: Backprop,
) {
    if backprop == Backprop::ParamsAndInput {
        let mut dx = std::mem::take(&mut ws.dx);
        net.backward_chunk(x, ws, Some(&mut dx[..x.len()]), p, stage);
        ws.dx = dx;
    } else {
        net.backward_chunk(x, ws, None, p, stage);
    }
}

/// `work(ws, first + i)` for each workspace `i` — on the pool when there is one and more than one chunk.
fn for_each_chunk(
    pool: Option<&rayon::ThreadPool>,
    wss: &mut [Workspace],
    first: usize,
    work: &(impl Fn(&mut Workspace, usize) + Sync),
) {
    match (pool, wss.len()) {
        (Some(pool), 2..) => {
            use rayon::prelude::*;
            pool.install(|| wss.par_iter_mut().enumerate().for_each(|(i, ws)| work(ws, first + i)));
        }
        _ => wss.iter_mut().enumerate().for_each(|(i, ws)| work(ws, first + i)),
    }
}
