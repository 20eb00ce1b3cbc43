//! PyTorch's quickstart tutorial, line for line: Fashion-MNIST, 784-512-512-10 with ReLU, cross-entropy, SGD with
//! learning rate 1e-3, batches of 64, shuffled, 5 epochs.
//!
//! `cargo run --release --example fashion_quickstart -- [--data DIR] [--epochs N] [--out DIR]`

mod common;

use nn::data::FASHION_MNIST_CLASSES;
use nn::prelude::*;

network! {
    /// The quickstart's `NeuralNetwork`: Flatten, Linear(784, 512), ReLU, Linear(512, 512), ReLU, Linear(512, 10).
    pub struct QuickstartNet {
        Input<1, 28, 28>
        -> Flatten
        -> Linear<784, 512> -> ReLU
        -> Linear<512, 512> -> ReLU
        -> Linear<512, 10>
    }
}

fn main() {
    let args = common::parse("fashion_quickstart", "data/fashion-mnist-sample", 5);
    let (train, test) = load_mnist::<[[[f32; 28]; 28]; 1]>(&args.data).unwrap_or_else(|e| common::fail(e));
    let mut net = QuickstartNet::new(0);
    let mut sgd = Sgd::new(SgdConfig { lr: 1e-3, ..Default::default() });
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: 64,
        shuffle: Some(0),
        curves: Some(args.out.join("curves.svg")),
        ..Default::default()
    };
    fit(&mut net, &mut sgd, &CrossEntropy, &train, Some(&test), &config).unwrap_or_else(|e| common::fail(e));
    save_weights(&net, args.out.join("model.safetensors")).unwrap_or_else(|e| common::fail(e));
    let first = net.forward(&test.inputs[0]);
    println!(
        "predicted: \"{}\", actual: \"{}\"",
        FASHION_MNIST_CLASSES[nn::argmax(&first)],
        FASHION_MNIST_CLASSES[test.targets[0]]
    );
    let result = evaluate(&mut net, &test, &CrossEntropy).unwrap_or_else(|e| common::fail(e));
    println!("test accuracy: {:.4}", result.accuracy);
}
