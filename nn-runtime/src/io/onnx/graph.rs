//! An ONNX graph under construction: nodes in order, initializers, fresh value names; and the attribute and
//! value-info helpers of the schema.

use crate::io::onnx_schema as pb;
use crate::net::TensorInfo;
use pb::attribute_proto::AttributeType;
use pb::tensor_proto::DataType;

/// The graph under construction: nodes in order, initializers, and a counter for fresh value names.
#[derive(Default)]
pub(super) struct Graph {
    pub nodes: Vec<pb::NodeProto>,
    pub initializers: Vec<pb::TensorProto>,
    fresh: usize,
}

impl Graph {
    /// Appends a node of `op` on `inputs` with `attributes`; returns the name of its (first) output.
    pub fn node(&mut self, op: &str, inputs: &[&str], attributes: Vec<pb::AttributeProto>) -> String {
        self.node_outputs(op, inputs, attributes, 1).remove(0)
    }

    /// Appends a node with `outputs` outputs; returns their names.
    pub fn node_outputs(
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

    /// Renames the value `from` (an output of some node) to `to`.
    pub fn rename(&mut self, from: &str, to: &str) {
        for node in &mut self.nodes {
            for output in node.output.iter_mut().filter(|o| *o == from) {
                *output = to.into();
            }
        }
    }

    /// Adds tensor `t` with `values` as an initializer under its name, with its own shape or `dims`; returns the
    /// name.
    pub fn initializer(&mut self, t: &TensorInfo, values: &[f32], dims: Option<Vec<i64>>) -> String {
        let dims = dims.unwrap_or_else(|| t.shape.iter().map(|&d| d as i64).collect());
        self.float_tensor(t.name, dims, values)
    }

    /// Adds an f32 initializer `name`.
    pub fn float_tensor(&mut self, name: &str, dims: Vec<i64>, values: &[f32]) -> String {
        self.initializers.push(pb::TensorProto {
            dims,
            data_type: Some(DataType::Float as i32),
            name: Some(name.into()),
            raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
            ..Default::default()
        });
        name.into()
    }

    /// An f32 constant of `dims` holding `values`.
    pub fn constant_floats(&mut self, dims: Vec<i64>, values: &[f32]) -> String {
        self.fresh += 1;
        let name = format!("const_{}", self.fresh);
        self.float_tensor(&name, dims, values)
    }

    /// An f32 scalar constant.
    pub fn constant(&mut self, value: f32) -> String {
        self.constant_floats(vec![], &[value])
    }

    /// A 1-D i64 constant (shapes, indices).
    pub fn constant_ints(&mut self, values: &[i64]) -> String {
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

/// The graph input or output `name` for samples of `shape` (elements of `elem`), the batch (and any-length
/// steps) symbolic.
pub(super) fn value_info(name: &str, shape: &[usize], elem: DataType) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value, Dimension};
    let dim = |value| Dimension { value: Some(value), ..Default::default() };
    let mut dims = vec![dim(Value::DimParam("batch".into()))];
    for (i, &d) in shape.iter().enumerate() {
        // A sequence of any length has 0 steps in its shape.
        dims.push(if d == 0 && i == 0 { dim(Value::DimParam("steps".into())) } else { dim(Value::DimValue(d as i64)) });
    }
    let tensor =
        pb::type_proto::Tensor { elem_type: Some(elem as i32), shape: Some(pb::TensorShapeProto { dim: dims }) };
    pb::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(pb::TypeProto { value: Some(pb::type_proto::Value::TensorType(tensor)), ..Default::default() }),
        ..Default::default()
    }
}

fn attribute(name: &str, kind: AttributeType) -> pb::AttributeProto {
    pb::AttributeProto { name: Some(name.into()), r#type: Some(kind as i32), ..Default::default() }
}

pub(super) fn int(name: &str, value: i64) -> pb::AttributeProto {
    pb::AttributeProto { i: Some(value), ..attribute(name, AttributeType::Int) }
}

pub(super) fn ints(name: &str, values: Vec<i64>) -> pb::AttributeProto {
    pb::AttributeProto { ints: values, ..attribute(name, AttributeType::Ints) }
}

pub(super) fn float(name: &str, value: f32) -> pb::AttributeProto {
    pb::AttributeProto { f: Some(value), ..attribute(name, AttributeType::Float) }
}

pub(super) fn string(name: &str, value: &str) -> pb::AttributeProto {
    pb::AttributeProto { s: Some(value.as_bytes().to_vec()), ..attribute(name, AttributeType::String) }
}

pub(super) fn strings(name: &str, values: &[&str]) -> pb::AttributeProto {
    let strings = values.iter().map(|v| v.as_bytes().to_vec()).collect();
    pb::AttributeProto { strings, ..attribute(name, AttributeType::Strings) }
}
