//! `nn::io::save_onnx`: the written file decoded and checked node by node and initializer by initializer. (That
//! onnxruntime computes what `nn` computes is `scripts/check_onnx.py`'s part.)

use nn::io::onnx_schema::{tensor_shape_proto::dimension::Value, type_proto, ModelProto, ValueInfoProto};
use nn::io::{initializer_values, read_onnx, save_onnx, OPSET};
mod common;

use common::LeNet5;
use nn::prelude::*;

network! {
    pub struct BnNet {
        Input<1, 8, 8> -> conv: Conv2d<1, 4, 3, bias = false> -> bn: BatchNorm -> ReLU -> AvgPool<2, 2> -> Flatten
        -> Dropout<0.5> -> fc: Linear<36, 3> -> Softmax
    }

    pub struct Tagger { Input<Seq, 4> -> lstm: LSTM<4, 3, bidirectional = true> -> head: Linear<6, 2> }

    pub struct SigmoidState { Input<Seq, 4> -> lstm: LSTM<4, 8> -> Sigmoid -> FinalState -> fc: Linear<8, 3> }

    pub struct BiTanhState {
        Input<Seq, 4> -> gru: GRU<4, 5, bidirectional = true> -> Dropout<0.3> -> Tanh -> FinalState -> fc: Linear<10, 2>
    }
}

fn export<N: Network>(net: &N) -> ModelProto {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.onnx");
    save_onnx(net, &path).unwrap();
    read_onnx(&path).unwrap()
}

fn ops(model: &ModelProto) -> Vec<&str> {
    model.graph.as_ref().unwrap().node.iter().map(|n| n.op_type.as_deref().unwrap()).collect()
}

fn dims(info: &ValueInfoProto) -> Vec<String> {
    let Some(type_proto::Value::TensorType(t)) = &info.r#type.as_ref().unwrap().value else { panic!("a tensor") };
    let dim = |d: &nn::io::onnx_schema::tensor_shape_proto::Dimension| match d.value.as_ref().unwrap() {
        Value::DimValue(v) => v.to_string(),
        Value::DimParam(p) => p.clone(),
    };
    t.shape.as_ref().unwrap().dim.iter().map(dim).collect()
}

/// The initializer called `name`: its dims and values.
fn initializer(model: &ModelProto, name: &str) -> (Vec<i64>, Vec<f32>) {
    let t = model.graph.as_ref().unwrap().initializer.iter().find(|t| t.name.as_deref() == Some(name));
    let t = t.unwrap_or_else(|| panic!("no initializer {name}"));
    (t.dims.clone(), initializer_values(t))
}

#[test]
fn lenet5_is_the_standard_graph_with_every_tensor() {
    let net = LeNet5::new(3);
    let model = export(&net);
    assert_eq!(model.opset_import[0].version, Some(OPSET));
    const { assert!(OPSET >= 13) };
    assert_eq!(
        ops(&model),
        [
            "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm",
            "Identity"
        ]
    );
    let graph = model.graph.as_ref().unwrap();
    assert_eq!(dims(&graph.input[0]), ["batch", "1", "28", "28"]);
    assert_eq!(dims(&graph.output[0]), ["batch", "10"]);
    assert_eq!(graph.node.last().unwrap().output, ["output"]);
    for t in LeNet5::TENSORS {
        let (d, values) = initializer(&model, t.name);
        assert_eq!(d, t.shape.iter().map(|&s| s as i64).collect::<Vec<_>>(), "{}", t.name);
        assert_eq!(values, net.param(t.name).unwrap(), "{}", t.name);
    }
    let conv = &graph.node[0];
    assert_eq!(conv.input, ["input", "conv1.weight", "conv1.bias"]);
    let gemm = graph.node.iter().find(|n| n.op_type.as_deref() == Some("Gemm")).unwrap();
    assert_eq!(gemm.attribute[0].name.as_deref(), Some("transB"));
    assert_eq!(gemm.attribute[0].i, Some(1));
}

