//! `ConvTranspose2d`: the transposed convolution (PyTorch's `nn.ConvTranspose2d`), the adjoint of a `Conv2d` —
//! each input value spreads a `K×K` kernel over the output, `stride` apart. The forward pass is a product
//! folded onto the output with col2im; backward unfolds the output gradient with im2col.

use super::{Backward, Forward, Init, Layer, Op};
use crate::kernels::{col2im_add, gemm, im2col, ConvGeometry, MatRef};
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
    /// One sample's column matrix.
    const SCRATCH: usize = Self::PATCH * Self::POSITIONS;

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
        let col = &mut scratch[..Self::SCRATCH];
        // col[OKK×HW] = Wᵀ[OKK×C] · x[C×HW], folded onto the output.
        let weights = MatRef::row_major(w, C, Self::PATCH).t();
        for (x, y) in x.chunks_exact(Self::IN).zip(y.chunks_exact_mut(Self::OUT)) {
            gemm(weights, MatRef::row_major(x, C, Self::POSITIONS), 0.0, col);
            y.fill(0.0);
            col2im_add(&Self::GEOMETRY, col, y);
            if BIAS {
                let plane = Self::OUT_HEIGHT * Self::OUT_WIDTH;
                for (row, &bias) in y.chunks_exact_mut(plane).zip(b) {
                    row.iter_mut().for_each(|v| *v += bias);
                }
            }
        }
    }

    fn backward(&self, io: Backward<'_>) {
        let Backward { params, x, dy, dx, grads, scratch, pass, .. } = io;
        let (dw, db) = grads.split_at_mut(C * Self::PATCH);
        let col = &mut scratch[..Self::SCRATCH];
        let weights = MatRef::row_major(&params[..C * Self::PATCH], C, Self::PATCH);
        let mut dx = dx.map(|d| d.chunks_exact_mut(Self::IN));
        db.fill(0.0);
        if x.is_empty() {
            dw.fill(0.0);
        }
        for (sample, (x, dy)) in x.chunks_exact(Self::IN).zip(dy.chunks_exact(Self::OUT)).enumerate() {
            im2col(&Self::GEOMETRY, dy, col);
            let dcol = MatRef::row_major(col, Self::PATCH, Self::POSITIONS);
            // dW[C×OKK] (+)= x[C×HW] · dcolᵀ[HW×OKK], unless the pass holds the network fixed.
            let beta = if sample == 0 { 0.0 } else { 1.0 };
            if pass.param_grads {
                gemm(MatRef::row_major(x, C, Self::POSITIONS), dcol.t(), beta, dw);
            }
            if BIAS && pass.param_grads {
                let plane = Self::OUT_HEIGHT * Self::OUT_WIDTH;
                for (g, row) in db.iter_mut().zip(dy.chunks_exact(plane)) {
                    *g += row.iter().sum::<f32>();
                }
            }
            if let Some(dx) = dx.as_mut().and_then(Iterator::next) {
                // dx[C×HW] = W[C×OKK] · dcol[OKK×HW].
                gemm(weights, dcol, 0.0, dx);
            }
        }
    }
}
