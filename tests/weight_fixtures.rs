//! The weights files `tests/embedded_weights.rs` embeds at compile time, checked against the recipe that makes
//! them (run with `NN_UPDATE_FIXTURES=1` to write them after changing the recipe).

use nn::prelude::*;
use std::path::Path;

network! {
    /// A small batch-norm network: its file holds buffers (`running_mean`, `running_var` and the I64
    /// `num_batches_tracked`) besides parameters.
    pub struct BnNet {
        Input<1, 8, 8> -> conv: Conv2d<1, 4, 3, bias = false> -> bn: BatchNorm -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc: Linear<36, 3>
    }
}

network! {
    /// Two stacked bidirectional LSTM layers, averaged over time: the recurrent network `examples/embedded` runs
    /// without `std` (`tests/embedded_agreement.rs`).
    pub struct SeqNet {
        Input<Seq<6>, 3> -> lstm: LSTM<3, 5, layers = 2, bidirectional = true> -> MeanOverTime -> fc: Linear<10, 4>
    }
}

network! {
    /// A network that branches — a residual block with batch norm, a concatenation with an identity branch — run
    /// without `std` by `examples/embedded` (`tests/embedded_agreement.rs`).
    pub struct BranchNet {
        Input<1, 8, 8>
        -> stem: Conv2d<1, 4, 3, padding = 1> -> bn: BatchNorm -> ReLU
        -> block: Residual { conv: Conv2d<4, 4, 3, padding = 1> -> bn: BatchNorm -> ReLU }
        -> mix: Concat { a: Conv2d<4, 2, 1> -> Tanh | Identity }
        -> GlobalAvgPool -> fc: Linear<6, 3>
    }
}

network! {
    /// A tiny GPT — token ids, learned positions, causal attention — whose generation with the key/value cache
    /// `examples/embedded` runs without `std` (`tests/embedded_agreement.rs`).
    pub struct TinyGpt {
        Input<Seq<6>, Tokens<11>>
        -> tok: Embedding<11, 8> -> pos: PositionalEmbedding<6, 8>
        -> blocks: Repeat<2> {
               Residual { ln1: LayerNorm<8> -> attn: MultiheadAttention<8, 2, causal = true> }
               -> Residual { ln2: LayerNorm<8> -> fc1: Linear<8, 16> -> GELU -> fc2: Linear<16, 8> }
           }
        -> ln_f: LayerNorm<8> -> head: Linear<8, 11>
    }
}

#[test]
fn transformer_fixture_is_what_its_recipe_makes() {
    let path = Path::new("tests/data/weights/tiny_gpt.safetensors");
    // Trained a few steps to predict the token after next, so that its weights are not the initial ones; plain SGD,
    // whose steps stay within rounding of each other on every kernel path (Adam's normalised first steps would
    // turn a last-bit difference of a near-zero gradient into a whole step).
    let xs: Vec<[u32; 6]> = (0..32u32).map(|i| std::array::from_fn(|t| (i * 3 + t as u32 * 5) % 11)).collect();
    let next: Vec<[usize; 6]> = xs.iter().map(|x| std::array::from_fn(|t| (x[t] as usize + 2) % 11)).collect();
    let mut net = TinyGpt::new(17);
    let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() });
    for _ in 0..5 {
        net.train_step(&xs, &next, &CrossEntropy, &mut sgd);
    }
    if std::env::var_os("NN_UPDATE_FIXTURES").is_some() {
        save_weights(&net, path).unwrap();
    }
    let mut stored = TinyGpt::new(0);
    load_weights(&mut stored, path).expect("tests/data/weights/tiny_gpt.safetensors loads");
    let close = |a: &[f32], b: &[f32]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5);
    assert!(close(stored.params(), net.params()));
}

#[test]
fn branched_fixture_is_what_its_recipe_makes() {
    let path = Path::new("tests/data/weights/branch_net.safetensors");
    let mut rng = nn::Rng::new(7, 0);
    let xs: Vec<[[[f32; 8]; 8]; 1]> =
        (0..48).map(|_| [std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0)))]).collect();
    let labels: Vec<usize> = (0..48).map(|i| i % 3).collect();
    let mut net = BranchNet::new(13);
    let mut sgd = Sgd::new(SgdConfig { lr: 0.05, ..Default::default() });
    for batch in 0..3 {
        let range = batch * 16..(batch + 1) * 16;
        net.train_step(&xs[range.clone()], &labels[range], &CrossEntropy, &mut sgd);
    }
    if std::env::var_os("NN_UPDATE_FIXTURES").is_some() {
        save_weights(&net, path).unwrap();
    }
    let mut stored = BranchNet::new(0);
    load_weights(&mut stored, path).expect("tests/data/weights/branch_net.safetensors loads");
    let close = |a: &[f32], b: &[f32]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5);
    assert!(close(stored.params(), net.params()) && close(stored.buffers(), net.buffers()));
}

#[test]
fn recurrent_fixture_is_what_its_recipe_makes() {
    let path = Path::new("tests/data/weights/seq_net.safetensors");
    let net = SeqNet::new(11);
    if std::env::var_os("NN_UPDATE_FIXTURES").is_some() {
        save_weights(&net, path).unwrap();
    }
    let mut stored = SeqNet::new(0);
    load_weights(&mut stored, path).expect("tests/data/weights/seq_net.safetensors loads");
    assert_eq!(stored.params(), net.params(), "initialisation is exact on every kernel path");
}

/// `BnNet` after a few training steps, so that every buffer holds something other than its initial value.
fn trained() -> BnNet {
    let mut rng = nn::Rng::new(5, 0);
    let xs: Vec<[[[f32; 8]; 8]; 1]> =
        (0..64).map(|_| [std::array::from_fn(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0)))]).collect();
    let labels: Vec<usize> = (0..64).map(|i| i % 3).collect();
    let mut net = BnNet::new(3);
    let mut sgd = Sgd::new(SgdConfig { lr: 0.05, ..Default::default() });
    for batch in 0..4 {
        let range = batch * 16..(batch + 1) * 16;
        net.train_step(&xs[range.clone()], &labels[range], &CrossEntropy, &mut sgd);
    }
    net
}

#[test]
fn batch_norm_fixture_is_what_its_recipe_makes() {
    let path = Path::new("tests/data/weights/bn_net.safetensors");
    let net = trained();
    if std::env::var_os("NN_UPDATE_FIXTURES").is_some() {
        save_weights(&net, path).unwrap();
    }
    let mut stored = BnNet::new(0);
    load_weights(&mut stored, path).expect("tests/data/weights/bn_net.safetensors loads");
    // Training gives the same bits on one instruction set; across them (`NN_KERNEL=scalar`) the last bits may
    // differ.
    let close = |a: &[f32], b: &[f32]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5);
    assert!(close(stored.params(), net.params()), "{:?}\n{:?}", stored.params(), net.params());
    assert!(close(stored.buffers(), net.buffers()), "{:?}\n{:?}", stored.buffers(), net.buffers());
    assert_eq!(stored.buffers().last(), Some(&4.0), "num_batches_tracked counts the four steps");
}
