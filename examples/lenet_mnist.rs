//! LeNet-5 on MNIST with Adam (learning rate 2e-3, cosine-annealed): the README's main job. Saves the weights (safetensors, PyTorch names), a checkpoint
//! and the loss/accuracy curves to `--out`.
//!
//! `cargo run --release --example lenet_mnist -- [--data DIR] [--epochs N] [--out DIR]`

mod common;

use nn::prelude::*;

network! {
    /// LeNet-5 for 28×28 digits.
    pub struct LeNet5 {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten
        -> fc1: Linear<256, 120> -> ReLU
        -> fc2: Linear<120, 84> -> ReLU
        -> fc3: Linear<84, 10>
    }
}

fn main() {
    let args = common::parse("lenet_mnist", "data/mnist-sample", 3);
    let (mut train, mut test) = load_mnist::<[[[f32; 28]; 28]; 1]>(&args.data).unwrap_or_else(|e| common::fail(e));
    // MNIST's usual normalisation (mean 0.1307, std 0.3081 over the training set).
    for data in [&mut train, &mut test] {
        data.normalize(0.1307, 0.3081).unwrap_or_else(|e| common::fail(e));
    }
    println!("{} training and {} test images\n{}", train.len(), test.len(), LeNet5::summary());
    let mut net = LeNet5::new(42);
    let mut adam = Adam::new(AdamConfig { lr: 2e-3, ..Default::default() });
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: 32,
        shuffle: Some(42),
        schedule: Schedule::Cosine { min_lr: 1e-5 },
        checkpoint: Some(args.out.join("checkpoint.safetensors")),
        curves: Some(args.out.join("curves.svg")),
        ..Default::default()
    };
    fit(&mut net, &mut adam, &CrossEntropy, &train, Some(&test), &config).unwrap_or_else(|e| common::fail(e));
    let weights = args.out.join("lenet5.safetensors");
    save_weights(&net, &weights).unwrap_or_else(|e| common::fail(e));
    println!("weights: {}\ncurves: {}", weights.display(), args.out.join("curves.svg").display());
    let result = evaluate(&mut net, &test, &CrossEntropy).unwrap_or_else(|e| common::fail(e));
    println!("test accuracy: {:.4}", result.accuracy);
}
