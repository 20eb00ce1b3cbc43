//! `MultiheadAttention<E, HEADS>`: self-attention over a sequence, as PyTorch's
//! `nn.MultiheadAttention(E, HEADS, batch_first=True)` called as `attn(x, x, x, need_weights=False)`.
//!
//! One GEMM projects every row of the chunk to its query, key and value (`in_proj_weight` `[3E, E]`); then, per
//! sample and head, the scores `QKᵀ/√(E/HEADS)` of the sample's own steps, their (causal) softmax and the product
//! with `V`; one more GEMM applies `out_proj`. A sample attends only to its own steps — never to the padding of a
//! chunk of sequences of different lengths — so its outputs and gradients do not depend on its batch-mates.
//!
//! A causal layer whose sequences have a known bound (`MAX_STEPS > 0`) carries a key/value cache as its state:
//! a pass with no backward pass after it (inference, a stream's steps) attends to the cached steps before its
//! own and appends its own to the cache, so feeding a sequence one step at a time costs O(t) per step and gives
//! the outputs of the whole sequence. A training pass attends within its own steps.

use super::dropout::mix;
use super::{Backward, Extent, Forward, Layer, Mode, Op, Pass};
use crate::kernels::{
    add_row_vector, gemm, interleaved_sum, map_in_place, math, sum_rows_into, transcendental, MatRef,
};
use crate::Rng;

/// Self-attention of `E` features per step in `HEADS` heads; `CAUSAL`: a step attends to itself and earlier
/// steps only; `BIAS`: `in_proj_bias` and `out_proj.bias`; `MAX_STEPS`: the longest sequence the network accepts
/// (0 when unbounded), which sizes the key/value cache of a causal layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MultiheadAttention<
    const E: usize,
    const HEADS: usize,
    const CAUSAL: bool,
    const BIAS: bool,
    const MAX_STEPS: usize,
> {
    offset: usize,
    dropout: f32,
    stream: u64,
}

impl<const E: usize, const HEADS: usize, const CAUSAL: bool, const BIAS: bool, const MAX_STEPS: usize>
    MultiheadAttention<E, HEADS, CAUSAL, BIAS, MAX_STEPS>
{
    /// Values per head.
    pub const HEAD: usize = {
        assert!(HEADS > 0 && E.is_multiple_of(HEADS), "the embedding size must be a multiple of the head count");
        E / HEADS
    };
    /// Whether the layer keeps a key/value cache as its state.
    pub const CACHES: bool = CAUSAL && MAX_STEPS > 0;
    /// Where `out_proj.weight` starts among the layer's parameters.
    const OUT_PROJ: usize = 3 * E * E + if BIAS { 3 * E } else { 0 };

    /// A layer whose parameters start at `offset`, dropping attention weights with probability `dropout` while
    /// training, drawn from random stream `stream` (the layer's index).
    ///
    /// # Panics
    /// If `dropout` is outside `[0, 1)` (the `network!` macro rejects such values at compile time).
    pub const fn new(offset: usize, dropout: f32, stream: u64) -> Self {
        assert!(dropout >= 0.0 && dropout < 1.0, "dropout probability must be in [0, 1)");
        Self { offset, dropout, stream }
    }

    /// The dropout probability of the attention weights.
    pub const fn dropout(&self) -> f32 {
        self.dropout
    }

    /// `in_proj_weight` (`[3E, E]`: the query, key and value projections stacked) inside a network's parameters.
    pub fn in_proj_weight<'p>(&self, params: &'p [f32]) -> &'p [f32] {
        &params[self.offset..self.offset + 3 * E * E]
    }

    /// `in_proj_bias` (`[3E]`), if the layer has biases.
    pub fn in_proj_bias<'p>(&self, params: &'p [f32]) -> Option<&'p [f32]> {
        BIAS.then(|| &params[self.offset + 3 * E * E..self.offset + 3 * E * E + 3 * E])
    }

    /// `out_proj.weight` (`[E, E]`).
    pub fn out_proj_weight<'p>(&self, params: &'p [f32]) -> &'p [f32] {
        &params[self.offset + Self::OUT_PROJ..self.offset + Self::OUT_PROJ + E * E]
    }

    /// `out_proj.bias` (`[E]`), if the layer has biases.
    pub fn out_proj_bias<'p>(&self, params: &'p [f32]) -> Option<&'p [f32]> {
        let start = self.offset + Self::OUT_PROJ + E * E;
        BIAS.then(|| &params[start..start + E])
    }

    /// The most keys a query of a pass over `extent` sees: its own steps, or the whole cache.
    const fn keys(extent: Extent) -> usize {
        if Self::CACHES && !extent.backward {
            if MAX_STEPS > extent.steps {
                MAX_STEPS
            } else {
                extent.steps
            }
        } else {
            extent.steps
        }
    }

    /// The attention weights' dropout factor (0, or `1/(1−p)`) of query `i` and key `j` of head `h` of the
    /// chunk's sample `sample`: a pure function of the seed, the layer, the pass counter, the sample's index in
    /// the batch and those indices, so the same for every thread count.
    fn factor(&self, pass: &Pass<'_>, sample: usize, h: usize, i: usize, j: usize) -> f32 {
        let key = mix(mix(mix(mix(pass.seed) ^ self.stream) ^ pass.step) ^ (pass.first + sample) as u64);
        let draw = (mix(mix(key ^ ((h as u64) << 48) ^ ((i as u64) << 24)) ^ j as u64) >> 40) as u32;
        let threshold = math::round_f64(f64::from(self.dropout) * f64::from(1u32 << 24)) as u32;
        if draw >= threshold {
            1.0 / (1.0 - self.dropout)
        } else {
            0.0
        }
    }

    /// Applies the dropout factors to the attention weights `w` (`cols` keys per query, the first query
    /// `first`) of head `h` of the chunk's sample `sample`.
    fn drop_weights(&self, pass: &Pass<'_>, sample: usize, h: usize, first: usize, w: &mut [f32], cols: usize) {
        for (r, row) in w.chunks_exact_mut(cols).enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v *= self.factor(pass, sample, h, first + r, j);
            }
        }
    }

    /// Whether this pass drops attention weights.
    fn drops(&self, pass: &Pass<'_>) -> bool {
        pass.mode == Mode::Train && self.dropout > 0.0
    }
}

