//! Recurrent layers — `RNN`, `LSTM`, `GRU` — stacked and bidirectional, with PyTorch's equations, parameter names
//! and layouts, trained by backpropagation through time; and the reductions that turn a sequence into a vector
//! (`Last`, `FinalState`, `MeanOverTime`, `MaxOverTime`).
//!
//! A chunk of `n` sequences arrives as `n × T` rows (`T` the chunk's longest; each sample's own length in the
//! pass). For each stacked layer and direction, the input projections of every step are one product
//! (`rows × in` by `in × G·H`), the recurrent product is one product per step over the chunk's samples (`n × H`
//! by `H × G·H`), the gates are computed per sample, and backward gathers the weight gradients of every step into
//! one product each. A sample's steps past its length are skipped (their outputs are zero), and the backward
//! direction starts at each sample's own last step, so a sample's outputs and gradients never depend on the
//! lengths of the other samples in its chunk.

mod cell;
mod reduce;

pub use cell::{Cell, GruCell, LstmCell, RnnRelu, RnnTanh, StepBack};
use cell::{CellBackward, CellForward};
pub use reduce::{FinalState, Last, MaxOverTime, MeanOverTime};

use super::dropout::for_each_factor;
use super::{Backward, Extent, Forward, Layer, Mode, Op, Pass};
use crate::kernels::{gemm, gemm_packed, gemm_rows, math, packed_len, simd, sum_rows_into, with_packed, MatRef};
use crate::Rng;
use core::marker::PhantomData;

/// An Elman RNN (`tanh`) of `L` stacked layers of `H` units, `D` directions (1 or 2), over `IN` features per step.
pub type RNN<const IN: usize, const H: usize, const L: usize, const D: usize, const BIAS: bool> =
    Recurrent<RnnTanh, IN, H, L, D, BIAS>;
/// An Elman RNN with ReLU units (PyTorch's `nonlinearity='relu'`).
pub type ReluRNN<const IN: usize, const H: usize, const L: usize, const D: usize, const BIAS: bool> =
    Recurrent<RnnRelu, IN, H, L, D, BIAS>;
/// An LSTM of `L` stacked layers of `H` units, `D` directions (1 or 2), over `IN` features per step.
pub type LSTM<const IN: usize, const H: usize, const L: usize, const D: usize, const BIAS: bool> =
    Recurrent<LstmCell, IN, H, L, D, BIAS>;
/// A GRU of `L` stacked layers of `H` units, `D` directions (1 or 2), over `IN` features per step.
pub type GRU<const IN: usize, const H: usize, const L: usize, const D: usize, const BIAS: bool> =
    Recurrent<GruCell, IN, H, L, D, BIAS>;

/// How a recurrent layer's weights start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RecurrentInit {
    /// PyTorch's default: every weight and bias uniform in `±1/√H`.
    #[default]
    PyTorch,
    /// The hidden-to-hidden weights orthogonal (each `[G·H, H]` matrix with orthonormal columns, as
    /// `torch.nn.init.orthogonal_`), everything else as PyTorch's default.
    Orthogonal,
}

/// A stack of `L` recurrent layers of cell `C`, `H` units each, in `D` directions (1, or 2 for bidirectional),
/// over `IN` features per step; the output has `H·D` values per step, the forward direction's first.
///
/// Parameters, in PyTorch's `state_dict` order and layouts: for each layer `l` and direction (the reverse one's
/// names end in `_reverse`), `weight_ih_l{l}` `[G·H, in]` (`in` is `IN` for layer 0, `H·D` above), `weight_hh_l{l}`
/// `[G·H, H]`, then, with `BIAS`, `bias_ih_l{l}` and `bias_hh_l{l}` `[G·H]`; the gates' rows in PyTorch's order
/// (LSTM i, f, g, o; GRU r, z, n).
///
/// Its state per sample (`STATE` values, read as the initial state and written as the final one) is PyTorch's
/// `h_n` for that sample, `[L·D, H]` (layer 0 forward, layer 0 reverse, layer 1 forward, …), followed for an
/// LSTM by `c_n` in the same order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Recurrent<C: Cell, const IN: usize, const H: usize, const L: usize, const D: usize, const BIAS: bool> {
    offset: usize,
    dropout: f32,
    stream: u64,
    init: RecurrentInit,
    cell: PhantomData<C>,
}

