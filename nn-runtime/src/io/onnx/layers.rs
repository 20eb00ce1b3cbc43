//! Each layer's ONNX form, its tensors taken by name (`{prefix}.{suffix}`) from the network's tables.

use super::graph::{float, int, ints, string, strings, Graph};
use super::Value;
use crate::layers::{Activation, CellKind, Op, Reduction};
use crate::net::{LayerInfo, TensorInfo};
use crate::{Error, Result};

/// One layer being exported: the graph, the layer, and the network's tensors (tables and values).
pub(super) struct Export<'g, 'n> {
    pub graph: &'g mut Graph,
    pub info: &'n LayerInfo,
    pub params: (&'n [TensorInfo], &'n [f32]),
    pub buffers: (&'n [TensorInfo], &'n [f32]),
}

/// The last recurrent layer a value comes from, for `FinalState`.
#[derive(Clone)]
pub(super) struct Recurrent {
    /// Its output sequence, `[batch, steps, D·H]`.
    y: String,
    /// Its final hidden state as ONNX gives it, `[D, batch, H]`.
    y_h: String,
    hidden: usize,
    directions: usize,
}

/// How a sample of `shape` lies in an ONNX tensor: `[batch, features]`, `[batch, channels, height, width]` or
/// `[batch, steps, features]`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rank {
    Flat,
    Image,
    Sequence,
}

fn rank(shape: &[usize]) -> Rank {
    match shape.len() {
        3 => Rank::Image,
        2 => Rank::Sequence,
        _ => Rank::Flat,
    }
}

impl Export<'_, '_> {
    /// The layer's tensor `{prefix}.{suffix}` from `table`, as an initializer of its own shape or `dims`.
    fn tensor(&mut self, buffer: bool, suffix: &str, dims: Option<Vec<i64>>) -> Result<String> {
        let (table, values) = if buffer { self.buffers } else { self.params };
        let name = format!("{}.{suffix}", self.info.prefix);
        let Some(t) = table.iter().find(|t| t.name == name) else {
            return Err(self.unexportable(format!("its tensor `{name}` is not in the network's tables")));
        };
        Ok(self.graph.initializer(t, &values[t.offset..t.offset + t.len()], dims))
    }

    pub(super) fn weight(&mut self, suffix: &str) -> Result<String> {
        self.tensor(false, suffix, None)
    }

    /// The values of tensor `{prefix}.{suffix}`.
    fn values(&self, suffix: &str) -> Result<&[f32]> {
        let name = format!("{}.{suffix}", self.info.prefix);
        let (table, values) = self.params;
        match table.iter().find(|t| t.name == name) {
            Some(t) => Ok(&values[t.offset..t.offset + t.len()]),
            None => Err(self.unexportable(format!("its tensor `{name}` is not in the network's tables"))),
        }
    }

    fn unexportable(&self, problem: String) -> Error {
        Error::Unexportable { layer: self.info.name, declaration: self.info.declaration, format: "ONNX", problem }
    }

