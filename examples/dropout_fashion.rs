//! A dropout network on Fashion-MNIST: 784-512-Dropout(0.5)-512-Dropout(0.5)-10, trained beside the
//! same network without dropout, with the same optimizer, batches and seed, so the effect shows in one run.
//! Prints training and test accuracy of both (measured in eval mode).
//!
//! `cargo run --release --example dropout_fashion -- [--data DIR] [--epochs N] [--out DIR]`

mod common;

use nn::prelude::*;

network! {
    /// No regularisation.
    pub struct Plain {
        Input<784> -> fc1: Linear<784, 512> -> ReLU -> fc2: Linear<512, 512> -> ReLU -> fc3: Linear<512, 10>
    }
}

network! {
    /// The dropout network.
    pub struct WithDropout {
        Input<784>
        -> fc1: Linear<784, 512> -> ReLU -> Dropout<0.5>
        -> fc2: Linear<512, 512> -> ReLU -> Dropout<0.5>
        -> fc3: Linear<512, 10>
    }
}

type Data = Dataset<[f32; 784], usize>;

/// Trains `net` and returns (training accuracy, test accuracy) after the last epoch.
fn run<N: Network<Input = [f32; 784], Output = [f32; 10]>>(
    name: &str,
    net: &mut N,
    data: (&Data, &Data),
    epochs: usize,
) -> (f32, f32) {
    println!("-- {name}");
    let mut adam = Adam::new(AdamConfig { lr: 1e-3, ..Default::default() });
    let config = TrainConfig { epochs, batch_size: 64, shuffle: Some(0), train_accuracy: true, ..Default::default() };
    let history = fit(net, &mut adam, &CrossEntropy, data.0, Some(data.1), &config).unwrap_or_else(|e| common::fail(e));
    let last = history.last().expect("at least one epoch");
    (last.train_accuracy.unwrap_or(0.0), last.valid_accuracy.unwrap_or(0.0))
}

fn main() {
    let args = common::parse("dropout_fashion", "data/fashion-mnist-sample", 10);
    let (train, test) = load_mnist::<[f32; 784]>(&args.data).unwrap_or_else(|e| common::fail(e));
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let data = (&train, &test);

    let mut plain = Plain::new(0);
    plain.set_parallelism(Parallelism::Threads(threads)).unwrap_or_else(|e| common::fail(e));
    let a = run("no regularisation", &mut plain, data, args.epochs);

    let mut dropout = WithDropout::new(0);
    dropout.set_parallelism(Parallelism::Threads(threads)).unwrap_or_else(|e| common::fail(e));
    let b = run("dropout 0.5", &mut dropout, data, args.epochs);
    save_weights(&dropout, args.out.join("dropout.safetensors")).unwrap_or_else(|e| common::fail(e));

    println!("\n| network | train accuracy | test accuracy |\n|---|---:|---:|");
    for (name, (tr, te)) in [("no regularisation", a), ("dropout 0.5", b)] {
        println!("| {name} | {tr:.4} | {te:.4} |");
    }
    println!("test accuracy: {:.4}", b.1);
}
