//! `ConvTranspose2d`: the transposed convolution (PyTorch's `nn.ConvTranspose2d`), the adjoint of a `Conv2d` —
//! each input value spreads a `K×K` kernel over the output, `stride` apart. The forward pass is a product
//! folded onto the output with col2im; backward unfolds the output gradient with im2col. The products run over
//! groups of samples (`conv_groups`).

use super::conv_groups::{add_bias, bias_grad, group, product_per_sample, side_by_side, transpose};
use super::{Backward, Forward, Init, Layer, Op};
use crate::kernels::{col2im_add_from, gemm, im2col_into, ConvGeometry, MatRef};
use crate::net::Extent;
use crate::sample::{view, view_mut};
use crate::Rng;

/// A transposed convolution of a `C×H×W` input into `O` channels, square kernels `K`, stride `S`, padding `P`,
/// output padding `OP` (`< S`).
///
/// Output shape: `O × OH × OW` with `OH = (H − 1)·S − 2P + K + OP` (and so `OW`). Parameters in PyTorch's layout:
/// `weight` `[C][O][K][K]`, then `bias` `[O]` when `BIAS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvTranspose2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const O: usize,
    const K: usize,
    const S: usize,
    const P: usize,
    const OP: usize,
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
        const OP: usize,
        const BIAS: bool,
    > ConvTranspose2d<C, H, W, O, K, S, P, OP, BIAS>
{
    /// Output height.
    pub const OUT_HEIGHT: usize = (H - 1) * S + K + OP - 2 * P;
    /// Output width.
    pub const OUT_WIDTH: usize = (W - 1) * S + K + OP - 2 * P;
    /// The convolution this layer is the adjoint of: from the output `O×OH×OW` back to the input's positions.
    const GEOMETRY: ConvGeometry = ConvGeometry {
        channels: O,
        height: Self::OUT_HEIGHT,
        width: Self::OUT_WIDTH,
        kernel: K,
        stride: S,
        padding: P,
    };
    /// Rows of the column matrix: `O·K·K`.
    const PATCH: usize = O * K * K;
    const POSITIONS: usize = H * W;

    /// A layer whose parameters start at `offset` in the network's parameter buffer.
    ///
    /// # Panics
    /// If the output padding is not below the stride, or the sizes do not give the input back through the
    /// adjoint convolution (the `network!` macro rejects both).
    pub const fn new(offset: usize, init: Init) -> Self {
        assert!(OP < S || OP == 0, "output_padding must be smaller than the stride");
        assert!(Self::GEOMETRY.out_height() == H && Self::GEOMETRY.out_width() == W, "consistent geometry");
        Self { offset, init }
    }

    /// The kernels `[C][O][K][K]` inside a network's parameters.
    pub fn weight<'p>(&self, params: &'p [f32]) -> &'p [[[[f32; K]; K]; O]; C] {
        view(&params[self.offset..self.offset + C * Self::PATCH])
    }

    /// The kernels, mutably.
    pub fn weight_mut<'p>(&self, params: &'p mut [f32]) -> &'p mut [[[[f32; K]; K]; O]; C] {
        view_mut(&mut params[self.offset..self.offset + C * Self::PATCH])
    }

    /// The bias `[O]`, if the layer has one.
    pub fn bias<'p>(&self, params: &'p [f32]) -> Option<&'p [f32; O]> {
        let start = self.offset + C * Self::PATCH;
        BIAS.then(|| view(&params[start..start + O]))
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
        const OP: usize,
        const BIAS: bool,
    > Layer for ConvTranspose2d<C, H, W, O, K, S, P, OP, BIAS>
{
    const IN: usize = C * H * W;
    const OUT: usize = O * Self::OUT_HEIGHT * Self::OUT_WIDTH;
    const PARAMS: usize = C * Self::PATCH + if BIAS { O } else { 0 };
    /// One sample's column matrix, for `forward_static`.
    const FORWARD_SCRATCH: usize = Self::PATCH * Self::POSITIONS;

    /// A group's column matrix, and its inputs side by side (and, in backward, their gradients).
    fn scratch_len(extent: Extent) -> usize {
        let samples = group(Self::PATCH * Self::POSITIONS, extent.rows());
        let (cols, inputs) = (samples * Self::PATCH * Self::POSITIONS, samples * Self::IN);
        match extent.backward {
            // … and the transposed weight gradient.
            true => cols + 2 * inputs + Self::PATCH * C,
            false => cols + if samples > 1 { inputs } else { 0 },
        }
    }

    fn init(&self, params: &mut [f32], _buffers: &mut [f32], rng: &mut Rng) {
        // PyTorch's fans of a `[C, O, K, K]` weight: fan_in = O·K·K, fan_out = C·K·K.
        let (w, b) = params.split_at_mut(C * Self::PATCH);
        self.init.fill_weights(w, Self::PATCH, C * K * K, rng);
        self.init.fill_bias(b, Self::PATCH, rng);
    }

    fn op(&self) -> Op {
        Op::ConvTranspose2d {
            input: [C, H, W],
            outputs: O,
            kernel: K,
            stride: S,
            padding: P,
            output_padding: OP,
            bias: BIAS,
        }
    }

    fn forward(&self, f: Forward<'_>) {
        let Forward { params, x, y, scratch, .. } = f;
        let (w, b) = params.split_at(C * Self::PATCH);
        let (len, plane) = (Self::POSITIONS, Self::OUT_HEIGHT * Self::OUT_WIDTH);
        // col[OKK×G·HW] = Wᵀ[OKK×C] · x[C×G·HW], folded onto each sample's output.
        let weights = MatRef::row_major(w, C, Self::PATCH).t();
        let size = group(Self::PATCH * len, x.len() / Self::IN) * Self::IN;
        for (xs, ys) in x.chunks(size).zip(y.chunks_mut(size / Self::IN * Self::OUT)) {
            let ld = xs.len() / Self::IN * len;
            let (col, rest) = scratch.split_at_mut(Self::PATCH * ld);
            gemm(weights, MatRef::row_major(side_by_side(xs, C, len, rest), C, ld), 0.0, col);
            ys.fill(0.0);
            for (s, y) in ys.chunks_exact_mut(Self::OUT).enumerate() {
                col2im_add_from(&Self::GEOMETRY, &col[s * len..], ld, y);
            }
            if BIAS {
                add_bias(ys, plane, b);
            }
        }
    }

    fn backward(&self, io: Backward<'_>) {
        let Backward { params, x, dy, dx, grads, scratch, pass, .. } = io;
        let (dw, db) = grads.split_at_mut(C * Self::PATCH);
        let (len, plane) = (Self::POSITIONS, Self::OUT_HEIGHT * Self::OUT_WIDTH);
        let weights = MatRef::row_major(&params[..C * Self::PATCH], C, Self::PATCH);
        // A pass that holds the network fixed wants only dX.
        let params_wanted = pass.param_grads;
        if params_wanted {
            bias_grad(dy, plane, db);
            if x.is_empty() {
                dw.fill(0.0);
            }
        }
        let weight_grad = params_wanted && !x.is_empty();
        if !weight_grad && dx.is_none() {
            return;
        }
        let size = group(Self::PATCH * len, dy.len() / Self::OUT);
        let mut dx = dx.map(|d| d.chunks_mut(size * Self::IN));
        for (k, dys) in dy.chunks(size * Self::OUT).enumerate() {
            let samples = dys.len() / Self::OUT;
            let ld = samples * len;
            let (dw_t, rest) = scratch.split_at_mut(Self::PATCH * C);
            let (dcol, rest) = rest.split_at_mut(Self::PATCH * ld);
            let (inputs, input_grads) = rest.split_at_mut(C * ld);
            for (s, dy) in dys.chunks_exact(Self::OUT).enumerate() {
                im2col_into(&Self::GEOMETRY, dy, &mut dcol[s * len..], ld);
            }
            let dcol = MatRef::row_major(dcol, Self::PATCH, ld);
            if weight_grad {
                // dWᵀ[OKK×C] (+)= dcol[OKK×G·HW] · xᵀ[G·HW×C], summed over the group's positions in the product and
                // transposed into dW after the last group: the large dcol is read in place, only xᵀ is packed.
                let xs = &x[k * size * Self::IN..][..samples * Self::IN];
                let x_group = side_by_side(xs, C, len, inputs);
                let beta = if k == 0 { 0.0 } else { 1.0 };
                gemm(dcol, MatRef::row_major(x_group, C, ld).t(), beta, dw_t);
            }
            if let Some(dxs) = dx.as_mut().and_then(Iterator::next) {
                // dx[C×G·HW] = W[C×OKK] · dcol[OKK×G·HW].
                product_per_sample(weights, dcol, len, input_grads, dxs);
            }
        }
        if weight_grad {
            transpose(&scratch[..Self::PATCH * C], Self::PATCH, dw);
        }
    }
}
