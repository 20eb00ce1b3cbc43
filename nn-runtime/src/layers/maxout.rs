//! `Maxout<I, O, K>` (Goodfellow et al. 2013): each of `O` units is the maximum of `K` affine pieces of the input,
//! `yₒ = maxₖ (W₍ₒ,ₖ₎·x + b₍ₒ,ₖ₎)` — a learned, piecewise-linear convex activation.

use super::{Backward, Forward, Init, Layer, Op};
use crate::kernels::{add_row_vector, gemm, sum_rows_into, MatRef};
use crate::Rng;

/// A maxout layer from `I` features to `O` units of `K` pieces each. Its tensors are `weight` `[O·K, I]` and
/// `bias` `[O·K]`, piece `k` of unit `o` at row `o·K + k` — the layout of a PyTorch `nn.Linear(I, O·K)` followed by
/// `.view(-1, O, K).max(-1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Maxout<const I: usize, const O: usize, const K: usize> {
    offset: usize,
    init: Init,
}

impl<const I: usize, const O: usize, const K: usize> Maxout<I, O, K> {
    /// A layer whose parameters start at `offset` in the network's parameter buffer.
    pub const fn new(offset: usize, init: Init) -> Self {
        Self { offset, init }
    }

    /// The piece weights `[O·K][I]` inside a network's parameters.
    pub fn weight<'p>(&self, params: &'p [f32]) -> &'p [[f32; I]] {
        params[self.offset..self.offset + O * K * I].as_chunks().0
    }

    /// The piece biases `[O·K]`.
    pub fn bias<'p>(&self, params: &'p [f32]) -> &'p [f32] {
        &params[self.offset + O * K * I..self.offset + O * K * I + O * K]
    }

    /// All pieces `z[n×O·K] = X·Wᵀ + b`.
    fn pieces(params: &[f32], x: &[f32], z: &mut [f32]) {
        let (w, b) = params.split_at(O * K * I);
        let n = x.len() / I;
        gemm(MatRef::row_major(x, n, I), MatRef::row_major(w, O * K, I).t(), 0.0, z);
        add_row_vector(z, b);
    }
}

/// Index of the largest of `pieces` (the first on ties; the first NaN if there is one, so NaN propagates as
/// through max pooling and PyTorch's `max`).
fn winner(pieces: &[f32]) -> usize {
    crate::sample::argmax(pieces)
}

impl<const I: usize, const O: usize, const K: usize> Layer for Maxout<I, O, K> {
    const IN: usize = I;
    const OUT: usize = O;
    const PARAMS: usize = O * K * I + O * K;
    /// The pieces of each row, and their gradient in backward.
    const SCRATCH_PER_ROW: usize = 2 * O * K;
    /// The pieces.
    const FORWARD_SCRATCH_PER_ROW: usize = O * K;

    fn init(&self, params: &mut [f32], _buffers: &mut [f32], rng: &mut Rng) {
        let (w, b) = params.split_at_mut(O * K * I);
        self.init.fill_weights(w, I, O * K, rng);
        self.init.fill_bias(b, I, rng);
    }

    fn op(&self) -> Op {
        Op::Maxout { inputs: I, outputs: O, pieces: K }
    }

    fn forward(&self, f: Forward<'_>) {
        let Forward { params, x, y, scratch, .. } = f;
        let z = &mut scratch[..x.len() / I * O * K];
        Self::pieces(params, x, z);
        for (y, unit) in y.iter_mut().zip(z.chunks_exact(K)) {
            *y = unit[winner(unit)];
        }
    }

    fn backward(&self, io: Backward<'_>) {
        let Backward { params, grads, scratch, .. } = io;
        let n = io.x.len() / I;
        // The pieces are recomputed rather than kept from forward: scratch is shared by all layers.
        let (z, dz) = scratch[..2 * n * O * K].split_at_mut(n * O * K);
        Self::pieces(params, io.x, z);
        dz.fill(0.0);
        for ((unit, dunit), &dy) in z.chunks_exact(K).zip(dz.chunks_exact_mut(K)).zip(io.dy) {
            dunit[winner(unit)] = dy;
        }
        let (dw, db) = grads.split_at_mut(O * K * I);
        gemm(MatRef::row_major(dz, n, O * K).t(), MatRef::row_major(io.x, n, I), 0.0, dw);
        db.fill(0.0);
        sum_rows_into(dz, db);
        if let Some(dx) = io.dx {
            gemm(MatRef::row_major(dz, n, O * K), MatRef::row_major(&params[..O * K * I], O * K, I), 0.0, dx);
        }
    }
}