impl<C: Cell, const IN: usize, const H: usize, const L: usize, const D: usize, const BIAS: bool>
    Recurrent<C, IN, H, L, D, BIAS>
{
    const G: usize = C::GATES * H;
    /// Values per row each (layer, direction) keeps: the previous hidden state, then the cell's own.
    const KEPT: usize = H + C::SAVED * H;

    /// A layer whose parameters start at `offset` in the network's parameter buffer, with dropout `dropout`
    /// between stacked layers (in training) drawn from random stream `stream`, initialised by `init`.
    ///
    /// # Panics
    /// If `D` is not 1 or 2, `L` is 0, or `dropout` is outside `[0, 1)` (the `network!` macro rejects these at
    /// compile time).
    pub const fn new(offset: usize, dropout: f32, stream: u64, init: RecurrentInit) -> Self {
        assert!(D == 1 || D == 2, "one or two directions");
        assert!(L >= 1, "at least one layer");
        assert!(dropout >= 0.0 && dropout < 1.0, "dropout probability must be in [0, 1)");
        Self { offset, dropout, stream, init, cell: PhantomData }
    }

    /// Input features of stacked layer `l`.
    const fn input_of(l: usize) -> usize {
        if l == 0 {
            IN
        } else {
            H * D
        }
    }

    /// Parameters of one (layer `l`, direction): both weight matrices and both biases.
    const fn block(l: usize) -> usize {
        Self::G * Self::input_of(l) + Self::G * H + if BIAS { 2 * Self::G } else { 0 }
    }

    /// Where (layer `l`, direction `d`)'s parameters start, from the layer's own start.
    const fn block_start(l: usize, d: usize) -> usize {
        let mut start = 0;
        let mut k = 0;
        while k < l {
            start += D * Self::block(k);
            k += 1;
        }
        start + d * Self::block(l)
    }

    /// The four tensors of (layer `l`, direction `d`) in `params` (the layer's own): `weight_ih`, `weight_hh`,
    /// `bias_ih`, `bias_hh` (empty without bias).
    fn tensors(params: &[f32], l: usize, d: usize) -> [&[f32]; 4] {
        let (g, input) = (Self::G, Self::input_of(l));
        let block = &params[Self::block_start(l, d)..][..Self::block(l)];
        let (w_ih, rest) = block.split_at(g * input);
        let (w_hh, rest) = rest.split_at(g * H);
        let (b_ih, b_hh) = if BIAS { rest.split_at(g) } else { (&rest[..0], &rest[..0]) };
        [w_ih, w_hh, b_ih, b_hh]
    }

    /// A tensor by its place: weight or bias, input-to-hidden or hidden-to-hidden, of stacked layer `layer` in
    /// direction `reverse`, inside a network's parameters.
    fn view<'p>(&self, params: &'p [f32], layer: usize, reverse: bool, which: usize) -> &'p [f32] {
        assert!(layer < L && (!reverse || D == 2), "no layer {layer} (reverse: {reverse}) in this stack");
        let own = &params[self.offset..self.offset + <Self as Layer>::PARAMS];
        Self::tensors(own, layer, usize::from(reverse))[which]
    }

    /// `weight_ih_l{layer}` (`_reverse`): `[G·H, in]`, row-major.
    ///
    /// # Panics
    /// If there is no such layer or direction.
    pub fn weight_ih<'p>(&self, params: &'p [f32], layer: usize, reverse: bool) -> &'p [f32] {
        self.view(params, layer, reverse, 0)
    }

    /// `weight_hh_l{layer}` (`_reverse`): `[G·H, H]`, row-major.
    ///
    /// # Panics
    /// If there is no such layer or direction.
    pub fn weight_hh<'p>(&self, params: &'p [f32], layer: usize, reverse: bool) -> &'p [f32] {
        self.view(params, layer, reverse, 1)
    }

    /// `bias_ih_l{layer}` (`_reverse`), if the layer has biases.
    ///
    /// # Panics
    /// If there is no such layer or direction.
    pub fn bias_ih<'p>(&self, params: &'p [f32], layer: usize, reverse: bool) -> Option<&'p [f32]> {
        BIAS.then(|| self.view(params, layer, reverse, 2))
    }

    /// `bias_hh_l{layer}` (`_reverse`), if the layer has biases.
    ///
    /// # Panics
    /// If there is no such layer or direction.
    pub fn bias_hh<'p>(&self, params: &'p [f32], layer: usize, reverse: bool) -> Option<&'p [f32]> {
        BIAS.then(|| self.view(params, layer, reverse, 3))
    }

    /// Where (layer `l`, direction `d`)'s kept values start in `saved` for a chunk of `rows` rows: per (layer,
    /// direction) block the previous hidden states (`rows × H`) then the cell's values (`rows × SAVED·H`).
    fn kept_start(rows: usize, l: usize, d: usize) -> usize {
        (l * D + d) * rows * Self::KEPT
    }

    /// Where the outputs of the stacked layers below the top start in `saved` (each after dropout, `rows × H·D`:
    /// the next layer's input): after the kept values when a backward pass follows, at the start otherwise.
    fn outputs_start(rows: usize, backward: bool) -> usize {
        if backward {
            L * D * rows * Self::KEPT
        } else {
            0
        }
    }

    /// Steps per sample whose input projections the forward pass holds at once: a chunk's steps, up to
    /// [`BLOCK`].
    const fn span(steps: usize) -> usize {
        if steps <= BLOCK {
            steps
        } else {
            BLOCK
        }
    }
}

