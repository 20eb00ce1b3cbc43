//! The ONNX forms of attention and positions, in opset 17 primitives: `[batch, steps, E]` in and out, the number
//! of steps read from the input's shape so one model serves every length.

use super::graph::{int, ints, Graph};
use super::layers::Export;
use crate::layers::sinusoid;
use crate::Result;

/// The input's number of steps as a 1-D tensor `[T]`.
fn steps(graph: &mut Graph, x: &str) -> String {
    let shape = graph.node("Shape", &[x], vec![]);
    let (one, two) = (graph.constant_ints(&[1]), graph.constant_ints(&[2]));
    graph.node("Slice", &[&shape, &one, &two], vec![])
}

/// `x + table[..T]` for a `[max_len, E]` table.
fn add_positions(graph: &mut Graph, x: &str, table: &str) -> String {
    let t = steps(graph, x);
    let (zero, axis) = (graph.constant_ints(&[0]), graph.constant_ints(&[0]));
    let rows = graph.node("Slice", &[table, &zero, &t, &axis], vec![]);
    graph.node("Add", &[x, &rows], vec![])
}

impl Export<'_, '_> {
    /// `PositionalEmbedding`: its table's first `T` rows added.
    pub(super) fn positional_embedding(&mut self, x: &str) -> Result<String> {
        let table = self.weight("weight")?;
        Ok(add_positions(self.graph, x, &table))
    }

    /// `PositionalEncoding`: the sinusoids of `max_len` positions as a constant, its first `T` rows added.
    pub(super) fn positional_encoding(&mut self, x: &str, max_len: usize, dim: usize) -> String {
        let values: Vec<f32> = (0..max_len * dim).map(|k| sinusoid(k / dim, k % dim, dim)).collect();
        let table = self.graph.constant_floats(vec![max_len as i64, dim as i64], &values);
        add_positions(self.graph, x, &table)
    }

    /// `MultiheadAttention`: the input projections as one `MatMul`, heads by `Reshape` and `Transpose`, the
    /// scores' `MatMul`, scale, causal mask (a `Trilu` of −∞ added) and `Softmax`, the product with V, and the
    /// output projection.
    pub(super) fn attention(
        &mut self,
        x: &str,
        embed: usize,
        heads: usize,
        causal: bool,
        bias: bool,
    ) -> Result<String> {
        let (e, h, d) = (embed as i64, heads as i64, (embed / heads) as i64);
        let w_in = self.weight("in_proj_weight")?;
        let w_out = self.weight("out_proj.weight")?;
        let (b_in, b_out) = match bias {
            true => (Some(self.weight("in_proj_bias")?), Some(self.weight("out_proj.bias")?)),
            false => (None, None),
        };
        let g = &mut *self.graph;
        let perm = |p: Vec<i64>| vec![ints("perm", p)];
        let w_in_t = g.node("Transpose", &[&w_in], perm(vec![1, 0]));
        let mut qkv = g.node("MatMul", &[x, &w_in_t], vec![]);
        if let Some(b) = &b_in {
            qkv = g.node("Add", &[&qkv, b], vec![]);
        }
        let sizes = g.constant_ints(&[e, e, e]);
        let parts = g.node_outputs("Split", &[&qkv, &sizes], vec![int("axis", 2)], 3);
        let heads_shape = g.constant_ints(&[0, 0, h, d]);
        let split = |g: &mut Graph, part: &str, order: Vec<i64>| {
            let r = g.node("Reshape", &[part, &heads_shape], vec![]);
            g.node("Transpose", &[&r], perm(order))
        };
        let q = split(g, &parts[0], vec![0, 2, 1, 3]);
        let k = split(g, &parts[1], vec![0, 2, 3, 1]);
        let v = split(g, &parts[2], vec![0, 2, 1, 3]);
        let scores = g.node("MatMul", &[&q, &k], vec![]);
        let scale = g.constant(1.0 / (d as f32).sqrt());
        let mut scores = g.node("Mul", &[&scores, &scale], vec![]);
        if causal {
            let t = steps(g, x);
            let square = g.node("Concat", &[&t, &t], vec![int("axis", 0)]);
            let minus_inf = g.constant(f32::NEG_INFINITY);
            let full = g.node("Expand", &[&minus_inf, &square], vec![]);
            // −∞ strictly above the diagonal (Trilu's `k` is a scalar: the 1-D constant squeezed), 0 elsewhere.
            let one = g.constant_ints(&[1]);
            let k = g.node("Squeeze", &[&one], vec![]);
            let mask = g.node("Trilu", &[&full, &k], vec![int("upper", 1)]);
            scores = g.node("Add", &[&scores, &mask], vec![]);
        }
        let weights = g.node("Softmax", &[&scores], vec![int("axis", -1)]);
        let heads_out = g.node("MatMul", &[&weights, &v], vec![]);
        let steps_first = g.node("Transpose", &[&heads_out], perm(vec![0, 2, 1, 3]));
        let joined_shape = g.constant_ints(&[0, 0, e]);
        let joined = g.node("Reshape", &[&steps_first, &joined_shape], vec![]);
        let w_out_t = g.node("Transpose", &[&w_out], perm(vec![1, 0]));
        let mut y = g.node("MatMul", &[&joined, &w_out_t], vec![]);
        if let Some(b) = &b_out {
            y = g.node("Add", &[&y, b], vec![]);
        }
        Ok(y)
    }
}
