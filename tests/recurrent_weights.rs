//! Recurrent layers against PyTorch: files laid out as `torch.nn.RNN/LSTM/GRU(..., batch_first=True).state_dict()`
//! saves them load by name, and the outputs and final states equal PyTorch's equations written out here in f64
//! (one sample, one step at a time, every tensor looked up by its PyTorch name).

mod common;

use common::{f32s, handmade, sequences};
use nn::io::{load_weights, save_weights};
use nn::prelude::*;
use nn::Rng;
use std::collections::HashMap;

network! {
    struct LstmOne { Input<Seq, 3> -> lstm: LSTM<3, 4> }
    struct LstmTwoBi { Input<Seq, 3> -> lstm: LSTM<3, 4, layers = 2, bidirectional = true> }
    struct GruBi { Input<Seq, 3> -> gru: GRU<3, 4, bidirectional = true> }
    struct GruTwo { Input<Seq, 3> -> gru: GRU<3, 4, layers = 2> }
    struct RnnTwo { Input<Seq, 3> -> rnn: RNN<3, 4, layers = 2> }
    struct ReluBiNoBias { Input<Seq, 3> -> rnn: RNN<3, 4, nonlinearity = relu, bidirectional = true, bias = false> }
    /// `torch.nn.LSTM(10, 16, 2, batch_first=True, bidirectional=True)` and a head.
    struct Classifier { Input<Seq, 10> -> lstm: LSTM<10, 16, layers = 2, bidirectional = true> -> Last -> fc: Linear<32, 5> }
}

#[derive(Clone, Copy, PartialEq)]
enum Cell {
    Tanh,
    Relu,
    Lstm,
    Gru,
}

/// A recurrent module as PyTorch declares it.
#[derive(Clone, Copy)]
struct Module {
    prefix: &'static str,
    cell: Cell,
    input: usize,
    hidden: usize,
    layers: usize,
    dirs: usize,
    bias: bool,
}