#[test]
fn batch_norm_exports_its_running_statistics_and_dropout_is_the_identity() {
    let mut net = BnNet::new(1);
    net.buffers_mut().iter_mut().enumerate().for_each(|(i, v)| *v = 0.5 + i as f32);
    let model = export(&net);
    assert_eq!(
        ops(&model),
        ["Conv", "BatchNormalization", "Relu", "AveragePool", "Flatten", "Identity", "Gemm", "Softmax", "Identity"]
    );
    let bn = &model.graph.as_ref().unwrap().node[1];
    assert_eq!(bn.input[1..], ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]);
    assert_eq!(bn.attribute[0].f, Some(1e-5));
    assert_eq!(initializer(&model, "bn.running_mean").1, &net.buffers()[..4]);
    assert_eq!(initializer(&model, "bn.running_var").1, &net.buffers()[4..8]);
}

#[test]
fn lstm_weights_are_in_onnx_gate_order_with_both_directions() {
    let net = Tagger::new(2);
    let model = export(&net);
    let graph = model.graph.as_ref().unwrap();
    assert_eq!(dims(&graph.input[0]), ["batch", "steps", "4"]);
    let lstm = graph.node.iter().find(|n| n.op_type.as_deref() == Some("LSTM")).unwrap();
    assert_eq!(lstm.input[1..], ["lstm.onnx_W_l0", "lstm.onnx_R_l0", "lstm.onnx_B_l0"]);
    let direction = lstm.attribute.iter().find(|a| a.name.as_deref() == Some("direction")).unwrap();
    assert_eq!(direction.s.as_deref(), Some(&b"bidirectional"[..]));
    let (d, w) = initializer(&model, "lstm.onnx_W_l0");
    assert_eq!(d, [2, 12, 4]);
    // PyTorch's blocks of 3 rows are i, f, g, o; ONNX's are i, o, f, c (= g).
    for (dir, suffix) in ["", "_reverse"].into_iter().enumerate() {
        let torch = net.param(&format!("lstm.weight_ih_l0{suffix}")).unwrap();
        let block = |g: usize| &torch[g * 12..(g + 1) * 12];
        let onnx = &w[dir * 48..(dir + 1) * 48];
        assert_eq!(onnx, [block(0), block(3), block(1), block(2)].concat(), "direction {dir}");
    }
    let (d, b) = initializer(&model, "lstm.onnx_B_l0");
    assert_eq!(d, [2, 24]);
    let bias_hh = net.param("lstm.bias_hh_l0").unwrap();
    assert_eq!(&b[12..15], &bias_hh[..3], "R's biases follow W's, gate i first");
}

/// The operators of the nodes `value` is computed from (itself included), and whether the graph's input is
/// among what it reads.
fn ancestry(model: &ModelProto, value: &str) -> (Vec<String>, bool) {
    let graph = model.graph.as_ref().unwrap();
    let (mut ops, mut reads_input, mut todo) = (Vec::new(), false, vec![value.to_string()]);
    let mut seen = std::collections::HashSet::new();
    while let Some(v) = todo.pop() {
        reads_input |= v == "input";
        if let Some(node) = graph.node.iter().find(|n| n.output.contains(&v)) {
            if seen.insert(node.name.clone()) {
                ops.push(node.op_type.clone().unwrap());
                todo.extend(node.input.iter().cloned());
            }
        }
    }
    (ops, reads_input)
}

/// Every value `value` is computed from: the inputs of the nodes it depends on (initializers included).
fn reads(model: &ModelProto, value: &str) -> Vec<String> {
    let graph = model.graph.as_ref().unwrap();
    let (mut seen, mut todo) = (Vec::new(), vec![value.to_string()]);
    while let Some(v) = todo.pop() {
        if let Some(node) = graph.node.iter().find(|n| n.output.contains(&v)) {
            for input in &node.input {
                if !seen.contains(input) {
                    seen.push(input.clone());
                    todo.push(input.clone());
                }
            }
        }
    }
    seen
}