/// The most steps per sample whose input projections a forward pass computes and holds at once. A chunk of
/// longer sequences computes them a block of steps at a time, so that inference on a long sequence keeps no
/// per-step values but the layers' outputs.
const BLOCK: usize = 64;
/// The larger of two sizes (in a constant).
const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Which row of a chunk sample `i` (of `len` steps, in a chunk of `steps`) reads at iteration `k` of a
/// direction: `k` forward, `len − 1 − k` backward; `None` once the sample has ended.
fn row_at(i: usize, k: usize, len: usize, steps: usize, reverse: bool) -> Option<usize> {
    (k < len).then(|| i * steps + if reverse { len - 1 - k } else { k })
}

/// Each sample's length in the pass (all `steps` for sequences of one length).
fn length(pass: &Pass<'_>, i: usize) -> usize {
    pass.lengths.get(i).copied().unwrap_or(pass.steps)
}

/// The input projections `W_ih·x + b` of one (stacked layer, direction), computed a block of iterations at a
/// time: the steps that iterations `first..first + span` visit in each sample (from its end for the backward
/// direction). Sample `i`'s block is `span` rows of `g` values at `i·span·g`, in step order.
struct Block<'a> {
    /// The layer's input, `samples × steps` rows of `input_len`.
    input: &'a [f32],
    input_len: usize,
    /// `W_ih`, `[g, input_len]`; the biases (empty without).
    w_ih: &'a [f32],
    b_ih: &'a [f32],
    /// `b_hh`, added here by cells that add both projections before their gates.
    b_hh: Option<&'a [f32]>,
    /// Values per row: gates × hidden.
    g: usize,
    steps: usize,
    span: usize,
    reverse: bool,
}

impl Block<'_> {
    /// The first step of a sample of `len` steps in the block of iterations from `first`.
    fn start(&self, first: usize, len: usize) -> usize {
        match self.reverse {
            false => first,
            true => len - (first + self.span).min(len),
        }
    }

    /// Where the projection of step `t` of sample `i` (of `len` steps) lies, in the block from `first`.
    fn at(&self, i: usize, t: usize, first: usize, len: usize) -> usize {
        (i * self.span + t - self.start(first, len)) * self.g
    }

    /// Writes into `out` the projections of the block of iterations from `first`. When the block is the whole
    /// chunk (every sequence within [`BLOCK`] steps) it is one product over all rows; otherwise one product per
    /// sample over its steps in the block, each row giving the bits it has in the one product ([`gemm_rows`]).
    fn project(&self, pass: &Pass<'_>, first: usize, out: &mut [f32]) {
        let (g, input_len) = (self.g, self.input_len);
        let w_ih = MatRef::row_major(self.w_ih, g, input_len).t();
        let add_biases = |rows: &mut [f32]| {
            for row in rows.chunks_exact_mut(g).filter(|_| !self.b_ih.is_empty()) {
                row.iter_mut().zip(self.b_ih).for_each(|(v, &b)| *v += b);
                if let Some(b_hh) = self.b_hh {
                    row.iter_mut().zip(b_hh).for_each(|(v, &b)| *v += b);
                }
            }
        };
        if self.span == self.steps {
            let all = &mut out[..pass.samples * self.steps * g];
            gemm(MatRef::row_major(self.input, pass.samples * self.steps, input_len), w_ih, 0.0, all);
            add_biases(all);
            return;
        }
        for i in 0..pass.samples {
            let len = length(pass, i);
            if first >= len {
                continue;
            }
            let (start, count) = (self.start(first, len), (first + self.span).min(len) - first);
            let x = &self.input[(i * self.steps + start) * input_len..][..count * input_len];
            let block = &mut out[i * self.span * g..][..count * g];
            gemm_rows(MatRef::row_major(x, count, input_len), w_ih, 0.0, block);
            add_biases(block);
        }
    }
}

