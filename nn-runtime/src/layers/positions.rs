//! Positions added to a sequence's steps: `PositionalEmbedding<MAX_LEN, E>` (learned, `weight` `[MAX_LEN, E]`)
//! and `PositionalEncoding<MAX_LEN>` (Vaswani et al.'s fixed sinusoids).
//!
//! Step `t` of a sample gets row `t` of the table. A pass with no backward pass after it (inference, a stream's
//! steps) starts at the position its state holds and leaves the next one there, so a sequence fed one step at a
//! time gets the positions it gets whole; a training pass starts at 0. The network refuses a sequence longer than
//! `MAX_LEN` before any layer runs.

use super::{Backward, Forward, Layer, Op, Pass};
use crate::kernels::math;
use crate::Rng;

/// The first position of chunk sample `i` in this pass, and its length; the state moves on past it.
fn span(pass: &Pass<'_>, state: &mut [f32], i: usize, max_len: usize) -> (usize, usize) {
    let len = pass.lengths.get(i).copied().unwrap_or(pass.steps);
    if pass.backward {
        return (0, len);
    }
    let start = state[i] as usize;
    assert!(start + len <= max_len, "position {} is past the {max_len} positions of the table", start + len - 1);
    state[i] = (start + len) as f32;
    (start, len)
}

/// Learned positions: `y[t] = x[t] + weight[t]`, `weight` `[MAX_LEN, E]` as an `nn.Embedding(MAX_LEN, E)` would
/// hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PositionalEmbedding<const MAX_LEN: usize, const E: usize> {
    offset: usize,
}

impl<const MAX_LEN: usize, const E: usize> PositionalEmbedding<MAX_LEN, E> {
    /// A layer whose table starts at `offset` in the network's parameter buffer.
    pub const fn new(offset: usize) -> Self {
        Self { offset }
    }

    /// The table `[MAX_LEN][E]` inside a network's parameters.
    pub fn weight<'p>(&self, params: &'p [f32]) -> &'p [[f32; E]; MAX_LEN] {
        crate::view(&params[self.offset..self.offset + MAX_LEN * E])
    }
}

impl<const MAX_LEN: usize, const E: usize> Layer for PositionalEmbedding<MAX_LEN, E> {
    const IN: usize = E;
    const OUT: usize = E;
    const PARAMS: usize = MAX_LEN * E;
    /// The next position.
    const STATE: usize = 1;

    fn init(&self, params: &mut [f32], _buffers: &mut [f32], rng: &mut Rng) {
        // N(0, 0.02²), as GPT-2 and ViT initialise their position tables.
        params.iter_mut().for_each(|w| *w = rng.normal(0.0, 0.02));
    }

    fn op(&self) -> Op {
        Op::PositionalEmbedding { max_len: MAX_LEN, dim: E }
    }

    fn forward(&self, f: Forward<'_>) {
        let Forward { params, x, y, state, pass, .. } = f;
        let t = pass.steps;
        y.copy_from_slice(x);
        for i in 0..pass.samples {
            let (start, len) = span(pass, state, i, MAX_LEN);
            let rows = &mut y[i * t * E..][..len * E];
            for (row, w) in rows.chunks_exact_mut(E).zip(params[start * E..].chunks_exact(E)) {
                row.iter_mut().zip(w).for_each(|(y, w)| *y += w);
            }
        }
    }

    fn backward(&self, b: Backward<'_>) {
        let Backward { dy, dx, grads, pass, .. } = b;
        let t = pass.steps;
        grads.fill(0.0);
        for i in 0..pass.samples {
            let len = pass.lengths.get(i).copied().unwrap_or(t);
            let rows = &dy[i * t * E..][..len * E];
            for (g, d) in grads.chunks_exact_mut(E).zip(rows.chunks_exact(E)) {
                g.iter_mut().zip(d).for_each(|(g, d)| *g += d);
            }
        }
        if let Some(dx) = dx {
            dx.copy_from_slice(dy);
        }
    }
}

/// Fixed positions (Vaswani et al. 2017, §3.5): `y[t] = x[t] + PE(t)`, `PE(t, 2i) = sin(t / 10000^(2i/E))` and
/// `PE(t, 2i+1) = cos(t / 10000^(2i/E))`, as PyTorch's tutorial `PositionalEncoding` computes them. No
/// parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PositionalEncoding<const MAX_LEN: usize, const E: usize>;

/// `PE(position, j)` of a table `dim` wide: computed in f64, rounded once.
pub fn sinusoid(position: usize, j: usize, dim: usize) -> f32 {
    let rate = math::exp_f64(-((j - j % 2) as f64) * math::ln_f64(10000.0) / dim as f64);
    let angle = position as f64 * rate;
    (if j.is_multiple_of(2) { math::sin_f64(angle) } else { math::cos_f64(angle) }) as f32
}

impl<const MAX_LEN: usize, const E: usize> PositionalEncoding<MAX_LEN, E> {
    /// The layer.
    pub const fn new() -> Self {
        Self
    }
}

impl<const MAX_LEN: usize, const E: usize> Layer for PositionalEncoding<MAX_LEN, E> {
    const IN: usize = E;
    const OUT: usize = E;
    /// The next position.
    const STATE: usize = 1;

    fn op(&self) -> Op {
        Op::PositionalEncoding { max_len: MAX_LEN, dim: E }
    }

    fn forward(&self, f: Forward<'_>) {
        let Forward { x, y, state, pass, .. } = f;
        let t = pass.steps;
        y.copy_from_slice(x);
        for i in 0..pass.samples {
            let (start, len) = span(pass, state, i, MAX_LEN);
            for (r, row) in y[i * t * E..][..len * E].chunks_exact_mut(E).enumerate() {
                row.iter_mut().enumerate().for_each(|(j, y)| *y += sinusoid(start + r, j, E));
            }
        }
    }

    fn backward(&self, b: Backward<'_>) {
        if let Some(dx) = b.dx {
            dx.copy_from_slice(b.dy);
        }
    }
}
