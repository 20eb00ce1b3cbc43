//! ONNX export: a network as a standard ONNX model (opset [`OPSET`]) that onnxruntime, TensorRT, OpenVINO and the
//! other ONNX runtimes load, its weights as initializers under their `state_dict` names and its batch dimension
//! dynamic (`batch`; a sequence's steps are `steps` when its length is not fixed).
//!
//! Each layer becomes the operators that compute it in inference: `Gemm` (a `Linear` on flat inputs) or
//! `MatMul` + `Add` (per step on a sequence), `Conv`, `MaxPool`, `AveragePool`, `Flatten`, `Relu`, `LeakyRelu`,
//! `Elu`, `Sigmoid`, `Tanh`, `Softmax`, `LogSoftmax`, `BatchNormalization` on the running statistics, `Identity`
//! for dropout, `PRelu`, and ONNX's `RNN`, `LSTM` and `GRU` with their gate orders (`iofc` and `zrh`, PyTorch's
//! `ifgo` and `rzn` rearranged; `linear_before_reset` for the GRU, as PyTorch computes it). GELU, SiLU, Mish,
//! Softplus with β ≠ 1, Hardtanh and maxout are written out in primitive operators. The recurrent weights are
//! stored as ONNX lays them out, under `{layer}.onnx_W_l{k}`, `.onnx_R_l{k}` and `.onnx_B_l{k}`.

use super::onnx_schema as pb;
use super::write_atomic;
use crate::layers::Op;
use crate::net::{LayerInfo, Network, TensorInfo};
use crate::{Error, Result};
use pb::attribute_proto::AttributeType;
use pb::tensor_proto::DataType;
use prost::Message;
use std::path::Path;

/// The operator set the exported models use.
pub const OPSET: i64 = 17;
/// The ONNX IR version of the exported models (that of opset 17).
pub const IR_VERSION: i64 = 8;

/// Writes `net` to `path` (atomically) as an ONNX model: its inference graph, in eval mode (dropout the identity,
/// batch norm on its running statistics), with input `input` and output `output`.
///
/// # Errors
/// [`Error::Unexportable`] naming a layer ONNX cannot express (an activation without an ONNX form); [`Error::Io`] if the
/// file cannot be written.
pub fn save_onnx<N: Network>(net: &N, path: impl AsRef<Path>) -> Result<()> {
    write_atomic(path.as_ref(), &onnx_model(net)?.encode_to_vec())
}