    /// The ONNX form of the layer `op` on `x`: its output, and the recurrent layer it carries for `FinalState`.
    pub fn layer(&mut self, op: Op, x: &Value) -> Result<(String, Option<Recurrent>)> {
        let name = x.name.as_str();
        let rank = rank(&x.shape);
        let plain = |name: String| Ok((name, None));
        // Element-wise layers keep the recurrent layer their input comes from.
        let keep = |name: String| Ok((name, x.recurrent.clone()));
        match op {
            Op::Linear { bias, .. } => plain(self.linear(name, rank, bias)?),
            Op::Conv2d { kernel, stride, padding, bias, .. } => {
                let (w, b) = (self.weight("weight")?, if bias { Some(self.weight("bias")?) } else { None });
                let mut inputs = vec![name, w.as_str()];
                inputs.extend(b.as_deref());
                let attrs = vec![
                    ints("kernel_shape", vec![kernel as i64; 2]),
                    ints("strides", vec![stride as i64; 2]),
                    ints("pads", vec![padding as i64; 4]),
                ];
                plain(self.graph.node("Conv", &inputs, attrs))
            }
            Op::ConvTranspose2d { kernel, stride, padding, output_padding, bias, .. } => {
                let (w, b) = (self.weight("weight")?, if bias { Some(self.weight("bias")?) } else { None });
                let mut inputs = vec![name, w.as_str()];
                inputs.extend(b.as_deref());
                let attrs = vec![
                    ints("kernel_shape", vec![kernel as i64; 2]),
                    ints("strides", vec![stride as i64; 2]),
                    ints("pads", vec![padding as i64; 4]),
                    ints("output_padding", vec![output_padding as i64; 2]),
                ];
                plain(self.graph.node("ConvTranspose", &inputs, attrs))
            }
            Op::Pool { average, kernel, stride } => {
                let (k, s) = (vec![kernel as i64; 2], vec![stride as i64; 2]);
                let op = if average { "AveragePool" } else { "MaxPool" };
                plain(self.graph.node(op, &[name], vec![ints("kernel_shape", k), ints("strides", s)]))
            }
            Op::Upsample { scale } => {
                // PyTorch's nearest: the source pixel is ⌊dst / scale⌋.
                let scales = self.graph.constant_floats(vec![4], &[1.0, 1.0, scale as f32, scale as f32]);
                let attrs = vec![
                    string("mode", "nearest"),
                    string("coordinate_transformation_mode", "asymmetric"),
                    string("nearest_mode", "floor"),
                ];
                plain(self.graph.node("Resize", &[name, "", &scales], attrs))
            }
            Op::GlobalAvgPool => {
                let pooled = self.graph.node("GlobalAveragePool", &[name], vec![]);
                plain(self.graph.node("Flatten", &[&pooled], vec![int("axis", 1)]))
            }
            Op::Flatten => plain(self.graph.node("Flatten", &[name], vec![int("axis", 1)])),
            Op::Identity => keep(self.graph.node("Identity", &[name], vec![])),
            Op::Unflatten { shape: [c, h, w] } => {
                let shape = self.graph.constant_ints(&[0, c as i64, h as i64, w as i64]);
                plain(self.graph.node("Reshape", &[name, &shape], vec![]))
            }
            Op::ToSeq { channels, positions } => {
                let shape = self.graph.constant_ints(&[0, channels as i64, positions as i64]);
                let grid = self.graph.node("Reshape", &[name, &shape], vec![]);
                plain(self.graph.node("Transpose", &[&grid], vec![ints("perm", vec![0, 2, 1])]))
            }
            Op::Activation(activation) => keep(activation_form(self.graph, name, activation)),
            Op::Softmax => plain(self.graph.node("Softmax", &[name], vec![int("axis", -1)])),
            Op::LogSoftmax => plain(self.graph.node("LogSoftmax", &[name], vec![int("axis", -1)])),
            Op::Dropout { .. } => keep(self.graph.node("Identity", &[name], vec![])),
            // Inference outputs μ, the first half of each row.
            Op::GaussianSample { latent } => {
                let (starts, ends) = (self.graph.constant_ints(&[0]), self.graph.constant_ints(&[latent as i64]));
                let axes = self.graph.constant_ints(&[-1]);
                plain(self.graph.node("Slice", &[name, &starts, &ends, &axes], vec![]))
            }
            // `network!` allows batch norm only before a sequence or after a reduction over time, so axis 1 is
            // its channels here, as ONNX normalises.
            Op::BatchNorm { eps, momentum, .. } => {
                let (scale, bias) = (self.weight("weight")?, self.weight("bias")?);
                let (mean, var) = (self.tensor(true, "running_mean", None)?, self.tensor(true, "running_var", None)?);
                let attrs = vec![float("epsilon", eps), float("momentum", 1.0 - momentum)];
                plain(self.graph.node("BatchNormalization", &[name, &scale, &bias, &mean, &var], attrs))
            }
            Op::LayerNorm { features, eps, affine, bias } => {
                let scale = match affine {
                    true => self.weight("weight")?,
                    false => self.graph.constant_floats(vec![features as i64], &vec![1.0; features]),
                };
                let shift = match (affine, bias) {
                    (true, true) => self.weight("bias")?,
                    _ => self.graph.constant_floats(vec![features as i64], &vec![0.0; features]),
                };
                let attrs = vec![int("axis", -1), float("epsilon", eps)];
                plain(self.graph.node("LayerNormalization", &[name, &scale, &shift], attrs))
            }
            Op::MultiheadAttention { embed, heads, causal, bias, .. } => {
                plain(self.attention(name, embed, heads, causal, bias)?)
            }
            Op::PositionalEmbedding { .. } => plain(self.positional_embedding(name)?),
            Op::PositionalEncoding { max_len, dim } => plain(self.positional_encoding(name, max_len, dim)),
            Op::Embedding { .. } => {
                let table = self.weight("weight")?;
                plain(self.graph.node("Gather", &[&table, name], vec![int("axis", 0)]))
            }
            Op::PReLU { slopes, .. } => {
                // Broadcast as PyTorch does: one slope per channel of an image, per feature, or one for all.
                let dims = match (rank, x.shape.as_slice()) {
                    (Rank::Image, [c, ..]) if slopes == *c && slopes > 1 => vec![slopes as i64, 1, 1],
                    _ => vec![slopes as i64],
                };
                let slope = self.tensor(false, "weight", Some(dims))?;
                keep(self.graph.node("PRelu", &[name, &slope], vec![]))
            }
            Op::Maxout { outputs, pieces, .. } => {
                let (w, b) = (self.weight("weight")?, self.weight("bias")?);
                let z = self.graph.node("Gemm", &[name, &w, &b], vec![int("transB", 1)]);
                let units = self.graph.constant_ints(&[0, outputs as i64, pieces as i64]);
                let z = self.graph.node("Reshape", &[&z, &units], vec![]);
                plain(self.graph.node("ReduceMax", &[&z], vec![ints("axes", vec![2]), int("keepdims", 0)]))
            }
            Op::Recurrent { cell, hidden, layers, directions, bias, .. } => {
                let (y, y_h) = self.recurrent(name, cell, hidden, layers, directions, bias)?;
                let recurrent = Recurrent { y: y.clone(), y_h, hidden, directions };
                Ok((y, Some(recurrent)))
            }
            Op::Reduce(reduction) => plain(match reduction {
                Reduction::Last => step_of(self.graph, name, -1),
                Reduction::FinalState => {
                    let Some(r) = &x.recurrent else {
                        return Err(self.unexportable("no recurrent layer's state reaches it".into()));
                    };
                    r.final_state(self.graph, name)
                }
                Reduction::MeanOverTime => {
                    self.graph.node("ReduceMean", &[name], vec![ints("axes", vec![1]), int("keepdims", 0)])
                }
                Reduction::MaxOverTime => {
                    self.graph.node("ReduceMax", &[name], vec![ints("axes", vec![1]), int("keepdims", 0)])
                }
            }),
        }
    }