impl<C: Cell, const IN: usize, const H: usize, const L: usize, const D: usize, const BIAS: bool> Layer
    for Recurrent<C, IN, H, L, D, BIAS>
{
    const IN: usize = IN;
    const OUT: usize = H * D;
    const PARAMS: usize = Self::block_start(L, 0);
    /// Per (layer, direction) the previous hidden states and the cell's values; per lower layer its output.
    const SAVED_PER_ROW: usize = L * D * Self::KEPT + (L - 1) * H * D;
    /// Without a backward pass, only the lower layers' outputs (the next layer's input).
    const FORWARD_SAVED_PER_ROW: usize = (L - 1) * H * D;
    /// Backward: the input projections' gradients and, for a GRU, the hidden projections', the gradient of a
    /// layer's output and of its input, and per sample the state gradients, one step's hidden-projection gradients
    /// and three hidden-sized rows (a sample count never exceeds the rows).
    const SCRATCH_PER_ROW: usize =
        if C::FOLDS_HIDDEN_BIAS { 1 } else { 2 } * Self::G + 2 * H * D + C::STATES * H + Self::G + 3 * H;
    const STATE: usize = L * D * C::STATES * H;
    /// `W_hh` packed for the per-step products: `W_hhᵀ` (`H × G`) in forward, `W_hh` (`G × H`) in backward.
    const SCRATCH: usize = max(packed_len(H, Self::G), packed_len(Self::G, H));
    /// Forward, for one sample: the packed `W_hh`, one step's hidden projections and hidden state, the cell's
    /// values when no backward pass follows, and (per row, below) the input projections.
    const FORWARD_SCRATCH: usize = Self::SCRATCH + Self::G + H + C::SAVED * H;
    const FORWARD_SCRATCH_PER_ROW: usize = Self::G;

    /// The forward pass holds the input projections of at most 64 steps per sample (`BLOCK`), one step's hidden
    /// projections and state per sample, and one sample's cell values; backward needs its own per-row space.
    fn scratch_len(extent: Extent) -> usize {
        let n = extent.samples;
        let forward = Self::SCRATCH + n * (Self::span(extent.steps) * Self::G + Self::G + H) + C::SAVED * H;
        match extent.backward {
            true => max(forward, Self::SCRATCH + extent.rows() * Self::SCRATCH_PER_ROW),
            false => forward,
        }
    }

    fn init(&self, params: &mut [f32], _buffers: &mut [f32], rng: &mut Rng) {
        let bound = 1.0 / math::sqrt(H as f32);
        params.iter_mut().for_each(|p| *p = rng.uniform(-bound, bound));
        if self.init == RecurrentInit::Orthogonal {
            for l in 0..L {
                for d in 0..D {
                    let start = Self::block_start(l, d) + Self::G * Self::input_of(l);
                    orthogonal(&mut params[start..start + Self::G * H], Self::G, H, rng);
                }
            }
        }
    }

    fn op(&self) -> Op {
        Op::Recurrent { cell: C::KIND, inputs: IN, hidden: H, layers: L, directions: D, bias: BIAS }
    }

    fn forward(&self, f: Forward<'_>) {
        let Forward { params, x, y, saved, scratch, state, pass, .. } = f;
        let (n, steps, backward) = (pass.samples, pass.steps, pass.backward);
        let (rows, g, span) = (n * steps, Self::G, Self::span(steps));
        let isa = simd::wide();
        let (packed, scratch) = scratch.split_at_mut(Self::SCRATCH);
        let (projections, rest) = scratch.split_at_mut(n * span * g);
        let (q, rest) = rest.split_at_mut(n * g);
        let (hidden, rest) = rest.split_at_mut(n * H);
        // Without a backward pass, the cell's values go to one sample-sized row that stays in cache.
        let discard = &mut rest[..C::SAVED * H];
        let (kept_all, outputs) = saved.split_at_mut(Self::outputs_start(rows, backward));
        let state = &mut state[..n * Self::STATE];
        for l in 0..L {
            let input_len = Self::input_of(l);
            let (below, here) = outputs.split_at_mut(l * rows * H * D);
            let input: &[f32] = if l == 0 { x } else { &below[(l - 1) * rows * H * D..][..rows * input_len] };
            let out: &mut [f32] = if l + 1 == L { &mut y[..rows * H * D] } else { &mut here[..rows * H * D] };
            for d in 0..D {
                let [w_ih, w_hh, b_ih, b_hh] = Self::tensors(params, l, d);
                let kept: &mut [f32] =
                    if backward { &mut kept_all[Self::kept_start(rows, l, d)..][..rows * Self::KEPT] } else { &mut [] };
                let (h_prev_all, cell_saved) = kept.split_at_mut(if backward { rows * H } else { 0 });
                let folded = C::FOLDS_HIDDEN_BIAS.then_some(b_hh);
                let block = Block { input, input_len, w_ih, b_ih, b_hh: folded, g, steps, span, reverse: d == 1 };
                // Sample i's state: h_n then (LSTM) c_n, each [L·D, H] in PyTorch's order.
                let h_at = (l * D + d) * H;
                // A sample's steps past its end output zeros, and hold a zero previous state for the weight
                // gradient's product over all rows (the cell's own values there are never read).
                for i in 0..n {
                    for t in length(pass, i)..steps {
                        let r = i * steps + t;
                        out[r * H * D + d * H..][..H].fill(0.0);
                        if backward {
                            h_prev_all[r * H..][..H].fill(0.0);
                        }
                    }
                }
                // W_hh packed once for the products of every step.
                with_packed(MatRef::row_major(w_hh, g, H).t(), n, steps, packed, |w_hh_t| {
                    for first in (0..steps).step_by(span) {
                        block.project(pass, first, projections);
                        for k in first..(first + span).min(steps) {
                            for i in 0..n {
                                hidden[i * H..][..H].copy_from_slice(&state[i * Self::STATE + h_at..][..H]);
                            }
                            gemm_packed(MatRef::row_major(hidden, n, H), w_hh_t, 0.0, q);
                            if BIAS && !C::FOLDS_HIDDEN_BIAS {
                                for row in q.chunks_exact_mut(g) {
                                    row.iter_mut().zip(b_hh).for_each(|(v, &b)| *v += b);
                                }
                            }
                            for i in 0..n {
                                let len = length(pass, i);
                                let Some(r) = row_at(i, k, len, steps, d == 1) else { continue };
                                let (hs, cs) = state[i * Self::STATE..][..Self::STATE].split_at_mut(L * D * H);
                                // Without a cell state `cs` is empty.
                                let cs = if cs.is_empty() { cs } else { &mut cs[h_at..][..H] };
                                let hs = &mut hs[h_at..][..H];
                                let saved_row = if backward {
                                    h_prev_all[r * H..][..H].copy_from_slice(hs);
                                    &mut cell_saved[r * C::SAVED * H..][..C::SAVED * H]
                                } else {
                                    &mut *discard
                                };
                                isa.run(CellForward::<C> {
                                    h: H,
                                    p: &projections[block.at(i, r - i * steps, first, len)..][..g],
                                    q: &q[i * g..][..g],
                                    hidden: hs,
                                    cell: cs,
                                    saved: saved_row,
                                    kind: PhantomData,
                                });
                                out[r * H * D + d * H..][..H].copy_from_slice(hs);
                            }
                        }
                    }
                });
            }
            // Dropout between stacked layers, in training: the next layer reads this layer's output after it.
            if l + 1 < L && pass.mode == Mode::Train && self.dropout > 0.0 {
                for_each_factor(self.dropout, self.dropout_stream(l), H * D, pass, rows * H * D, |j, factor| {
                    out[j] *= factor;
                });
            }
        }
    }

    fn backward(&self, b: Backward<'_>) {
        let Backward { params, x, saved, dy, mut dx, grads, scratch, pass, .. } = b;
        let (n, steps) = (pass.samples, pass.steps);
        let (rows, g) = (n * steps, Self::G);
        let isa = simd::wide();
        let (packed, scratch) = scratch.split_at_mut(Self::SCRATCH);
        let (dp_all, rest) = scratch.split_at_mut(rows * g);
        // A cell that adds its two projections has equal gradients for both: `dp_all` serves as `dq_all`.
        let (dq_own, rest) = rest.split_at_mut(if C::FOLDS_HIDDEN_BIAS { 0 } else { rows * g });
        let (mut d_out, rest) = rest.split_at_mut(rows * H * D);
        let (mut d_in, rest) = rest.split_at_mut(rows * H * D);
        let (dstate, rest) = rest.split_at_mut(n * C::STATES * H);
        let (dq_step, rest) = rest.split_at_mut(n * g);
        let (dh, rest) = rest.split_at_mut(n * H);
        let (direct, rest) = rest.split_at_mut(n * H);
        let through = &mut rest[..n * H];
        let (kept_all, outputs) = saved.split_at(Self::outputs_start(rows, true));
        for l in (0..L).rev() {
            let input_len = Self::input_of(l);
            let input: &[f32] = if l == 0 { x } else { &outputs[(l - 1) * rows * H * D..][..rows * input_len] };
            // The gradient of this layer's output: the network's, or the one the layer above left in `d_in`.
            if l + 1 < L {
                core::mem::swap(&mut d_out, &mut d_in);
            }
            let d_output: &[f32] = if l + 1 == L { dy } else { d_out };
            for d in 0..D {
                let [w_ih, w_hh, ..] = Self::tensors(params, l, d);
                let kept = &kept_all[Self::kept_start(rows, l, d)..][..rows * Self::KEPT];
                let (h_prev_all, cell_saved) = kept.split_at(rows * H);
                // Steps past a sample's end take no gradient; every other row is written below.
                for i in 0..n {
                    let padding = (i * steps + length(pass, i)) * g..(i + 1) * steps * g;
                    dp_all[padding.clone()].fill(0.0);
                    if !C::FOLDS_HIDDEN_BIAS {
                        dq_own[padding].fill(0.0);
                    }
                }
                dstate.fill(0.0);
                with_packed(MatRef::row_major(w_hh, g, H), n, steps, packed, |w_hh| {
                    for k in (0..steps).rev() {
                        for i in 0..n {
                            let Some(r) = row_at(i, k, length(pass, i), steps, d == 1) else {
                                // A sample that has ended passes nothing back.
                                dq_step[i * g..][..g].fill(0.0);
                                direct[i * H..][..H].fill(0.0);
                                continue;
                            };
                            let ds = &mut dstate[i * C::STATES * H..][..C::STATES * H];
                            // The hidden state's gradient: from the output at this step and from the step after it.
                            let dh = &mut dh[i * H..][..H];
                            for (j, v) in dh.iter_mut().enumerate() {
                                *v = d_output[r * H * D + d * H + j] + ds[j];
                            }
                            let dp = &mut dp_all[r * g..][..g];
                            let dq: &mut [f32] = if C::FOLDS_HIDDEN_BIAS { &mut [] } else { &mut dq_own[r * g..][..g] };
                            let saved_row = &cell_saved[r * C::SAVED * H..][..C::SAVED * H];
                            let step = StepBack {
                                saved: saved_row,
                                h_prev: &h_prev_all[r * H..][..H],
                                dh,
                                dstate: ds,
                                dp: &mut *dp,
                                dq: &mut *dq,
                                dh_prev: &mut direct[i * H..][..H],
                            };
                            isa.run(CellBackward::<C> { h: H, step, kind: PhantomData });
                            dq_step[i * g..][..g].copy_from_slice(if C::FOLDS_HIDDEN_BIAS { dp } else { dq });
                        }
                        // The previous step's hidden-state gradient: through W_hh, plus the part that is not.
                        gemm_packed(MatRef::row_major(dq_step, n, g), w_hh, 0.0, through);
                        for i in 0..n {
                            let ds = &mut dstate[i * C::STATES * H..][..H];
                            for ((v, &a), &b) in ds.iter_mut().zip(&direct[i * H..][..H]).zip(&through[i * H..][..H]) {
                                *v = a + b;
                            }
                        }
                    }
                });
                // The weight and bias gradients of every step at once.
                let dq_all: &[f32] = if C::FOLDS_HIDDEN_BIAS { dp_all } else { dq_own };
                let own = &mut grads[Self::block_start(l, d)..][..Self::block(l)];
                let (dw_ih, rest) = own.split_at_mut(g * input_len);
                let (dw_hh, rest) = rest.split_at_mut(g * H);
                gemm(MatRef::row_major(dp_all, rows, g).t(), MatRef::row_major(input, rows, input_len), 0.0, dw_ih);
                gemm(MatRef::row_major(dq_all, rows, g).t(), MatRef::row_major(h_prev_all, rows, H), 0.0, dw_hh);
                if BIAS {
                    let (db_ih, db_hh) = rest.split_at_mut(g);
                    db_ih.fill(0.0);
                    sum_rows_into(dp_all, db_ih);
                    if C::FOLDS_HIDDEN_BIAS {
                        db_hh.copy_from_slice(db_ih);
                    } else {
                        db_hh.fill(0.0);
                        sum_rows_into(dq_all, db_hh);
                    }
                }
                // The gradient of this layer's input, both directions added.
                let beta = if d == 0 { 0.0 } else { 1.0 };
                let target =
                    if l == 0 { dx.as_deref_mut().map(|dx| &mut dx[..rows * IN]) } else { Some(&mut d_in[..]) };
                if let Some(target) = target {
                    gemm(MatRef::row_major(dp_all, rows, g), MatRef::row_major(w_ih, g, input_len), beta, target);
                }
            }
            // Back through the dropout below this layer's input.
            if l > 0 && pass.mode == Mode::Train && self.dropout > 0.0 {
                for_each_factor(self.dropout, self.dropout_stream(l - 1), H * D, pass, rows * H * D, |j, factor| {
                    d_in[j] *= factor;
                });
            }
        }
    }
}

