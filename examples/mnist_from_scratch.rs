//! The classic network built "from scratch": 784-10-10 with ReLU and softmax, weights and biases uniform in
//! [-1, 1], full-batch gradient descent with learning rate 0.1 for 500 iterations (`--epochs` sets the iterations).
//! It is usually quoted at about 77 % training accuracy.
//!
//! `cargo run --release --example mnist_from_scratch -- [--data DIR] [--epochs ITERATIONS] [--out DIR]`

mod common;

use nn::prelude::*;
use nn::Rng;

network! {
    /// 784 → 10 (ReLU) → 10 (softmax).
    pub struct FromScratch {
        Input<784> -> hidden: Linear<784, 10> -> ReLU -> output: Linear<10, 10> -> Softmax
    }
}

fn main() {
    let args = common::parse("mnist_from_scratch", "data/mnist-sample", 500);
    let (train, test) = load_mnist::<[f32; 784]>(&args.data).unwrap_or_else(|e| common::fail(e));
    let mut net = FromScratch::new(0);
    // The classic exercise's initialisation: every weight and bias uniform in [-1, 1].
    let mut rng = Rng::new(0, 0);
    net.params.iter_mut().for_each(|p| *p = rng.uniform(-1.0, 1.0));
    let mut gd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() });
    for iteration in 1..=args.epochs {
        // One step on the whole training set: the mean gradient of the cross-entropy of the softmax outputs.
        let loss = net
            .try_train_step(&train.inputs, &train.targets, &CategoricalCrossEntropy, &mut gd)
            .unwrap_or_else(|e| common::fail(e));
        if iteration % 50 == 0 || iteration == 1 {
            let accuracy = net.accuracy(&train.inputs, &train.targets);
            println!("iteration {iteration:4}: loss {loss:.4}, training accuracy {accuracy:.4}");
        }
    }
    println!("training accuracy: {:.4}", net.accuracy(&train.inputs, &train.targets));
    println!("test accuracy: {:.4}", net.accuracy(&test.inputs, &test.targets));
}