/// The ONNX model [`save_onnx`] writes, as the schema's types.
///
/// # Errors
/// As [`save_onnx`].
pub fn onnx_model<N: Network>(net: &N) -> Result<pb::ModelProto> {
    let mut graph = Graph::default();
    let (mut params, mut buffers) = (N::TENSORS.iter(), N::BUFFER_TENSORS.iter());
    let mut input_shape = N::INPUT_SHAPE;
    let mut shape = Rank::of(input_shape);
    let mut x = "input".to_string();
    // The last recurrent layer's output and final hidden state, and its directions, for `FinalState`.
    let mut recurrent: Option<Recurrent> = None;
    for (info, op) in N::LAYERS.iter().zip(N::ops()) {
        let mut layer = Layer { graph: &mut graph, params: &mut params, net: net.params() };
        x = match op {
            Op::Linear { bias, .. } => layer.linear(&x, shape, bias),
            Op::Conv2d { kernel, stride, padding, bias, .. } => {
                let (w, b) = (layer.weight(), bias.then(|| layer.weight()));
                let mut inputs = vec![x.as_str(), w.as_str()];
                inputs.extend(b.as_deref());
                let pads = vec![padding as i64; 4];
                let (k, s) = (vec![kernel as i64; 2], vec![stride as i64; 2]);
                layer.graph.node("Conv", &inputs, vec![ints("kernel_shape", k), ints("strides", s), ints("pads", pads)])
            }
            Op::Pool { average, kernel, stride } => {
                let (k, s) = (vec![kernel as i64; 2], vec![stride as i64; 2]);
                let op = if average { "AveragePool" } else { "MaxPool" };
                layer.graph.node(op, &[&x], vec![ints("kernel_shape", k), ints("strides", s)])
            }
            Op::Flatten => layer.graph.node("Flatten", &[&x], vec![int("axis", 1)]),
            Op::Identity => layer.graph.node("Identity", &[&x], vec![]),
            Op::Unflatten { shape: [c, h, w] } => {
                let shape = layer.graph.constant_ints(&[0, c as i64, h as i64, w as i64]);
                layer.graph.node("Reshape", &[&x, &shape], vec![])
            }
            Op::Activation { name, settings } => activation(layer.graph, &x, name, settings)
                .ok_or_else(|| unexportable(info, format!("ONNX has no operator for the activation `{name}`")))?,
            Op::Softmax => layer.graph.node("Softmax", &[&x], vec![int("axis", -1)]),
            Op::LogSoftmax => layer.graph.node("LogSoftmax", &[&x], vec![int("axis", -1)]),
            Op::Dropout { .. } => layer.graph.node("Identity", &[&x], vec![]),
            // `network!` allows batch norm only before a sequence or after a reduction over time, so axis 1 is
            // its channels here, as ONNX normalises.
            Op::BatchNorm { eps, momentum, .. } => {
                let (scale, bias) = (layer.weight(), layer.weight());
                let mut stats = |graph: &mut Graph| {
                    let t = buffers.next().expect("batch norm has its buffers");
                    graph.initializer(t, &net.buffers()[t.offset..t.offset + t.len()], None)
                };
                let (mean, var) = (stats(layer.graph), stats(layer.graph));
                buffers.next(); // `num_batches_tracked`: training state, not read in inference.
                let attrs = vec![float("epsilon", eps), float("momentum", 1.0 - momentum)];
                layer.graph.node("BatchNormalization", &[&x, &scale, &bias, &mean, &var], attrs)
            }
            Op::PReLU { slopes, .. } => {
                // Broadcast as PyTorch does: one slope per channel of an image, per feature, or one for all.
                let dims = match (shape, input_shape) {
                    (Rank::Image, [c, ..]) if slopes == *c && slopes > 1 => vec![slopes as i64, 1, 1],
                    _ => vec![slopes as i64],
                };
                let slope = layer.weight_as(Some(dims));
                layer.graph.node("PRelu", &[&x, &slope], vec![])
            }
            Op::Maxout { outputs, pieces, .. } => {
                let (w, b) = (layer.weight(), layer.weight());
                let z = layer.graph.node("Gemm", &[&x, &w, &b], vec![int("transB", 1)]);
                let units = layer.graph.constant_ints(&[0, outputs as i64, pieces as i64]);
                let z = layer.graph.node("Reshape", &[&z, &units], vec![]);
                layer.graph.node("ReduceMax", &[&z], vec![ints("axes", vec![2]), int("keepdims", 0)])
            }
            Op::Recurrent { cell, hidden, layers, directions, bias, .. } => {
                let (y, y_h) = layer.recurrent(&x, cell, hidden, layers, directions, bias);
                recurrent = Some(Recurrent { y: y.clone(), y_h, hidden, directions });
                y
            }
            Op::Reduce { name } => match name {
                "Last" => step_of(&mut graph, &x, -1),
                "FinalState" => {
                    let r = recurrent.as_ref().expect("`network!` puts FinalState after a recurrent layer");
                    r.final_state(&mut graph, &x)
                }
                "MeanOverTime" => graph.node("ReduceMean", &[&x], vec![ints("axes", vec![1]), int("keepdims", 0)]),
                "MaxOverTime" => graph.node("ReduceMax", &[&x], vec![ints("axes", vec![1]), int("keepdims", 0)]),
                other => return Err(unexportable(info, format!("no ONNX form of the reduction `{other}`"))),
            },
        };
        input_shape = info.output_shape;
        shape = Rank::of(input_shape);
    }
    let output = graph.node("Identity", &[&x], vec![]);
    graph.rename(&output, "output");
    let last = N::LAYERS.last().map_or(N::INPUT_SHAPE, |l| l.output_shape);
    let graph = pb::GraphProto {
        name: Some(short_type_name::<N>().to_string()),
        node: graph.nodes,
        initializer: graph.initializers,
        input: vec![value_info("input", N::INPUT_SHAPE)],
        output: vec![value_info("output", last)],
        ..Default::default()
    };
    Ok(pb::ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![pb::OperatorSetIdProto { domain: Some(String::new()), version: Some(OPSET) }],
        producer_name: Some("nn".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        graph: Some(graph),
        ..Default::default()
    })
}