impl<C: Cell, const IN: usize, const H: usize, const L: usize, const D: usize, const BIAS: bool>
    Recurrent<C, IN, H, L, D, BIAS>
{
    /// The random stream of the dropout after stacked layer `l`.
    fn dropout_stream(&self, l: usize) -> u64 {
        self.stream ^ ((l as u64 + 1) << 48)
    }
}

/// Fills `values`, a `rows × cols` matrix (`rows ≥ cols`), with orthonormal columns: Gram–Schmidt on a normal
/// matrix (in f64), each column's sign set as PyTorch's `orthogonal_` sets it (`Q·sign(diag R)`).
#[cfg(feature = "std")]
fn orthogonal(values: &mut [f32], rows: usize, cols: usize, rng: &mut Rng) {
    let mut q: Vec<f64> = (0..rows * cols).map(|_| f64::from(rng.normal(0.0, 1.0))).collect();
    gram_schmidt(&mut q, rows, cols);
    values.iter_mut().zip(&q).for_each(|(v, &q)| *v = q as f32);
}

/// [`orthogonal`] without an allocator: the same draws, orthonormalised in place in `f32` (sums in f64).
#[cfg(not(feature = "std"))]
fn orthogonal(values: &mut [f32], rows: usize, cols: usize, rng: &mut Rng) {
    values[..rows * cols].iter_mut().for_each(|v| *v = rng.normal(0.0, 1.0));
    gram_schmidt(values, rows, cols);
}

/// Makes the columns of the `rows × cols` matrix `q` orthonormal (classical Gram–Schmidt, sums in f64).
fn gram_schmidt<T: Copy + Into<f64> + FromF64>(q: &mut [T], rows: usize, cols: usize) {
    let at = |q: &[T], i: usize, j: usize| -> f64 { q[i * cols + j].into() };
    for j in 0..cols {
        for k in 0..j {
            let dot: f64 = (0..rows).map(|i| at(q, i, j) * at(q, i, k)).sum();
            for i in 0..rows {
                q[i * cols + j] = T::from_f64(at(q, i, j) - dot * at(q, i, k));
            }
        }
        let norm = math::sqrt_f64((0..rows).map(|i| at(q, i, j) * at(q, i, j)).sum::<f64>());
        for i in 0..rows {
            q[i * cols + j] = T::from_f64(at(q, i, j) / norm);
        }
    }
}

/// The f64 → storage conversion [`gram_schmidt`] writes with.
trait FromF64 {
    fn from_f64(v: f64) -> Self;
}

impl FromF64 for f64 {
    fn from_f64(v: f64) -> Self {
        v
    }
}

impl FromF64 for f32 {
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

#[cfg(test)]
pub(in crate::layers) mod tests;