/// Queries whose scores, softmax and product with V are computed together: a causal block sees only the keys up
/// to its last query, so the scores above the diagonal's blocks are never computed.
const QUERY_BLOCK: usize = 32;

/// Sample `i`'s own number of steps.
fn length(pass: &Pass<'_>, i: usize) -> usize {
    pass.lengths.get(i).copied().unwrap_or(pass.steps)
}

/// The softmax of row `r` of `scores` (`keys` wide), scaled by `scale`, over its first `limit` entries; the rest
/// become 0.
fn masked_softmax(row: &mut [f32], limit: usize, scale: f32) {
    let (kept, masked) = row.split_at_mut(limit);
    let max = kept.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s)) * scale;
    // The exponentials in vector code, then their sum in a fixed order (the same bits on every instruction set).
    map_in_place(
        kept,
        #[inline(always)]
        |s| transcendental::exp(s * scale - max),
    );
    let sum: f32 = interleaved_sum(kept.len(), |j| kept[j]);
    let inv = 1.0 / sum;
    kept.iter_mut().for_each(|s| *s *= inv);
    masked.fill(0.0);
}

/// Copies `rows × width` values from contiguous `from` into the columns `at..at + width` of `to` (rows `stride`
/// apart).
fn scatter(from: &[f32], to: &mut [f32], at: usize, width: usize, stride: usize) {
    for (r, src) in from.chunks_exact(width).enumerate() {
        to[r * stride + at..][..width].copy_from_slice(src);
    }
}

/// A `rows × cols` block of a row-major matrix whose rows are `stride` apart, starting at `start`.
fn block(data: &[f32], start: usize, rows: usize, cols: usize, stride: usize) -> MatRef<'_> {
    MatRef::strided(&data[start..], rows, cols, stride)
}