/// Reads an ONNX model file (as [`save_onnx`] writes it, or any other).
///
/// # Errors
/// [`Error::Io`] if the file cannot be read, [`Error::Format`] if it is not an ONNX model.
pub fn read_onnx(path: impl AsRef<Path>) -> Result<pb::ModelProto> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    pb::ModelProto::decode(bytes.as_slice()).map_err(|e| Error::format(path, format!("not an ONNX model: {e}")))
}

/// The values of an initializer: its `float_data` or its little-endian `raw_data`.
pub fn initializer_values(t: &pb::TensorProto) -> Vec<f32> {
    match &t.raw_data {
        Some(raw) => raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        None => t.float_data.clone(),
    }
}

/// The rank of a sample: how the layers' ONNX forms must treat it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rank {
    /// `[batch, features]`.
    Flat,
    /// `[batch, channels, height, width]`.
    Image,
    /// `[batch, steps, features]`.
    Sequence,
}

impl Rank {
    /// The rank of a sample of `shape` (as `LayerInfo::output_shape` gives it).
    fn of(shape: &[usize]) -> Self {
        match shape.len() {
            3 => Rank::Image,
            2 => Rank::Sequence,
            _ => Rank::Flat,
        }
    }
}

/// The graph under construction: nodes in order, initializers, and a counter for fresh value names.
#[derive(Default)]
struct Graph {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    fresh: usize,
}

impl Graph {
    /// Appends a node of `op` on `inputs` with `attributes`; returns the name of its (first) output.
    fn node(&mut self, op: &str, inputs: &[&str], attributes: Vec<pb::AttributeProto>) -> String {
        self.node_outputs(op, inputs, attributes, 1).remove(0)
    }

    /// Appends a node with `outputs` outputs; returns their names.
    fn node_outputs(
        &mut self,
        op: &str,
        inputs: &[&str],
        attribute: Vec<pb::AttributeProto>,
        outputs: usize,
    ) -> Vec<String> {
        self.fresh += 1;
        let name = format!("{op}_{}", self.fresh);
        let output: Vec<String> = (0..outputs).map(|k| format!("{name}:{k}")).collect();
        self.nodes.push(pb::NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: output.clone(),
            name: Some(name),
            op_type: Some(op.into()),
            attribute,
            ..Default::default()
        });
        output
    }

    /// Renames the value `from` (the output of the last node) to `to`.
    fn rename(&mut self, from: &str, to: &str) {
        for node in &mut self.nodes {
            for output in node.output.iter_mut().filter(|o| *o == from) {
                *output = to.into();
            }
        }
    }

    /// Adds tensor `t` with `values` as an initializer under its name, with its own shape or `dims`; returns the
    /// name.
    fn initializer(&mut self, t: &TensorInfo, values: &[f32], dims: Option<Vec<i64>>) -> String {
        let dims = dims.unwrap_or_else(|| t.shape.iter().map(|&d| d as i64).collect());
        self.float_tensor(t.name, dims, values)
    }

    /// Adds an f32 initializer `name`.
    fn float_tensor(&mut self, name: &str, dims: Vec<i64>, values: &[f32]) -> String {
        self.initializers.push(pb::TensorProto {
            dims,
            data_type: Some(DataType::Float as i32),
            name: Some(name.into()),
            raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
            ..Default::default()
        });
        name.into()
    }

    /// An f32 scalar constant.
    fn constant(&mut self, value: f32) -> String {
        self.fresh += 1;
        let name = format!("const_{}", self.fresh);
        self.float_tensor(&name, vec![], &[value])
    }

    /// A 1-D i64 constant (shapes, indices).
    fn constant_ints(&mut self, values: &[i64]) -> String {
        self.fresh += 1;
        let name = format!("const_{}", self.fresh);
        self.initializers.push(pb::TensorProto {
            dims: vec![values.len() as i64],
            data_type: Some(DataType::Int64 as i32),
            name: Some(name.clone()),
            int64_data: values.to_vec(),
            ..Default::default()
        });
        name
    }
}