impl Module {
    fn gates(&self) -> usize {
        match self.cell {
            Cell::Tanh | Cell::Relu => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }

    /// Its `state_dict` entries in PyTorch's order: names and shapes.
    fn state_dict(&self) -> Vec<(String, Vec<usize>)> {
        let (g, h) = (self.gates() * self.hidden, self.hidden);
        let mut entries = Vec::new();
        for l in 0..self.layers {
            for suffix in &["", "_reverse"][..self.dirs] {
                let input = if l == 0 { self.input } else { h * self.dirs };
                let p = self.prefix;
                entries.push((format!("{p}.weight_ih_l{l}{suffix}"), vec![g, input]));
                entries.push((format!("{p}.weight_hh_l{l}{suffix}"), vec![g, h]));
                if self.bias {
                    entries.push((format!("{p}.bias_ih_l{l}{suffix}"), vec![g]));
                    entries.push((format!("{p}.bias_hh_l{l}{suffix}"), vec![g]));
                }
            }
        }
        entries
    }

    /// PyTorch's output `[T, H·D]` and `h_n` then (LSTM) `c_n`, each `[L·D, H]`, for one sequence.
    fn reference(&self, w: &HashMap<String, Vec<f32>>, x: &[Vec<f64>]) -> (Vec<Vec<f64>>, Vec<f64>) {
        let (h, steps) = (self.hidden, x.len());
        let sigmoid = |v: f64| 1.0 / (1.0 + (-v).exp());
        let times = |m: &[f32], v: &[f64]| -> Vec<f64> {
            m.chunks_exact(v.len()).map(|row| row.iter().zip(v).map(|(&a, b)| f64::from(a) * b).sum()).collect()
        };
        let mut input = x.to_vec();
        let (mut h_n, mut c_n): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
        for l in 0..self.layers {
            let mut out = vec![vec![0.0; h * self.dirs]; steps];
            for (d, suffix) in ["", "_reverse"][..self.dirs].iter().enumerate() {
                let get = |name: &str| w.get(&format!("{}.{name}_l{l}{suffix}", self.prefix));
                let (w_ih, w_hh) = (get("weight_ih").unwrap(), get("weight_hh").unwrap());
                let zeros = vec![0.0; self.gates() * h];
                let (b_ih, b_hh) = (get("bias_ih").unwrap_or(&zeros), get("bias_hh").unwrap_or(&zeros));
                let (mut hs, mut cs) = (vec![0.0f64; h], vec![0.0f64; h]);
                let order: Vec<usize> = if d == 0 { (0..steps).collect() } else { (0..steps).rev().collect() };
                for t in order {
                    let a = times(w_ih, &input[t]);
                    let b = times(w_hh, &hs);
                    let ax = |k: usize| a[k] + f64::from(b_ih[k]);
                    let bh = |k: usize| b[k] + f64::from(b_hh[k]);
                    hs = match self.cell {
                        Cell::Tanh => (0..h).map(|k| (ax(k) + bh(k)).tanh()).collect(),
                        Cell::Relu => (0..h).map(|k| (ax(k) + bh(k)).max(0.0)).collect(),
                        Cell::Lstm => (0..h)
                            .map(|k| {
                                let i = sigmoid(ax(k) + bh(k));
                                let f = sigmoid(ax(h + k) + bh(h + k));
                                let g = (ax(2 * h + k) + bh(2 * h + k)).tanh();
                                let o = sigmoid(ax(3 * h + k) + bh(3 * h + k));
                                cs[k] = f * cs[k] + i * g;
                                o * cs[k].tanh()
                            })
                            .collect(),
                        Cell::Gru => (0..h)
                            .map(|k| {
                                let r = sigmoid(ax(k) + bh(k));
                                let z = sigmoid(ax(h + k) + bh(h + k));
                                let n = (ax(2 * h + k) + r * bh(2 * h + k)).tanh();
                                (1.0 - z) * n + z * hs[k]
                            })
                            .collect(),
                    };
                    out[t][d * h..(d + 1) * h].copy_from_slice(&hs);
                }
                h_n.extend(&hs);
                if self.cell == Cell::Lstm {
                    c_n.extend(&cs);
                }
            }
            input = out;
        }
        h_n.extend(c_n);
        (input, h_n)
    }
}

/// A PyTorch-layout file of random values for `module` (plus `extra` entries), written to `dir`; the values by
/// name.
fn torch_file(
    dir: &std::path::Path,
    module: &Module,
    extra: &[(String, Vec<usize>)],
    seed: u64,
) -> (std::path::PathBuf, HashMap<String, Vec<f32>>) {
    let mut rng = Rng::new(seed, 1);
    let mut values = HashMap::new();
    let mut entries = Vec::new();
    for (name, shape) in module.state_dict().into_iter().chain(extra.iter().cloned()) {
        let v: Vec<f32> = (0..shape.iter().product::<usize>()).map(|_| rng.uniform(-0.6, 0.6)).collect();
        entries.push((name.clone(), shape, f32s(&v)));
        values.insert(name, v);
    }
    let entries: Vec<(&str, &str, &[usize], Vec<u8>)> =
        entries.iter().map(|(n, s, d)| (n.as_str(), "F32", s.as_slice(), d.clone())).collect();
    let path = dir.join(format!("{}-{seed}.safetensors", module.prefix));
    std::fs::write(&path, handmade(&entries)).unwrap();
    (path, values)
}

/// Loads a PyTorch-layout file into `N` and compares outputs and final states with the reference for
/// sequences of several lengths in one batch.
fn loads_and_matches<N: Network<Input = Vec<[f32; 3]>, Output = Vec<[f32; W]>>, const W: usize>(
    module: Module,
    seed: u64,
) {
    let dir = tempfile::tempdir().unwrap();
    let (path, values) = torch_file(dir.path(), &module, &[], seed);
    let mut net = N::new(0);
    load_weights(&mut net, &path).unwrap();
    for (name, v) in &values {
        assert_eq!(net.param(name).unwrap(), v.as_slice(), "{name}");
    }
    net.eval();
    let xs = sequences::<3>(&[5, 1, 3], seed);
    let mut ys = vec![Vec::new(); xs.len()];
    let mut finals = vec![N::State::zeroed(); xs.len()];
    net.forward_states(&xs, None, &mut ys, Some(&mut finals)).unwrap();
    for (i, x) in xs.iter().enumerate() {
        let x64: Vec<Vec<f64>> = x.iter().map(|s| s.iter().map(|&v| f64::from(v)).collect()).collect();
        let (want_y, want_state) = module.reference(&values, &x64);
        for (got, want) in ys[i].iter().flatten().zip(want_y.iter().flatten()) {
            assert!((f64::from(*got) - want).abs() < 1e-5, "sample {i}: output {got} vs {want}");
        }
        assert_eq!(ys[i].len(), x.len());
        let state = N::State::flat(std::slice::from_ref(&finals[i]));
        assert_eq!(state.len(), want_state.len());
        for (got, want) in state.iter().zip(&want_state) {
            assert!((f64::from(*got) - want).abs() < 1e-5, "sample {i}: state {got} vs {want}");
        }
    }
}

fn module(prefix: &'static str, cell: Cell, layers: usize, dirs: usize, bias: bool) -> Module {
    Module { prefix, cell, input: 3, hidden: 4, layers, dirs, bias }
}

#[test]
fn lstm_files_in_pytorchs_layout_load_and_compute_its_equations() {
    loads_and_matches::<LstmOne, 4>(module("lstm", Cell::Lstm, 1, 1, true), 1);
    loads_and_matches::<LstmTwoBi, 8>(module("lstm", Cell::Lstm, 2, 2, true), 2);
}

#[test]
fn gru_files_in_pytorchs_layout_load_and_compute_its_equations() {
    loads_and_matches::<GruBi, 8>(module("gru", Cell::Gru, 1, 2, true), 3);
    loads_and_matches::<GruTwo, 4>(module("gru", Cell::Gru, 2, 1, true), 4);
}

#[test]
fn rnn_files_in_pytorchs_layout_load_and_compute_its_equations() {
    loads_and_matches::<RnnTwo, 4>(module("rnn", Cell::Tanh, 2, 1, true), 5);
    loads_and_matches::<ReluBiNoBias, 8>(module("rnn", Cell::Relu, 1, 2, false), 6);
}

#[test]
fn a_bidirectional_two_layer_lstm_classifier_loads_its_state_dict_and_reads_output_at_the_last_step() {
    let dir = tempfile::tempdir().unwrap();
    let lstm = Module { prefix: "lstm", cell: Cell::Lstm, input: 10, hidden: 16, layers: 2, dirs: 2, bias: true };
    let head = [("fc.weight".to_string(), vec![5, 32]), ("fc.bias".to_string(), vec![5])];
    let (path, values) = torch_file(dir.path(), &lstm, &head, 7);
    let mut net = Classifier::new(0);
    load_weights(&mut net, &path).unwrap();
    net.eval();
    let x = sequences::<10>(&[6], 8).remove(0);
    let y = net.forward(&x);
    let x64: Vec<Vec<f64>> = x.iter().map(|s| s.iter().map(|&v| f64::from(v)).collect()).collect();
    // output[:, -1]: the forward direction after every step, the backward one after its first.
    let (out, _) = lstm.reference(&values, &x64);
    let last = out.last().unwrap();
    let (w, b) = (&values["fc.weight"], &values["fc.bias"]);
    for (j, &got) in y.iter().enumerate() {
        let want = f64::from(b[j]) + (0..32).map(|k| f64::from(w[j * 32 + k]) * last[k]).sum::<f64>();
        assert!((f64::from(got) - want).abs() < 1e-5, "logit {j}: {got} vs {want}");
    }
    // And the round trip through our own file keeps every bit.
    let ours = dir.path().join("ours.safetensors");
    save_weights(&net, &ours).unwrap();
    let mut again = Classifier::new(9);
    load_weights(&mut again, &ours).unwrap();
    again.eval();
    assert_eq!(again.params.to_vec(), net.params.to_vec());
    assert_eq!(again.forward(&x), y);
}

#[test]
fn a_file_for_another_recurrent_shape_is_refused_with_every_problem_named() {
    let dir = tempfile::tempdir().unwrap();
    // A unidirectional file for a bidirectional network: the reverse tensors are missing.
    let (path, _) = torch_file(dir.path(), &module("gru", Cell::Gru, 1, 1, true), &[], 9);
    let mut net = GruBi::new(1);
    let before = net.params.to_vec();
    let err = load_weights(&mut net, &path).unwrap_err().to_string();
    assert!(err.contains("missing tensor `gru.weight_ih_l0_reverse`"), "{err}");
    assert_eq!(net.params.to_vec(), before);
    // An LSTM file for a GRU of the same sizes: 4 gates where 3 are expected.
    let (path, _) = torch_file(dir.path(), &module("gru", Cell::Lstm, 2, 1, true), &[], 10);
    let err = load_weights(&mut GruTwo::new(1), &path).unwrap_err().to_string();
    assert!(err.contains("tensor `gru.weight_ih_l0` has shape [16, 3], the network needs [12, 3]"), "{err}");
}