    /// `Linear`: `Gemm` on flat inputs; on a sequence, `MatMul` by `Wᵀ` then `Add` the bias.
    fn linear(&mut self, x: &str, rank: Rank, bias: bool) -> Result<String> {
        let w = self.weight("weight")?;
        let b = if bias { Some(self.weight("bias")?) } else { None };
        if rank != Rank::Sequence {
            let mut inputs = vec![x, w.as_str()];
            inputs.extend(b.as_deref());
            return Ok(self.graph.node("Gemm", &inputs, vec![int("transB", 1)]));
        }
        let wt = self.graph.node("Transpose", &[&w], vec![ints("perm", vec![1, 0])]);
        let y = self.graph.node("MatMul", &[x, &wt], vec![]);
        Ok(match b {
            Some(b) => self.graph.node("Add", &[&y, &b], vec![]),
            None => y,
        })
    }

    /// A stack of recurrent layers as ONNX's `RNN`, `LSTM` or `GRU`, one node per stacked layer, in ONNX's
    /// time-major layout (`layout = 1` is optional in the standard and onnxruntime lacks it); returns the output
    /// sequence, `[batch, steps, D·H]`, and the last layer's final hidden state as ONNX gives it, `[D, batch, H]`.
    fn recurrent(
        &mut self,
        x: &str,
        cell: CellKind,
        hidden: usize,
        layers: usize,
        directions: usize,
        bias: bool,
    ) -> Result<(String, String)> {
        let (op, gates, order): (&str, usize, &[usize]) = match cell {
            // PyTorch's i, f, g, o as ONNX's i, o, f, c.
            CellKind::Lstm => ("LSTM", 4, &[0, 3, 1, 2]),
            // PyTorch's r, z, n as ONNX's z, r, h.
            CellKind::Gru => ("GRU", 3, &[1, 0, 2]),
            CellKind::RnnTanh | CellKind::RnnRelu => ("RNN", 1, &[0]),
        };
        let rows = gates * hidden;
        let prefix = self.info.prefix;
        // [batch, steps, F] → [steps, batch, F].
        let mut x = self.graph.node("Transpose", &[x], vec![ints("perm", vec![1, 0, 2])]);
        let mut y_h = String::new();
        for l in 0..layers {
            let (mut w, mut r, mut b) = (Vec::new(), Vec::new(), Vec::new());
            for suffix in ["", "_reverse"].into_iter().take(directions) {
                w.extend(reorder(self.values(&format!("weight_ih_l{l}{suffix}"))?, order));
                r.extend(reorder(self.values(&format!("weight_hh_l{l}{suffix}"))?, order));
                if bias {
                    b.extend(reorder(self.values(&format!("bias_ih_l{l}{suffix}"))?, order));
                    b.extend(reorder(self.values(&format!("bias_hh_l{l}{suffix}"))?, order));
                }
            }
            let g = &mut *self.graph;
            let inputs = (w.len() / (directions * rows)) as i64;
            let (d, rows) = (directions as i64, rows as i64);
            let w = g.float_tensor(&format!("{prefix}.onnx_W_l{l}"), vec![d, rows, inputs], &w);
            let r = g.float_tensor(&format!("{prefix}.onnx_R_l{l}"), vec![d, rows, hidden as i64], &r);
            let b = bias.then(|| g.float_tensor(&format!("{prefix}.onnx_B_l{l}"), vec![d, 2 * rows], &b));
            let mut node_inputs = vec![x.as_str(), w.as_str(), r.as_str()];
            node_inputs.extend(b.as_deref());
            let mut attrs = vec![
                int("hidden_size", hidden as i64),
                string("direction", if directions == 2 { "bidirectional" } else { "forward" }),
            ];
            match cell {
                CellKind::Gru => attrs.push(int("linear_before_reset", 1)),
                CellKind::RnnRelu => attrs.push(strings("activations", &vec!["Relu"; directions])),
                CellKind::RnnTanh => attrs.push(strings("activations", &vec!["Tanh"; directions])),
                CellKind::Lstm => {}
            }
            let outputs = g.node_outputs(op, &node_inputs, attrs, 2);
            // Y: [steps, D, batch, H] → [steps, batch, D·H], the directions concatenated per step.
            let y = g.node("Transpose", &[&outputs[0]], vec![ints("perm", vec![0, 2, 1, 3])]);
            let steps_major = g.constant_ints(&[0, 0, -1]);
            x = g.node("Reshape", &[&y, &steps_major], vec![]);
            y_h = outputs[1].clone();
        }
        let y = self.graph.node("Transpose", &[&x], vec![ints("perm", vec![1, 0, 2])]);
        Ok((y, y_h))
    }
}