/// Every node's output feeds another node or is the graph's output: nothing the network computes is left out of
/// what the model returns.
fn assert_no_dead_nodes(model: &ModelProto) {
    let graph = model.graph.as_ref().unwrap();
    for node in &graph.node {
        let used = node.output.iter().any(|o| o == "output" || graph.node.iter().any(|n| n.input.contains(o)));
        // An LSTM's second output (Y_h) may go unread; its first never.
        assert!(used, "{:?} ({:?}) feeds nothing", node.name, node.op_type);
    }
}

#[test]
fn final_state_after_element_wise_layers_reads_their_values() {
    for model in [export(&SigmoidState::new(1)), export(&BiTanhState::new(2))] {
        assert_no_dead_nodes(&model);
        let (ops, reads_input) = ancestry(&model, "output");
        assert!(reads_input);
        let activation = if ops.iter().any(|o| o == "LSTM") { "Sigmoid" } else { "Tanh" };
        assert!(ops.iter().any(|o| o == activation), "the output is computed without the {activation}: {ops:?}");
    }
    // Straight after the recurrent layer, `FinalState` is ONNX's own final hidden state.
    let model = export(&Tagger::new(2));
    assert_no_dead_nodes(&model);
}

network! {
    /// A residual block with a strided shortcut, channels concatenated, upsampling back, a transposed
    /// convolution, layer norm and global pooling: every operator a network that branches exports.
    pub struct Branchy {
        Input<2, 8, 8>
        -> stem: Conv2d<2, 4, 3, padding = 1> -> bn: BatchNorm -> ReLU
        -> down: Residual { conv: Conv2d<4, 6, 3, stride = 2, padding = 1> -> ReLU } shortcut { conv: Conv2d<4, 6, 1, stride = 2> }
        -> mix: Concat { a: Conv2d<6, 2, 1> | Identity }
        -> up: ConvTranspose2d<8, 3, 4, stride = 2, padding = 1> -> Upsample<2> -> GlobalAvgPool
        -> ln: LayerNorm<3> -> fc: Linear<3, 2>
    }

    /// Token ids, an embedding and a residual MLP per step.
    pub struct Tokens {
        Input<Seq, Tokens<20>> -> emb: Embedding<20, 8>
        -> Residual { ln: LayerNorm<8> -> fc1: Linear<8, 16> -> GELU -> fc2: Linear<16, 8> } -> out: Linear<8, 3>
    }
}

#[test]
fn a_network_that_branches_exports_its_graph() {
    let model = export(&Branchy::new(4));
    assert_no_dead_nodes(&model);
    let ops = ops(&model);
    for op in
        ["Add", "Concat", "ConvTranspose", "Resize", "GlobalAveragePool", "LayerNormalization", "BatchNormalization"]
    {
        assert!(ops.contains(&op), "{op} missing from {ops:?}");
    }
    let graph = model.graph.as_ref().unwrap();
    let node = |op: &str| graph.node.iter().find(|n| n.op_type.as_deref() == Some(op)).unwrap();
    // The sum reads the body's output and the shortcut's, each computed from the block's input.
    let add = node("Add");
    let (body, shortcut) = (reads(&model, &add.input[0]), reads(&model, &add.input[1]));
    assert!(body.contains(&"down.conv.weight".to_string()) && !body.contains(&"down.shortcut.conv.weight".to_string()));
    assert!(
        shortcut.contains(&"down.shortcut.conv.weight".to_string()) && shortcut.contains(&"stem.weight".to_string())
    );
    let concat = node("Concat");
    assert_eq!(concat.attribute[0].i, Some(1), "images are joined along their channels");
    let identity = graph.node.iter().find(|n| n.output[0] == concat.input[1]).unwrap();
    assert_eq!((identity.op_type.as_deref(), &identity.input[0]), (Some("Identity"), &add.output[0]), "the sum itself");
    assert_eq!(dims(&graph.output[0]), ["batch", "2"]);
    for t in Branchy::TENSORS {
        assert!(graph.initializer.iter().any(|i| i.name.as_deref() == Some(t.name)), "{} missing", t.name);
    }
    let (d, _) = initializer(&model, "up.weight");
    assert_eq!(d, [8, 3, 4, 4], "PyTorch's [in, out, K, K]");
}

