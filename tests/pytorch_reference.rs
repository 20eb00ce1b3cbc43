//! Recurrent layers against PyTorch itself: `tests/data/pytorch/` holds state_dicts, inputs of mixed lengths,
//! initial states, outputs, final states and gradients written by `scripts/recurrent_reference.py` with
//! PyTorch 2.15 (packed sequences, `batch_first=True`). The files load unchanged, and the outputs, `h_n`, `c_n`
//! and every parameter's gradient agree with PyTorch's.

use nn::io::{load_weights, read_safetensors, Tensor};
use nn::prelude::*;
use std::collections::HashMap;
use std::path::Path;

network! {
    struct RnnTanhTwoLayers { Input<Seq, 10> -> rnn: RNN<10, 20, layers = 2> }
    struct RnnReluBidirectional { Input<Seq, 4> -> rnn: RNN<4, 6, nonlinearity = relu, bidirectional = true, bias = false> }
    struct LstmOneLayer { Input<Seq, 4> -> lstm: LSTM<4, 5> }
    struct LstmTwoLayersBidirectional { Input<Seq, 10> -> lstm: LSTM<10, 16, layers = 2, bidirectional = true> }
    struct GruBidirectional { Input<Seq, 4> -> gru: GRU<4, 6, bidirectional = true> }
    struct GruTwoLayers { Input<Seq, 4> -> gru: GRU<4, 6, layers = 2> }
}

/// The largest difference allowed: PyTorch computes in f32 too, summing in another order.
const TOLERANCE: f32 = 2e-5;

fn close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= TOLERANCE * (1.0 + w.abs()), "{what}[{i}]: {g} vs PyTorch's {w}");
    }
}

/// Per sample, the `[L·D, H]` rows of a PyTorch state `[L·D, B, H]`.
fn per_sample(state: &Tensor, sample: usize) -> Vec<f32> {
    let (layers, batch, hidden) = (state.shape[0], state.shape[1], state.shape[2]);
    (0..layers).flat_map(|l| state.values[(l * batch + sample) * hidden..][..hidden].to_vec()).collect()
}

fn check<N, const F: usize, const W: usize>(name: &str)
where
    N: Network<Input = Vec<[f32; F]>, Output = Vec<[f32; W]>>,
{
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pytorch");
    let mut net = N::new(0);
    load_weights(&mut net, dir.join(format!("{name}.weights.safetensors"))).unwrap();
    net.eval();
    let (data, _): (HashMap<String, Tensor>, _) =
        read_safetensors(&dir.join(format!("{name}.data.safetensors"))).unwrap();
    let (input, lengths) = (&data["input"], &data["lengths"]);
    let (batch, steps) = (input.shape[0], input.shape[1]);
    let lengths: Vec<usize> = lengths.values.iter().map(|&l| l as usize).collect();
    let xs: Vec<Vec<[f32; F]>> = (0..batch)
        .map(|i| (0..lengths[i]).map(|t| std::array::from_fn(|j| input.values[(i * steps + t) * F + j])).collect())
        .collect();
    // Initial states as nn lays them out: h0 then (LSTM) c0 of each sample.
    let initial: Vec<N::State> = (0..batch)
        .map(|i| {
            let mut s = N::State::zeroed();
            let values: Vec<f32> =
                ["h0", "c0"].iter().filter_map(|k| data.get(*k)).flat_map(|t| per_sample(t, i)).collect();
            N::State::flat_mut(std::slice::from_mut(&mut s)).copy_from_slice(&values);
            s
        })
        .collect();
    let mut ys = vec![Vec::new(); batch];
    let mut finals = initial.clone();
    net.forward_states(&xs, Some(&initial), &mut ys, Some(&mut finals)).unwrap();
    let output = &data["output"];
    for i in 0..batch {
        let want = &output.values[i * steps * W..][..lengths[i] * W];
        close(&format!("{name}: output of sample {i}"), ys[i].as_flattened(), want);
        let want: Vec<f32> =
            ["h_n", "c_n"].iter().filter_map(|k| data.get(*k)).flat_map(|t| per_sample(t, i)).collect();
        close(&format!("{name}: final state of sample {i}"), N::State::flat(std::slice::from_ref(&finals[i])), &want);
    }
    // Backpropagation through time from zero states, against autograd.
    let d_output = &data["d_output"];
    let d: Vec<Vec<[f32; W]>> = (0..batch)
        .map(|i| (0..lengths[i]).map(|t| std::array::from_fn(|j| d_output.values[(i * steps + t) * W + j])).collect())
        .collect();
    let grads = net.backward(&xs, &d, None).unwrap().to_vec();
    for t in N::TENSORS {
        close(
            &format!("{name}: gradient of {}", t.name),
            &grads[t.offset..t.offset + t.len()],
            &data[&format!("grad.{}", t.name)].values,
        );
    }
}

#[test]
fn rnn_matches_pytorch() {
    check::<RnnTanhTwoLayers, 10, 20>("rnn_tanh_2_layers");
    check::<RnnReluBidirectional, 4, 12>("rnn_relu_bidirectional_no_bias");
}

#[test]
fn lstm_matches_pytorch() {
    check::<LstmOneLayer, 4, 5>("lstm_1_layer");
    check::<LstmTwoLayersBidirectional, 10, 32>("lstm_2_layers_bidirectional");
}

#[test]
fn gru_matches_pytorch() {
    check::<GruBidirectional, 4, 12>("gru_bidirectional");
    check::<GruTwoLayers, 4, 6>("gru_2_layers");
}