impl Recurrent {
    /// `FinalState` of `x`: the layer's final hidden state when `x` is its output; after element-wise layers,
    /// those layers' values where the state was made — the forward half at the last step, the backward half at
    /// the first — as `nn` computes it.
    fn final_state(&self, graph: &mut Graph, x: &str) -> String {
        if x == self.y {
            // [D, batch, H] → [batch, D·H].
            let h = graph.node("Transpose", &[&self.y_h], vec![ints("perm", vec![1, 0, 2])]);
            let flat = graph.constant_ints(&[0, -1]);
            return graph.node("Reshape", &[&h, &flat], vec![]);
        }
        let last = step_of(graph, x, -1);
        if self.directions == 1 {
            return last;
        }
        let first = step_of(graph, x, 0);
        let h = self.hidden as i64;
        let half = |graph: &mut Graph, v: &str, from: i64, to: i64| {
            let (starts, ends, axes) =
                (graph.constant_ints(&[from]), graph.constant_ints(&[to]), graph.constant_ints(&[1]));
            graph.node("Slice", &[v, &starts, &ends, &axes], vec![])
        };
        let forward = half(graph, &last, 0, h);
        let backward = half(graph, &first, h, 2 * h);
        graph.node("Concat", &[&forward, &backward], vec![int("axis", 1)])
    }
}

