//! The transformer groups of the `networks` benchmark, in `nn`, candle and burn (`peers/candle_transformer.rs`,
//! `peers/burn_transformer.rs`) — the workloads `benches/pytorch/bench.py` also runs in PyTorch: a character-level GPT (vocabulary
//! 96, 128 features, 4 heads, MLP 512, 2 pre-norm blocks, learned positions) trained on windows of 64 tokens with
//! the next-token loss at every step, run forward on 256 windows, and generating one token at position 64 with its
//! key/value cache; and a vision transformer (7×7 patches of a 28×28 image as 16 steps of 64 features, learned
//! positions, 4 pre-norm blocks of 4 heads, MLP 128, a mean over the steps) trained on 64 images. Plain SGD
//! (lr 0.01), two threads (`Parallelism::Threads(2)`).

use crate::peers;
use criterion::{BatchSize, Criterion, Throughput};
use nn::prelude::*;
use nn::{Parallelism, Rng};
use std::hint::black_box;

network! {
    /// The GPT trained on windows of 64 tokens.
    pub struct Gpt64 {
        Input<Seq<64>, Tokens<96>>
        -> tok: Embedding<96, 128> -> pos: PositionalEmbedding<64, 128>
        -> blocks: Repeat<2> {
               Residual { ln1: LayerNorm<128> -> attn: MultiheadAttention<128, 4, causal = true> }
               -> Residual { ln2: LayerNorm<128> -> fc1: Linear<128, 512> -> GELU -> fc2: Linear<512, 128> }
           }
        -> ln_f: LayerNorm<128> -> head: Linear<128, 96>
    }

    /// The same GPT with room for 128 positions, generating.
    pub struct Gpt128 {
        Input<Seq<128>, Tokens<96>>
        -> tok: Embedding<96, 128> -> pos: PositionalEmbedding<128, 128>
        -> blocks: Repeat<2> {
               Residual { ln1: LayerNorm<128> -> attn: MultiheadAttention<128, 4, causal = true> }
               -> Residual { ln2: LayerNorm<128> -> fc1: Linear<128, 512> -> GELU -> fc2: Linear<512, 128> }
           }
        -> ln_f: LayerNorm<128> -> head: Linear<128, 96>
    }

    /// A vision transformer: 7×7 patches of a 28×28 image become 16 steps.
    pub struct Vit {
        Input<1, 28, 28>
        -> patch: Conv2d<1, 64, 7, stride = 7> -> ToSeq -> pos: PositionalEmbedding<16, 64>
        -> blocks: Repeat<4> {
               Residual { ln1: LayerNorm<64> -> attn: MultiheadAttention<64, 4> }
               -> Residual { ln2: LayerNorm<64> -> fc1: Linear<64, 128> -> GELU -> fc2: Linear<128, 64> }
           }
        -> ln: LayerNorm<64> -> MeanOverTime -> head: Linear<64, 10>
    }
}

use crate::{LR, THREADS};

/// `n` windows of 64 random token ids, and each one's next tokens.
fn windows(n: usize) -> (Vec<[u32; 64]>, Vec<[usize; 64]>) {
    let mut rng = Rng::new(7, 0);
    let xs: Vec<[u32; 64]> = (0..n).map(|_| std::array::from_fn(|_| rng.below(96) as u32)).collect();
    let ys = xs.iter().map(|x| std::array::from_fn(|t| if t + 1 < 64 { x[t + 1] as usize } else { 0 })).collect();
    (xs, ys)
}

fn gpt_train(c: &mut Criterion) {
    let (xs, ys) = windows(64);
    let mut net = Gpt64::new(1);
    net.set_parallelism(Parallelism::Threads(THREADS)).unwrap();
    let mut sgd = Sgd::new(SgdConfig { lr: LR, ..Default::default() });
    let mut g = c.benchmark_group("transformer_train_step_b64");
    g.throughput(Throughput::Elements(64));
    g.bench_function("nn", |b| b.iter(|| black_box(net.train_step(&xs, &ys, &CrossEntropy, &mut sgd))));
    peers::candle_transformer::gpt_train(&mut g, &xs, &ys, LR);
    peers::burn_transformer::gpt_train(&mut g, &xs, &ys, LR);
    g.finish();
}

fn gpt_infer(c: &mut Criterion) {
    let (xs, _) = windows(256);
    let mut net = Gpt64::new(1);
    net.set_parallelism(Parallelism::Threads(THREADS)).unwrap();
    let mut ys = vec![[[0.0; 96]; 64]; 256];
    let mut g = c.benchmark_group("transformer_infer_b256");
    g.throughput(Throughput::Elements(256));
    g.bench_function("nn", |b| {
        b.iter(|| {
            net.forward_batch(black_box(&xs), &mut ys);
            black_box(&ys);
        })
    });
    peers::candle_transformer::gpt_infer(&mut g, &xs);
    peers::burn_transformer::gpt_infer(&mut g, &xs);
    g.finish();
}

fn vit_train(c: &mut Criterion) {
    let (flat, labels) = crate::data(64, 784);
    let xs = <[[[f32; 28]; 28]; 1]>::from_flat(&flat).to_vec();
    let mut net = Vit::new(1);
    net.set_parallelism(Parallelism::Threads(THREADS)).unwrap();
    let mut sgd = Sgd::new(SgdConfig { lr: LR, ..Default::default() });
    let mut g = c.benchmark_group("vit_train_step_b64");
    g.throughput(Throughput::Elements(64));
    g.bench_function("nn", |b| b.iter(|| black_box(net.train_step(&xs, &labels, &CrossEntropy, &mut sgd))));
    peers::candle_transformer::vit_train(&mut g, &flat, &labels, LR);
    peers::burn_transformer::vit_train(&mut g, &flat, &labels, LR);
    g.finish();
}

/// One generated token at position 64: the cache holds 64 steps, and each iteration starts from that state.
fn gpt_generate(c: &mut Criterion) {
    let (xs, _) = windows(1);
    let mut net = Gpt128::new(1);
    let mut prefix = net.initial_state();
    for &id in &xs[0] {
        net.step(id, &mut prefix);
    }
    let mut g = c.benchmark_group("gpt_generate_step_b1");
    g.throughput(Throughput::Elements(1));
    g.bench_function("nn", |b| {
        b.iter_batched_ref(|| prefix, |state| black_box(net.step(black_box(17), state)), BatchSize::SmallInput)
    });
    peers::candle_transformer::gpt_generate(&mut g, &xs[0]);
    peers::burn_transformer::gpt_generate(&mut g, &xs[0]);
    g.finish();
}

/// Every transformer group.
pub fn benches(c: &mut Criterion) {
    gpt_train(c);
    gpt_infer(c);
    vit_train(c);
    gpt_generate(c);
}
