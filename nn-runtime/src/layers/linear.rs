//! `Linear<I, O>`: `y = W·x + b`, with PyTorch's layout (`weight` is `[O][I]`, then `bias` `[O]`).

use super::{Backward, Forward, Init, Layer, Op};
use crate::kernels::{add_row_vector, gemm, sum_rows_into, MatRef};
use crate::sample::{view, view_mut};
use crate::Rng;

/// A fully connected layer from `I` to `O` features; `BIAS` says whether it has a bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linear<const I: usize, const O: usize, const BIAS: bool> {
    offset: usize,
    init: Init,
}

impl<const I: usize, const O: usize, const BIAS: bool> Linear<I, O, BIAS> {
    /// A layer whose parameters start at `offset` in the network's parameter buffer.
    pub const fn new(offset: usize, init: Init) -> Self {
        Self { offset, init }
    }

    /// Where this layer's parameters start in the network's parameter buffer.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The initialisation scheme.
    pub const fn init_scheme(&self) -> Init {
        self.init
    }

    /// The weight matrix `[O][I]` inside a network's parameters.
    pub fn weight<'p>(&self, params: &'p [f32]) -> &'p [[f32; I]; O] {
        view(&params[self.offset..self.offset + O * I])
    }

    /// The weight matrix, mutably.
    pub fn weight_mut<'p>(&self, params: &'p mut [f32]) -> &'p mut [[f32; I]; O] {
        view_mut(&mut params[self.offset..self.offset + O * I])
    }

    /// The bias `[O]`, if the layer has one.
    pub fn bias<'p>(&self, params: &'p [f32]) -> Option<&'p [f32; O]> {
        BIAS.then(|| view(&params[self.offset + O * I..self.offset + O * I + O]))
    }

    /// The bias, mutably, if the layer has one.
    pub fn bias_mut<'p>(&self, params: &'p mut [f32]) -> Option<&'p mut [f32; O]> {
        BIAS.then(|| view_mut(&mut params[self.offset + O * I..self.offset + O * I + O]))
    }
}

impl<const I: usize, const O: usize, const BIAS: bool> Layer for Linear<I, O, BIAS> {
    const IN: usize = I;
    const OUT: usize = O;
    const PARAMS: usize = O * I + if BIAS { O } else { 0 };

    fn init(&self, params: &mut [f32], _buffers: &mut [f32], rng: &mut Rng) {
        let (w, b) = params.split_at_mut(O * I);
        self.init.fill_weights(w, I, O, rng);
        self.init.fill_bias(b, I, rng);
    }

    fn op(&self) -> Op {
        Op::Linear { inputs: I, outputs: O, bias: BIAS }
    }

    fn forward(&self, f: Forward<'_>) {
        let n = f.x.len() / I;
        let (w, b) = f.params.split_at(O * I);
        // Y[n×O] = X[n×I] · Wᵀ (the GEMM computes it as `W·Xᵀ` to read W in place; one row is a
        // matrix-vector product).
        gemm(MatRef::row_major(f.x, n, I), MatRef::row_major(w, O, I).t(), 0.0, f.y);
        if BIAS {
            add_row_vector(f.y, b);
        }
    }

    fn backward(&self, b: Backward<'_>) {
        let n = b.x.len() / I;
        let (dw, db) = b.grads.split_at_mut(O * I);
        if b.pass.param_grads {
            // dW[O×I] = dYᵀ · X
            gemm(MatRef::row_major(b.dy, n, O).t(), MatRef::row_major(b.x, n, I), 0.0, dw);
            if BIAS {
                db.fill(0.0);
                sum_rows_into(b.dy, db);
            }
        }
        if let Some(dx) = b.dx {
            // dX[n×I] = dY · W
            gemm(MatRef::row_major(b.dy, n, O), MatRef::row_major(&b.params[..O * I], O, I), 0.0, dx);
        }
    }
}
