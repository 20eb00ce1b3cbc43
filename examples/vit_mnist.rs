//! A vision transformer on MNIST beside `lenet_mnist`'s LeNet-5: 7×7 patches of a 28×28 image (a strided
//! convolution) become 16 steps of 64 features (`ToSeq`), with learned positions, through 4 pre-norm transformer
//! blocks (4-head attention, a GELU MLP), averaged over the steps into a linear classifier. Adam 1e-3,
//! cosine-annealed, batch 64; the example reports test accuracy and time per epoch, and saves weights and curves
//! to `--out`.
//!
//! `cargo run --release --example vit_mnist -- [--data DIR] [--epochs N] [--out DIR]`

mod common;

use nn::prelude::*;
use nn::Parallelism;

network! {
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

fn main() {
    let args = common::parse("vit_mnist", "data/mnist-sample", 5);
    let (mut train, mut test) = load_mnist::<[[[f32; 28]; 28]; 1]>(&args.data).unwrap_or_else(|e| common::fail(e));
    for data in [&mut train, &mut test] {
        data.normalize(0.1307, 0.3081).unwrap_or_else(|e| common::fail(e));
    }
    println!("{} training and {} test images\n{}", train.len(), test.len(), Vit::summary());
    let mut net = Vit::new(42);
    net.set_parallelism(Parallelism::Threads(2)).unwrap_or_else(|e| common::fail(e));
    let mut adam = Adam::new(AdamConfig { lr: 1e-3, ..Default::default() });
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: 64,
        shuffle: Some(42),
        schedule: Schedule::Cosine { min_lr: 1e-5 },
        checkpoint: Some(args.out.join("checkpoint.safetensors")),
        curves: Some(args.out.join("curves.svg")),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    fit(&mut net, &mut adam, &CrossEntropy, &train, Some(&test), &config).unwrap_or_else(|e| common::fail(e));
    let per_epoch = started.elapsed().as_secs_f32() / args.epochs.max(1) as f32;
    let weights = args.out.join("vit.safetensors");
    save_weights(&net, &weights).unwrap_or_else(|e| common::fail(e));
    println!("weights: {}\ncurves: {}", weights.display(), args.out.join("curves.svg").display());
    let result = evaluate(&mut net, &test, &CrossEntropy).unwrap_or_else(|e| common::fail(e));
    println!("{per_epoch:.1} s per epoch (with validation)\ntest accuracy: {:.4}", result.accuracy);
}
