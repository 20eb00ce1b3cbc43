//! `Conv2d`: 2-D cross-correlation with square kernels, stride and zero padding. The forward pass is a direct
//! convolution where it applies (stride 1, no padding) and im2col + GEMM otherwise; so is the weight gradient; the
//! input gradient is a GEMM folded back with col2im.

use super::{Backward, Forward, Init, Layer, Op};
use crate::kernels::{
    col2im_add, conv2d_direct, conv2d_direct_weight_grad, direct_applies, gemm, im2col, ConvGeometry, MatRef,
    MAX_DIRECT_GRAD_KERNEL,
};
use crate::sample::{view, view_mut};
use crate::Rng;

/// A convolution of a `C×H×W` input with `O` kernels of `C×K×K`, stride `S`, padding `P`.
///
/// Output shape: `O × OH × OW` with `OH = (H + 2P − K)/S + 1`, `OW = (W + 2P − K)/S + 1`. Parameters in
/// PyTorch's layout: `weight` `[O][C][K][K]`, then `bias` `[O]` when `BIAS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const BIAS: bool,
> {
    offset: usize,
    init: Init,
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const O: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const BIAS: bool,
    > Conv2d<C, H, W, O, K, S, P, BIAS>
{
    const GEOMETRY: ConvGeometry = ConvGeometry { channels: C, height: H, width: W, kernel: K, stride: S, padding: P };
    /// Output height.
    pub const OUT_HEIGHT: usize = Self::GEOMETRY.out_height();
    /// Output width.
    pub const OUT_WIDTH: usize = Self::GEOMETRY.out_width();
    const POSITIONS: usize = Self::GEOMETRY.col_cols();
    const PATCH: usize = C * K * K;

    /// A layer whose parameters start at `offset` in the network's parameter buffer.
    pub const fn new(offset: usize, init: Init) -> Self {
        Self { offset, init }
    }

    /// Where this layer's parameters start in the network's parameter buffer.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The kernels `[O][C][K][K]` inside a network's parameters.
    pub fn weight<'p>(&self, params: &'p [f32]) -> &'p [[[[f32; K]; K]; C]; O] {
        view(&params[self.offset..self.offset + O * Self::PATCH])
    }

    /// The kernels, mutably.
    pub fn weight_mut<'p>(&self, params: &'p mut [f32]) -> &'p mut [[[[f32; K]; K]; C]; O] {
        view_mut(&mut params[self.offset..self.offset + O * Self::PATCH])
    }

    /// The bias `[O]`, if the layer has one.
    pub fn bias<'p>(&self, params: &'p [f32]) -> Option<&'p [f32; O]> {
        let start = self.offset + O * Self::PATCH;
        BIAS.then(|| view(&params[start..start + O]))
    }

    /// The bias, mutably, if the layer has one.
    pub fn bias_mut<'p>(&self, params: &'p mut [f32]) -> Option<&'p mut [f32; O]> {
        let start = self.offset + O * Self::PATCH;
        BIAS.then(|| view_mut(&mut params[start..start + O]))
    }
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const O: usize,
        const K: usize,
        const S: usize,
        const P: usize,
        const BIAS: bool,
    > Layer for Conv2d<C, H, W, O, K, S, P, BIAS>
{
    const IN: usize = C * H * W;
    const OUT: usize = O * Self::POSITIONS;
    const PARAMS: usize = O * Self::PATCH + if BIAS { O } else { 0 };
    /// One sample's column matrix, its gradient, and the transposed weight gradient during backward.
    const SCRATCH: usize = 2 * Self::PATCH * Self::POSITIONS + Self::PATCH * O;
    /// The column matrix, unless the direct convolution runs.
    const FORWARD_SCRATCH: usize = if direct_applies(&Self::GEOMETRY) { 0 } else { Self::PATCH * Self::POSITIONS };

    fn init(&self, params: &mut [f32], _buffers: &mut [f32], rng: &mut Rng) {
        let (w, b) = params.split_at_mut(O * Self::PATCH);
        self.init.fill_weights(w, Self::PATCH, O * K * K, rng);
        self.init.fill_bias(b, Self::PATCH, rng);
    }

    fn op(&self) -> Op {
        Op::Conv2d { input: [C, H, W], outputs: O, kernel: K, stride: S, padding: P, bias: BIAS }
    }

    fn forward(&self, f: Forward<'_>) {
        let Forward { params, x, y, scratch, .. } = f;
        let (w, b) = params.split_at(O * Self::PATCH);
        if direct_applies(&Self::GEOMETRY) {
            let bias = if BIAS { Some(b) } else { None };
            for (x, y) in x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT)) {
                conv2d_direct(&Self::GEOMETRY, w, bias, x, y);
            }
            return;
        }
        let col = &mut scratch[..Self::PATCH * Self::POSITIONS];
        let weights = MatRef::row_major(w, O, Self::PATCH);
        for (x, y) in x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT)) {
            im2col(&Self::GEOMETRY, x, col);
            // Y[O×L] = W[O×CKK] · col[CKK×L]
            gemm(weights, MatRef::row_major(col, Self::PATCH, Self::POSITIONS), 0.0, y);
            if BIAS {
                for (row, &bias) in y.chunks_exact_mut(Self::POSITIONS).zip(b) {
                    row.iter_mut().for_each(|v| *v += bias);
                }
            }
        }
    }

    fn backward(&self, io: Backward<'_>) {
        let Backward { params, grads, scratch, .. } = io;
        let (dw, db) = grads.split_at_mut(O * Self::PATCH);
        let (col, rest) = scratch[..Self::SCRATCH].split_at_mut(Self::PATCH * Self::POSITIONS);
        let (dcol, dw_t) = rest.split_at_mut(Self::PATCH * Self::POSITIONS);
        let weights = MatRef::row_major(&params[..O * Self::PATCH], O, Self::PATCH);
        let mut dx_chunks = io.dx.map(|dx| dx.chunks_exact_mut(Self::IN));
        db.fill(0.0);
        let direct = direct_applies(&Self::GEOMETRY) && K <= MAX_DIRECT_GRAD_KERNEL;
        // A pass that holds the network fixed wants only dX.
        let params_wanted = io.pass.param_grads;
        if direct && !io.x.is_empty() && params_wanted {
            // Straight from the input rows, summed over the chunk: no column matrix at all.
            conv2d_direct_weight_grad(&Self::GEOMETRY, io.dy, io.x, dw);
        }
        for (sample, (x, dy)) in io.x.chunks_exact(Self::IN).zip(io.dy.chunks_exact(Self::OUT)).enumerate() {
            let dy_mat = MatRef::row_major(dy, O, Self::POSITIONS);
            if !direct && params_wanted {
                // The column matrix is rebuilt rather than kept from forward: keeping it would cost `n` times
                // the memory. dWᵀ[CKK×O] (+)= col · dYᵀ, transposed into dW after the last sample: in this
                // orientation the operand read across its rows is the small dYᵀ (L×O), not col (L×CKK).
                im2col(&Self::GEOMETRY, x, col);
                let beta = if sample == 0 { 0.0 } else { 1.0 };
                gemm(MatRef::row_major(col, Self::PATCH, Self::POSITIONS), dy_mat.t(), beta, dw_t);
            }
            if BIAS && params_wanted {
                for (g, row) in db.iter_mut().zip(dy.chunks_exact(Self::POSITIONS)) {
                    *g += row.iter().sum::<f32>();
                }
            }
            if let Some(dx) = dx_chunks.as_mut().and_then(Iterator::next) {
                // dcol[CKK×L] = Wᵀ · dY, folded back onto the image.
                gemm(weights.t(), dy_mat, 0.0, dcol);
                dx.fill(0.0);
                col2im_add(&Self::GEOMETRY, dcol, dx);
            }
        }
        if io.x.is_empty() {
            dw.fill(0.0);
        } else if !direct && params_wanted {
            for (o, row) in dw.chunks_exact_mut(Self::PATCH).enumerate() {
                for (q, v) in row.iter_mut().enumerate() {
                    *v = dw_t[q * O + o];
                }
            }
        }
    }
}