impl<const E: usize, const HEADS: usize, const CAUSAL: bool, const BIAS: bool, const MAX_STEPS: usize> Layer
    for MultiheadAttention<E, HEADS, CAUSAL, BIAS, MAX_STEPS>
{
    const IN: usize = E;
    const OUT: usize = E;
    const PARAMS: usize = 4 * E * E + if BIAS { 4 * E } else { 0 };
    /// The steps' queries, keys and values, and the heads' outputs before `out_proj`; for a backward pass also
    /// each head's attention weights (the bound is for one sample of at most `MAX_STEPS` steps).
    const SAVED_PER_ROW: usize = 4 * E + HEADS * MAX_STEPS;
    const FORWARD_SAVED_PER_ROW: usize = 4 * E;
    /// A block of queries' scores and their dropped weights, one head's output and the gradients of its keys and
    /// values (for one sample of `MAX_STEPS` steps).
    const SCRATCH: usize = 2 * QUERY_BLOCK * MAX_STEPS + 3 * MAX_STEPS * Self::HEAD;
    const FORWARD_SCRATCH: usize = QUERY_BLOCK * MAX_STEPS + MAX_STEPS * Self::HEAD;
    /// The gradients of the heads' outputs and of the projections.
    const SCRATCH_PER_ROW: usize = 4 * E;
    const FORWARD_SCRATCH_PER_ROW: usize = 0;
    /// The position reached, then the cached keys and values (`[MAX_STEPS, E]` each).
    const STATE: usize = if Self::CACHES { 1 + 2 * MAX_STEPS * E } else { 0 };

    fn saved_len(extent: Extent) -> usize {
        let probs = if extent.backward { extent.samples * HEADS * extent.steps * extent.steps } else { 0 };
        extent.rows() * 4 * E + probs
    }

    fn scratch_len(extent: Extent) -> usize {
        let (t, keys) = (extent.steps, Self::keys(extent));
        let block = QUERY_BLOCK.min(t);
        match extent.backward {
            true => 2 * block * t + 3 * t * Self::HEAD + extent.rows() * 4 * E,
            false => block * keys + t * Self::HEAD,
        }
    }

    fn init(&self, params: &mut [f32], _buffers: &mut [f32], rng: &mut Rng) {
        // PyTorch's `_reset_parameters`: Xavier-uniform `in_proj_weight` (fans E and 3E), zero biases, and
        // `out_proj.weight` as a `Linear`'s (uniform in ±1/√E).
        let (in_proj, rest) = params.split_at_mut(3 * E * E);
        super::Init::XavierUniform.fill_weights(in_proj, E, 3 * E, rng);
        let (in_bias, rest) = rest.split_at_mut(if BIAS { 3 * E } else { 0 });
        in_bias.fill(0.0);
        let (out_proj, out_bias) = rest.split_at_mut(E * E);
        super::Init::PyTorch.fill_weights(out_proj, E, E, rng);
        out_bias.fill(0.0);
    }

    fn op(&self) -> Op {
        Op::MultiheadAttention { embed: E, heads: HEADS, causal: CAUSAL, bias: BIAS, dropout: self.dropout }
    }

    fn forward(&self, f: Forward<'_>) {
        let Forward { params, x, y, saved, scratch, state, pass, .. } = f;
        let (n, t, d) = (pass.samples, pass.steps, Self::HEAD);
        let rows = n * t;
        let scale = 1.0 / math::sqrt(d as f32);
        let (qkv, rest) = saved.split_at_mut(rows * 3 * E);
        let (ctx, probs) = rest.split_at_mut(rows * E);
        // Q, K and V of every row: one product.
        gemm(MatRef::row_major(x, rows, E), MatRef::row_major(&params[..3 * E * E], 3 * E, E).t(), 0.0, qkv);
        if BIAS {
            add_row_vector(qkv, &params[3 * E * E..][..3 * E]);
        }
        let cache = Self::CACHES && !pass.backward;
        let keys = Self::keys(pass.extent(true));
        let (scores, out) = scratch.split_at_mut(QUERY_BLOCK.min(t) * keys);
        let out = &mut out[..t * d];
        for i in 0..n {
            let len = length(pass, i);
            let sample_qkv = &qkv[i * t * 3 * E..(i + 1) * t * 3 * E];
            let sample_ctx = &mut ctx[i * t * E..(i + 1) * t * E];
            // The steps before this pass's (from the cache) and the sample's keys and values, row by row.
            let (before, kv, kv_stride): (usize, &[f32], usize) = if cache {
                let s = &mut state[i * Self::STATE..(i + 1) * Self::STATE];
                let before = s[0] as usize;
                assert!(before + len <= MAX_STEPS, "the key/value cache holds {MAX_STEPS} steps");
                s[0] = (before + len) as f32;
                let (k_cache, v_cache) = s[1..].split_at_mut(MAX_STEPS * E);
                for r in 0..len {
                    let row = &sample_qkv[r * 3 * E..(r + 1) * 3 * E];
                    k_cache[(before + r) * E..][..E].copy_from_slice(&row[E..2 * E]);
                    v_cache[(before + r) * E..][..E].copy_from_slice(&row[2 * E..]);
                }
                (before, &state[i * Self::STATE + 1..(i + 1) * Self::STATE], E)
            } else {
                (0, sample_qkv, 3 * E)
            };
            let (k_at, v_at) = if cache { (0, MAX_STEPS * E) } else { (E, 2 * E) };
            let total = before + len;
            sample_ctx[len * E..].fill(0.0);
            for h in 0..HEADS {
                // The weights this head keeps for backward, block after block of queries.
                let mut kept = (i * HEADS + h) * t * t;
                for r0 in (0..len).step_by(QUERY_BLOCK) {
                    let rows = QUERY_BLOCK.min(len - r0);
                    // A causal block's queries see no key past its last one.
                    let keys = if CAUSAL { before + r0 + rows } else { total };
                    let (p, spare): (&mut [f32], &mut [f32]) = match pass.backward {
                        true => (&mut probs[kept..kept + rows * keys], &mut scores[..rows * keys]),
                        false => (&mut scores[..rows * keys], &mut []),
                    };
                    kept += rows * keys;
                    gemm(
                        block(sample_qkv, r0 * 3 * E + h * d, rows, d, 3 * E),
                        block(kv, k_at + h * d, keys, d, kv_stride).t(),
                        0.0,
                        p,
                    );
                    for (r, row) in p.chunks_exact_mut(keys).enumerate() {
                        masked_softmax(row, if CAUSAL { before + r0 + r + 1 } else { total }, scale);
                    }
                    // Dropout: into the spare buffer when backward needs the weights undropped, else in place.
                    let weights: &[f32] = match (self.drops(pass), pass.backward) {
                        (false, _) => p,
                        (true, true) => {
                            spare.copy_from_slice(p);
                            self.drop_weights(pass, i, h, r0, spare, keys);
                            spare
                        }
                        (true, false) => {
                            self.drop_weights(pass, i, h, r0, p, keys);
                            p
                        }
                    };
                    gemm(
                        MatRef::row_major(weights, rows, keys),
                        block(kv, v_at + h * d, keys, d, kv_stride),
                        0.0,
                        &mut out[r0 * d..(r0 + rows) * d],
                    );
                }
                scatter(&out[..len * d], sample_ctx, h * d, d, E);
            }
        }
        gemm(MatRef::row_major(ctx, rows, E), MatRef::row_major(&params[Self::OUT_PROJ..][..E * E], E, E).t(), 0.0, y);
        if BIAS {
            add_row_vector(y, &params[Self::OUT_PROJ + E * E..][..E]);
        }
    }

    fn backward(&self, b: Backward<'_>) {
        let Backward { params, x, saved, dy, dx, grads, scratch, pass, .. } = b;
        let (n, t, d) = (pass.samples, pass.steps, Self::HEAD);
        let rows = n * t;
        let scale = 1.0 / math::sqrt(d as f32);
        let (qkv, rest) = saved.split_at(rows * 3 * E);
        let (ctx, probs) = rest.split_at(rows * E);
        let (dw_in, rest) = grads.split_at_mut(3 * E * E);
        let (db_in, rest) = rest.split_at_mut(if BIAS { 3 * E } else { 0 });
        let (dw_out, db_out) = rest.split_at_mut(E * E);
        // out_proj: its gradients, and the gradient of the heads' outputs.
        gemm(MatRef::row_major(dy, rows, E).t(), MatRef::row_major(ctx, rows, E), 0.0, dw_out);
        if BIAS {
            db_out.fill(0.0);
            sum_rows_into(dy, db_out);
        }
        let (dctx, rest) = scratch.split_at_mut(rows * E);
        let (dqkv, rest) = rest.split_at_mut(rows * 3 * E);
        let block_len = QUERY_BLOCK.min(t) * t;
        let (weights_buf, rest) = rest.split_at_mut(block_len);
        let (dp, rest) = rest.split_at_mut(block_len);
        let (out, rest) = rest.split_at_mut(t * d);
        let (dk, dv) = rest[..2 * t * d].split_at_mut(t * d);
        gemm(MatRef::row_major(dy, rows, E), MatRef::row_major(&params[Self::OUT_PROJ..][..E * E], E, E), 0.0, dctx);
        for i in 0..n {
            let len = length(pass, i);
            let (q, g) = (&qkv[i * t * 3 * E..(i + 1) * t * 3 * E], &dctx[i * t * E..(i + 1) * t * E]);
            let dq = &mut dqkv[i * t * 3 * E..(i + 1) * t * 3 * E];
            dq[len * 3 * E..].fill(0.0);
            for h in 0..HEADS {
                let (dk, dv) = (&mut dk[..len * d], &mut dv[..len * d]);
                dk.fill(0.0);
                dv.fill(0.0);
                let mut kept = (i * HEADS + h) * t * t;
                for r0 in (0..len).step_by(QUERY_BLOCK) {
                    let rows = QUERY_BLOCK.min(len - r0);
                    let keys = if CAUSAL { r0 + rows } else { len };
                    let p = &probs[kept..kept + rows * keys];
                    kept += rows * keys;
                    let weights: &[f32] = if self.drops(pass) {
                        let w = &mut weights_buf[..rows * keys];
                        w.copy_from_slice(p);
                        self.drop_weights(pass, i, h, r0, w, keys);
                        w
                    } else {
                        p
                    };
                    let d_out = block(g, r0 * E + h * d, rows, d, E);
                    // dV += Wᵀ·dO, W the (dropped) weights.
                    gemm(MatRef::row_major(weights, rows, keys).t(), d_out, 1.0, &mut dv[..keys * d]);
                    // dW = dO·Vᵀ, through the dropout, then the softmax: dS = P ⊙ (dW − ⟨dW, P⟩)·scale.
                    let dp = &mut dp[..rows * keys];
                    gemm(d_out, block(q, 2 * E + h * d, keys, d, 3 * E).t(), 0.0, dp);
                    for (r, (dp, p)) in dp.chunks_exact_mut(keys).zip(p.chunks_exact(keys)).enumerate() {
                        if self.drops(pass) {
                            for (j, v) in dp.iter_mut().enumerate() {
                                *v *= self.factor(pass, i, h, r0 + r, j);
                            }
                        }
                        let dot: f32 = interleaved_sum(keys, |j| dp[j] * p[j]);
                        for (v, &p) in dp.iter_mut().zip(p) {
                            *v = p * (*v - dot) * scale;
                        }
                    }
                    // dQ = dS·K for the block's queries; dK += dSᵀ·Q.
                    let dp = MatRef::row_major(dp, rows, keys);
                    let out = &mut out[..rows * d];
                    gemm(dp, block(q, E + h * d, keys, d, 3 * E), 0.0, out);
                    scatter(out, &mut dq[r0 * 3 * E..], h * d, d, 3 * E);
                    gemm(dp.t(), block(q, r0 * 3 * E + h * d, rows, d, 3 * E), 1.0, &mut dk[..keys * d]);
                }
                scatter(dk, dq, E + h * d, d, 3 * E);
                scatter(dv, dq, 2 * E + h * d, d, 3 * E);
            }
        }
        // in_proj: its gradients and the input's.
        gemm(MatRef::row_major(dqkv, rows, 3 * E).t(), MatRef::row_major(x, rows, E), 0.0, dw_in);
        if BIAS {
            db_in.fill(0.0);
            sum_rows_into(dqkv, db_in);
        }
        if let Some(dx) = dx {
            gemm(MatRef::row_major(dqkv, rows, 3 * E), MatRef::row_major(&params[..3 * E * E], 3 * E, E), 0.0, dx);
        }
    }
}
