//! ONNX export: a network as a standard ONNX model (opset [`OPSET`]) that onnxruntime, TensorRT, OpenVINO and the
//! other ONNX runtimes load, its weights as initializers under their `state_dict` names and its batch dimension
//! dynamic (`batch`; a sequence's steps are `steps` when its length is not fixed).
//!
//! The graph follows the network's own (`Plan::nodes`): each layer becomes the operators that compute it in
//! inference, a residual block's sum `Add` and a concatenation `Concat`. Layers take their tensors by name
//! (`{prefix}.weight`), and every kind of layer has an ONNX form: `Op` is matched exhaustively, so a new kind
//! without one does not compile. The forms: `Gemm` (a `Linear` on flat inputs) or `MatMul` + `Add` (per step on
//! a sequence), `Conv`, `ConvTranspose`, `MaxPool`, `AveragePool`, `GlobalAveragePool`, `Resize` (nearest), `Flatten`
//! and `Reshape`, `Relu`, `LeakyRelu`, `Elu`, `Sigmoid`, `Tanh`, `Softmax`, `LogSoftmax`, `BatchNormalization` on the
//! running statistics, `LayerNormalization`, `Gather` for `Embedding` (token ids as `int64`), `Identity` for dropout,
//! `PRelu`, and ONNX's `RNN`, `LSTM` and `GRU` with their gate orders (`iofc` and `zrh`, PyTorch's `ifgo` and `rzn`
//! rearranged; `linear_before_reset` for the GRU, as PyTorch computes it). GELU, SiLU, Mish, Softplus with β ≠ 1,
//! Hardtanh and maxout are written out in primitive operators. The recurrent weights are stored as ONNX lays them
//! out, under `{layer}.onnx_W_l{k}`, `.onnx_R_l{k}` and `.onnx_B_l{k}`.

mod attention;
mod graph;
mod layers;

use super::onnx_schema as pb;
use super::write_atomic;
use crate::net::Introspection;
use crate::net::{Network, Node};
use crate::{Error, Result};
use graph::{int, value_info, Graph};
use layers::{Export, Recurrent};
use pb::tensor_proto::DataType;
use prost::Message;
use std::path::Path;

/// The operator set the exported models use.
pub const OPSET: i64 = 17;
/// The ONNX IR version of the exported models (that of opset 17).
pub const IR_VERSION: i64 = 8;

/// Writes `net` to `path` (atomically) as an ONNX model: its inference graph, in eval mode (dropout the identity,
/// batch norm on its running statistics), with input `input` (`float`, or `int64` token ids) and output `output`.
///
/// # Errors
/// [`Error::Io`] if the file cannot be written.
pub fn save_onnx<N: Network>(net: &N, path: impl AsRef<Path>) -> Result<()> {
    write_atomic(path.as_ref(), &onnx_model(net)?.encode_to_vec())
}

/// A value of the exported graph: its name, a sample's shape, and for a recurrent layer's output (or element-wise
/// layers' values of it) that layer, which `FinalState` reads.
#[derive(Clone)]
struct Value {
    name: String,
    shape: Vec<usize>,
    recurrent: Option<Recurrent>,
}

/// The ONNX model [`save_onnx`] writes, as the schema's types.
///
/// # Errors
/// As [`save_onnx`].
pub fn onnx_model<N: Network>(net: &N) -> Result<pb::ModelProto> {
    let plan = N::PLAN;
    let ops = N::ops();
    let mut graph = Graph::default();
    let mut values = vec![Value { name: "input".into(), shape: N::INPUT_SHAPE.to_vec(), recurrent: None }];
    for node in plan.nodes {
        let value = match *node {
            Node::Layer { layer, input } => {
                let info = &N::LAYERS[layer];
                let mut export = Export {
                    graph: &mut graph,
                    info,
                    params: (N::TENSORS, net.params()),
                    buffers: (N::BUFFER_TENSORS, net.buffers()),
                };
                let (name, recurrent) = export.layer(ops[layer], &values[input])?;
                Value { name, shape: info.output_shape.to_vec(), recurrent }
            }
            Node::Add { a, b } => {
                let (x, y) = (&values[a], &values[b]);
                let name = graph.node("Add", &[&x.name, &y.name], vec![]);
                Value { name, shape: x.shape.clone(), recurrent: x.recurrent.clone() }
            }
            Node::Concat { parts } => {
                let first = &values[parts[0]];
                // Channels of an image and features of a vector are axis 1; features per step of a sequence 2.
                let (axis, along) = if first.shape.len() == 2 { (2, 1) } else { (1, 0) };
                let names: Vec<&str> = parts.iter().map(|&p| values[p].name.as_str()).collect();
                let name = graph.node("Concat", &names, vec![int("axis", axis)]);
                let mut shape = first.shape.clone();
                shape[along] = parts.iter().map(|&p| values[p].shape[along]).sum();
                Value { name, shape, recurrent: None }
            }
        };
        values.push(value);
    }
    let last = values.last().expect("the input is a value").clone();
    let output = graph.node("Identity", &[&last.name], vec![]);
    graph.rename(&output, "output");
    let elem = if plan.tokens > 0 { DataType::Int64 } else { DataType::Float };
    let graph = pb::GraphProto {
        name: Some(short_type_name::<N>().to_string()),
        node: graph.nodes,
        initializer: graph.initializers,
        input: vec![value_info("input", N::INPUT_SHAPE, elem)],
        output: vec![value_info("output", &last.shape, DataType::Float)],
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

/// `N`'s name without its module path.
fn short_type_name<N>() -> &'static str {
    let full = std::any::type_name::<N>();
    full.rsplit("::").next().unwrap_or(full)
}