#[test]
fn token_ids_are_an_int64_input_gathered_from_the_embedding() {
    use nn::io::onnx_schema::tensor_proto::DataType;
    let model = export(&Tokens::new(5));
    assert_no_dead_nodes(&model);
    let graph = model.graph.as_ref().unwrap();
    let Some(type_proto::Value::TensorType(input)) = &graph.input[0].r#type.as_ref().unwrap().value else { panic!() };
    assert_eq!(input.elem_type, Some(DataType::Int64 as i32));
    assert_eq!(dims(&graph.input[0]), ["batch", "steps"]);
    let gather = graph.node.iter().find(|n| n.op_type.as_deref() == Some("Gather")).unwrap();
    assert_eq!(gather.input, ["emb.weight", "input"]);
    // Three per-step linear layers' biases, GELU's `1 + erf`, and the residual sum.
    assert_eq!(ops(&model).iter().filter(|o| **o == "Add").count(), 5);
}

network! {
    pub struct Vae { Input<6> -> enc: Linear<6, 8> -> Tanh -> stats: Linear<8, 6> -> z: GaussianSample<3> -> dec: Linear<3, 6> -> Sigmoid }
}

#[test]
fn a_gaussian_sample_exports_as_its_inference_the_mean() {
    let model = export(&Vae::new(1));
    let ops: Vec<&str> = ops(&model).into_iter().filter(|&op| op != "Constant").collect();
    assert_eq!(ops, ["Gemm", "Tanh", "Gemm", "Slice", "Gemm", "Sigmoid", "Identity"]);
    let graph = model.graph.as_ref().unwrap();
    let slice = graph.node.iter().find(|n| n.op_type.as_deref() == Some("Slice")).unwrap();
    // data, starts, ends, axes: the first 3 of the last axis.
    let ints = |name: &str| -> Vec<i64> {
        let t = graph.initializer.iter().find(|t| t.name.as_deref() == Some(name));
        let from_node = graph.node.iter().find(|n| n.output.first().map(String::as_str) == Some(name));
        match (t, from_node) {
            (Some(t), _) => t.int64_data.clone(),
            (None, Some(n)) => n.attribute[0].t.as_ref().unwrap().int64_data.clone(),
            _ => panic!("no constant {name}"),
        }
    };
    assert_eq!([ints(&slice.input[1]), ints(&slice.input[2]), ints(&slice.input[3])], [vec![0], vec![3], vec![-1]]);
}

#[test]
fn a_chain_exports_one_graph_with_the_second_part_reading_the_first() {
    type Pair = nn::Chain<Branchy, Classifier>;
    network! {
        pub struct Classifier { Input<2> -> fc: Linear<2, 3> -> Softmax }
    }
    let model = export(&Pair::new(5));
    assert_no_dead_nodes(&model);
    let graph = model.graph.as_ref().unwrap();
    for t in Pair::TENSORS {
        assert!(graph.initializer.iter().any(|i| i.name.as_deref() == Some(t.name)), "{} missing", t.name);
    }
    assert_eq!(dims(&graph.output[0]), ["batch", "3"]);
    // The classifier's product reads everything before it, from the first part's stem onwards.
    let gemm = graph.node.iter().find(|n| n.input.iter().any(|i| i == "classifier.fc.weight")).unwrap();
    let before = reads(&model, &gemm.output[0]);
    assert!(before.contains(&"branchy.stem.weight".to_string()), "{before:?}");
    assert!(before.contains(&"branchy.down.shortcut.conv.weight".to_string()), "{before:?}");
    assert!(ancestry(&model, &gemm.output[0]).1, "it reads the graph's input");
}
