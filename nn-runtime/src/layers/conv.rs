//! `Conv2d`: 2-D cross-correlation with square kernels, stride and zero padding. The forward pass is a direct
//! convolution where it applies (stride 1, no padding) and im2col + GEMM otherwise; so is the weight gradient; the
//! input gradient is a GEMM folded back with col2im. The products run over groups of samples (`conv_groups`).

use super::conv_groups::{add_bias, bias_grad, group, product_per_sample, side_by_side, transpose};
use super::{Backward, Forward, Init, Layer, Op};
use crate::kernels::{
    col2im_add_from, conv2d_direct, conv2d_direct_weight_grad, direct_applies, gemm, im2col_into, ConvGeometry, MatRef,
    MAX_DIRECT_GRAD_KERNEL,
};
use crate::net::Extent;
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
    /// One sample's column matrix, for `forward_static`.
    const FORWARD_SCRATCH: usize = if direct_applies(&Self::GEOMETRY) { 0 } else { Self::PATCH * Self::POSITIONS };

    /// A group's column matrix (and its gradient, and its output gradient side by side, in backward; its outputs
    /// side by side in a forward pass of several samples).
    fn scratch_len(extent: Extent) -> usize {
        let samples = group(Self::PATCH * Self::POSITIONS, extent.rows());
        let (cols, outputs) = (samples * Self::PATCH * Self::POSITIONS, samples * Self::OUT);
        match extent.backward {
            // … and the transposed weight gradient.
            true => 2 * cols + outputs + Self::PATCH * O,
            false if direct_applies(&Self::GEOMETRY) => 0,
            false => cols + if samples > 1 { outputs } else { 0 },
        }
    }

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
        let (len, weights) = (Self::POSITIONS, MatRef::row_major(w, O, Self::PATCH));
        let size = group(Self::PATCH * len, x.len() / Self::IN) * Self::IN;
        for (xs, ys) in x.chunks(size).zip(y.chunks_mut(size / Self::IN * Self::OUT)) {
            let ld = xs.len() / Self::IN * len;
            let (col, outputs) = scratch.split_at_mut(Self::PATCH * ld);
            for (s, x) in xs.chunks_exact(Self::IN).enumerate() {
                im2col_into(&Self::GEOMETRY, x, &mut col[s * len..], ld);
            }
            // Y[O×G·L] = W[O×CKK] · col[CKK×G·L]; one sample's Y is its output as it is.
            let col = MatRef::row_major(col, Self::PATCH, ld);
            product_per_sample(weights, col, len, outputs, ys);
            if BIAS {
                add_bias(ys, len, b);
            }
        }
    }

    fn backward(&self, io: Backward<'_>) {
        let Backward { params, grads, scratch, x, dy, dx, pass, .. } = io;
        let (dw, db) = grads.split_at_mut(O * Self::PATCH);
        let (weights, len) = (MatRef::row_major(&params[..O * Self::PATCH], O, Self::PATCH), Self::POSITIONS);
        let direct = direct_applies(&Self::GEOMETRY) && K <= MAX_DIRECT_GRAD_KERNEL;
        // A pass that holds the network fixed wants only dX.
        let params_wanted = pass.param_grads;
        if params_wanted {
            bias_grad(dy, len, db);
            if x.is_empty() {
                dw.fill(0.0);
            } else if direct {
                // Straight from the input rows, summed over the chunk: no column matrix at all.
                conv2d_direct_weight_grad(&Self::GEOMETRY, dy, x, dw);
            }
        }
        let columns = !direct && params_wanted && !x.is_empty();
        if !columns && dx.is_none() {
            return;
        }
        let samples = dy.len() / Self::OUT;
        let size = group(Self::PATCH * len, samples);
        let mut dx = dx.map(|d| d.chunks_mut(size * Self::IN));
        for (k, dys) in dy.chunks(size * Self::OUT).enumerate() {
            let ld = dys.len() / Self::OUT * len;
            let (dw_t, rest) = scratch.split_at_mut(Self::PATCH * O);
            let (col, rest) = rest.split_at_mut(Self::PATCH * ld);
            let (dcol, rest) = rest.split_at_mut(Self::PATCH * ld);
            // The group's output gradient dY[O×G·L] (one sample's is its gradient as it is).
            let dy_group = MatRef::row_major(side_by_side(dys, O, len, rest), O, ld);
            if columns {
                // The column matrices are rebuilt rather than kept from forward, which would cost their size per
                // sample. dWᵀ[CKK×O] (+)= col · dYᵀ, summed over the group's positions inside the product, and
                // transposed into dW after the last group: in this orientation the large column matrix is read in
                // place (row-major A) and only the small dYᵀ is packed.
                let xs = &x[k * size * Self::IN..][..dys.len() / Self::OUT * Self::IN];
                for (s, x) in xs.chunks_exact(Self::IN).enumerate() {
                    im2col_into(&Self::GEOMETRY, x, &mut col[s * len..], ld);
                }
                let beta = if k == 0 { 0.0 } else { 1.0 };
                gemm(MatRef::row_major(col, Self::PATCH, ld), dy_group.t(), beta, dw_t);
            }
            if let Some(dxs) = dx.as_mut().and_then(Iterator::next) {
                // dcol[CKK×G·L] = Wᵀ · dY, folded back onto each sample's image.
                gemm(weights.t(), dy_group, 0.0, dcol);
                dxs.fill(0.0);
                for (s, dx) in dxs.chunks_exact_mut(Self::IN).enumerate() {
                    col2im_add_from(&Self::GEOMETRY, &dcol[s * len..], ld, dx);
                }
            }
        }
        if columns {
            transpose(&scratch[..Self::PATCH * O], Self::PATCH, dw);
        }
    }
}