/// Step `t` (from the end if negative) of every sequence of `x`, `[batch, steps, F]` → `[batch, F]`.
fn step_of(graph: &mut Graph, x: &str, t: i64) -> String {
    let index = graph.constant_ints(&[t]);
    let y = graph.node("Gather", &[x, &index], vec![int("axis", 1)]);
    let flat = graph.constant_ints(&[0, -1]);
    graph.node("Reshape", &[&y, &flat], vec![])
}

/// The gate blocks of `values` (equal parts, one per gate) in `order`.
fn reorder(values: &[f32], order: &[usize]) -> Vec<f32> {
    let block = values.len() / order.len();
    order.iter().flat_map(|&g| &values[g * block..(g + 1) * block]).copied().collect()
}

/// An element-wise activation's ONNX form.
fn activation_form(graph: &mut Graph, x: &str, activation: Activation) -> String {
    match activation {
        Activation::ReLU => graph.node("Relu", &[x], vec![]),
        Activation::LeakyReLU { slope } => graph.node("LeakyRelu", &[x], vec![float("alpha", slope)]),
        Activation::ELU { alpha } => graph.node("Elu", &[x], vec![float("alpha", alpha)]),
        Activation::Sigmoid => graph.node("Sigmoid", &[x], vec![]),
        Activation::Tanh => graph.node("Tanh", &[x], vec![]),
        Activation::SiLU => {
            let s = graph.node("Sigmoid", &[x], vec![]);
            graph.node("Mul", &[x, &s], vec![])
        }
        Activation::Mish => {
            let s = graph.node("Softplus", &[x], vec![]);
            let t = graph.node("Tanh", &[&s], vec![]);
            graph.node("Mul", &[x, &t], vec![])
        }
        // PyTorch returns x itself where βx > threshold; softplus there equals x to f32 precision.
        Activation::Softplus { beta: 1.0, .. } => graph.node("Softplus", &[x], vec![]),
        Activation::Softplus { beta, .. } => {
            let beta = graph.constant(beta);
            let scaled = graph.node("Mul", &[x, &beta], vec![]);
            let s = graph.node("Softplus", &[&scaled], vec![]);
            graph.node("Div", &[&s, &beta], vec![])
        }
        Activation::Hardtanh { min, max } => {
            let (min, max) = (graph.constant(min), graph.constant(max));
            graph.node("Clip", &[x, &min, &max], vec![])
        }
        Activation::GELU { tanh } => {
            let half = graph.constant(0.5);
            let one = graph.constant(1.0);
            let inner = if !tanh {
                // ½x(1 + erf(x/√2))
                let root2 = graph.constant(std::f32::consts::SQRT_2);
                let scaled = graph.node("Div", &[x, &root2], vec![]);
                graph.node("Erf", &[&scaled], vec![])
            } else {
                // ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
                let (c, k) = (graph.constant(0.044_715), graph.constant((2.0 / std::f32::consts::PI).sqrt()));
                let x3 = graph.node("Mul", &[x, x], vec![]);
                let x3 = graph.node("Mul", &[&x3, x], vec![]);
                let cx3 = graph.node("Mul", &[&x3, &c], vec![]);
                let sum = graph.node("Add", &[x, &cx3], vec![]);
                let scaled = graph.node("Mul", &[&sum, &k], vec![]);
                graph.node("Tanh", &[&scaled], vec![])
            };
            let plus = graph.node("Add", &[&inner, &one], vec![]);
            let hx = graph.node("Mul", &[x, &half], vec![]);
            graph.node("Mul", &[&hx, &plus], vec![])
        }
    }
}