/// One layer being exported: the graph, the layer, and the cursor over the network's parameter tensors.
struct Layer<'g, 'a, I: Iterator<Item = &'a TensorInfo>> {
    graph: &'g mut Graph,
    params: &'g mut I,
    net: &'g [f32],
}

impl<'a, I: Iterator<Item = &'a TensorInfo>> Layer<'_, 'a, I> {
    /// The next parameter tensor, as an initializer of its own shape.
    fn weight(&mut self) -> String {
        self.weight_as(None)
    }

    /// The next parameter tensor, as an initializer of its own shape or of `dims`.
    fn weight_as(&mut self, dims: Option<Vec<i64>>) -> String {
        let t = self.params.next().expect("the layer's tensors are in TENSORS");
        self.graph.initializer(t, &self.net[t.offset..t.offset + t.len()], dims)
    }

    /// `Linear`: `Gemm` on flat inputs; on a sequence, `MatMul` by `Wᵀ` then `Add` the bias.
    fn linear(&mut self, x: &str, shape: Rank, bias: bool) -> String {
        let w = self.weight();
        let b = bias.then(|| self.weight());
        if shape != Rank::Sequence {
            let mut inputs = vec![x, w.as_str()];
            inputs.extend(b.as_deref());
            return self.graph.node("Gemm", &inputs, vec![int("transB", 1)]);
        }
        let wt = self.graph.node("Transpose", &[&w], vec![ints("perm", vec![1, 0])]);
        let y = self.graph.node("MatMul", &[x, &wt], vec![]);
        match b {
            Some(b) => self.graph.node("Add", &[&y, &b], vec![]),
            None => y,
        }
    }

    /// A stack of recurrent layers as ONNX's `RNN`, `LSTM` or `GRU`, one node per stacked layer, in ONNX's
    /// time-major layout (`layout = 1` is optional in the standard and onnxruntime lacks it); returns the output
    /// sequence, `[batch, steps, D·H]`, and the last layer's final hidden state as ONNX gives it, `[D, batch, H]`.
    fn recurrent(
        &mut self,
        x: &str,
        cell: &str,
        hidden: usize,
        layers: usize,
        directions: usize,
        bias: bool,
    ) -> (String, String) {
        let (op, gates, order): (&str, usize, &[usize]) = match cell {
            // PyTorch's i, f, g, o as ONNX's i, o, f, c.
            "LSTM" => ("LSTM", 4, &[0, 3, 1, 2]),
            // PyTorch's r, z, n as ONNX's z, r, h.
            "GRU" => ("GRU", 3, &[1, 0, 2]),
            _ => ("RNN", 1, &[0]),
        };
        let rows = gates * hidden;
        let g = &mut *self.graph;
        // [batch, steps, F] → [steps, batch, F].
        let mut x = g.node("Transpose", &[x], vec![ints("perm", vec![1, 0, 2])]);
        let mut y_h = String::new();
        for l in 0..layers {
            // Per direction: weight_ih, weight_hh (and bias_ih, bias_hh), as TENSORS lists them.
            let (mut w, mut r, mut b) = (Vec::new(), Vec::new(), Vec::new());
            let mut prefix = String::new();
            for _ in 0..directions {
                let mut take = || {
                    let t = self.params.next().expect("the recurrent layer's tensors are in TENSORS");
                    (t, &self.net[t.offset..t.offset + t.len()])
                };
                let (ih, ih_values) = take();
                let (_, hh_values) = take();
                prefix = ih.name.rsplit_once(".weight_ih").map_or(ih.name, |(p, _)| p).to_string();
                w.extend(reorder(ih_values, order));
                r.extend(reorder(hh_values, order));
                if bias {
                    let (_, bih) = take();
                    let (_, bhh) = take();
                    b.extend(reorder(bih, order));
                    b.extend(reorder(bhh, order));
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
                "GRU" => attrs.push(int("linear_before_reset", 1)),
                "RNN_RELU" => attrs.push(strings("activations", &vec!["Relu"; directions])),
                "RNN_TANH" => attrs.push(strings("activations", &vec!["Tanh"; directions])),
                _ => {}
            }
            let outputs = g.node_outputs(op, &node_inputs, attrs, 2);
            // Y: [steps, D, batch, H] → [steps, batch, D·H], the directions concatenated per step.
            let y = g.node("Transpose", &[&outputs[0]], vec![ints("perm", vec![0, 2, 1, 3])]);
            let steps_major = g.constant_ints(&[0, 0, -1]);
            x = g.node("Reshape", &[&y, &steps_major], vec![]);
            y_h = outputs[1].clone();
        }
        let y = self.graph.node("Transpose", &[&x], vec![ints("perm", vec![1, 0, 2])]);
        (y, y_h)
    }
}

/// The values of the last recurrent layer `FinalState` reads.
struct Recurrent {
    /// Its output sequence, `[batch, steps, D·H]`.
    y: String,
    /// Its final hidden state as ONNX gives it, `[D, batch, H]`.
    y_h: String,
    hidden: usize,
    directions: usize,
}

impl Recurrent {
    /// `FinalState` of `x`: the layer's final hidden state when `x` is its output; after element-wise layers
    /// (`network!` allows nothing else between), those layers' values where the state was made — the forward
    /// half at the last step, the backward half at the first — as `nn` computes it.
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

/// An element-wise activation's ONNX form, or `None` for one ONNX cannot express.
fn activation(graph: &mut Graph, x: &str, name: &str, settings: [f32; 2]) -> Option<String> {
    let [a, b] = settings;
    Some(match name {
        "ReLU" => graph.node("Relu", &[x], vec![]),
        "LeakyReLU" => graph.node("LeakyRelu", &[x], vec![float("alpha", a)]),
        "ELU" => graph.node("Elu", &[x], vec![float("alpha", a)]),
        "Sigmoid" => graph.node("Sigmoid", &[x], vec![]),
        "Tanh" => graph.node("Tanh", &[x], vec![]),
        "SiLU" => {
            let s = graph.node("Sigmoid", &[x], vec![]);
            graph.node("Mul", &[x, &s], vec![])
        }
        "Mish" => {
            let s = graph.node("Softplus", &[x], vec![]);
            let t = graph.node("Tanh", &[&s], vec![]);
            graph.node("Mul", &[x, &t], vec![])
        }
        // PyTorch returns x itself where βx > threshold; softplus there equals x to f32 precision.
        "Softplus" if a == 1.0 => graph.node("Softplus", &[x], vec![]),
        "Softplus" => {
            let beta = graph.constant(a);
            let scaled = graph.node("Mul", &[x, &beta], vec![]);
            let s = graph.node("Softplus", &[&scaled], vec![]);
            graph.node("Div", &[&s, &beta], vec![])
        }
        "Hardtanh" => {
            let (min, max) = (graph.constant(a), graph.constant(b));
            graph.node("Clip", &[x, &min, &max], vec![])
        }
        "GELU" => {
            let half = graph.constant(0.5);
            let one = graph.constant(1.0);
            let inner = if a == 0.0 {
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
        _ => return None,
    })
}

/// The error for a layer ONNX cannot express.
fn unexportable(info: &LayerInfo, problem: String) -> Error {
    Error::Unexportable { layer: info.name, declaration: info.declaration, format: "ONNX", problem }
}

/// The graph input or output `name` for samples of `shape`, the batch (and any-length steps) symbolic.
fn value_info(name: &str, shape: &[usize]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    let dim = |value| Dimension { value: Some(value), ..Default::default() };
    let mut dims = vec![dim(Value::DimParam("batch".into()))];
    for (i, &d) in shape.iter().enumerate() {
        // A sequence of any length has 0 steps in its shape.
        dims.push(if d == 0 && i == 0 { dim(Value::DimParam("steps".into())) } else { dim(Value::DimValue(d as i64)) });
    }
    let tensor = pb::type_proto::Tensor {
        elem_type: Some(DataType::Float as i32),
        shape: Some(pb::TensorShapeProto { dim: dims }),
    };
    pb::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(pb::TypeProto { value: Some(pb::type_proto::Value::TensorType(tensor)), ..Default::default() }),
        ..Default::default()
    }
}

/// `N`'s name without its module path.
fn short_type_name<N>() -> &'static str {
    let full = std::any::type_name::<N>();
    full.rsplit("::").next().unwrap_or(full)
}

fn attribute(name: &str, kind: AttributeType) -> pb::AttributeProto {
    pb::AttributeProto { name: Some(name.into()), r#type: Some(kind as i32), ..Default::default() }
}

fn int(name: &str, value: i64) -> pb::AttributeProto {
    pb::AttributeProto { i: Some(value), ..attribute(name, AttributeType::Int) }
}

fn ints(name: &str, values: Vec<i64>) -> pb::AttributeProto {
    pb::AttributeProto { ints: values, ..attribute(name, AttributeType::Ints) }
}

fn float(name: &str, value: f32) -> pb::AttributeProto {
    pb::AttributeProto { f: Some(value), ..attribute(name, AttributeType::Float) }
}

fn string(name: &str, value: &str) -> pb::AttributeProto {
    pb::AttributeProto { s: Some(value.as_bytes().to_vec()), ..attribute(name, AttributeType::String) }
}

fn strings(name: &str, values: &[&str]) -> pb::AttributeProto {
    let strings = values.iter().map(|v| v.as_bytes().to_vec()).collect();
    pb::AttributeProto { strings, ..attribute(name, AttributeType::Strings) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_activation_without_an_onnx_form_is_an_error_naming_the_layer() {
        assert!(activation(&mut Graph::default(), "input", "Swish2", [0.0; 2]).is_none());
        let info = LayerInfo {
            name: "act",
            prefix: "act",
            depth: 0,
            blocks: &[],
            declaration: "Swish2",
            output_shape: &[4],
            params: 0,
            forward_macs: 0,
            train_macs: 0,
        };
        let message = unexportable(&info, "ONNX has no operator for the activation `Swish2`".into()).to_string();
        assert_eq!(
            message,
            "cannot export layer `act` (`Swish2`) to ONNX: ONNX has no operator for the activation `Swish2`"
        );
    }

    #[test]
    fn gate_blocks_are_reordered() {
        let values: Vec<f32> = (0..8).map(|v| v as f32).collect();
        assert_eq!(reorder(&values, &[0, 3, 1, 2]), [0.0, 1.0, 6.0, 7.0, 2.0, 3.0, 4.0, 5.0]);
    }
}
