//! Trains a small MLP on scikit-learn's "two moons" (`nn::data::two_moons`, generated from a seed) and reports
//! test accuracy.
//!
//! `cargo run --release --example two_moons -- [--epochs N] [--seed S]`

use nn::prelude::*;
use nn::Rng;

network! {
    /// 2 → 32 → 32 → 2 with ReLU.
    pub struct MoonNet {
        Input<2> -> fc1: Linear<2, 32> -> ReLU -> fc2: Linear<32, 32> -> ReLU -> fc3: Linear<32, 2>
    }
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        None => default,
        Some(i) => args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            eprintln!("{name} needs a whole number");
            std::process::exit(2)
        }),
    }
}

fn main() {
    let (epochs, seed) = (arg("--epochs", 60), arg("--seed", 1));
    let train = nn::data::two_moons(1000, 0.15, seed);
    let test = nn::data::two_moons(500, 0.15, seed + 1);
    let (train_x, train_y) = (&train.inputs, &train.targets);
    let (test_x, test_y) = (&test.inputs, &test.targets);
    let mut net = MoonNet::new(seed);
    println!("{}", MoonNet::summary());
    let mut opt = Adam::new(AdamConfig { lr: 0.01, ..Default::default() });
    let mut order: Vec<usize> = (0..train_x.len()).collect();
    let mut rng = Rng::new(seed, 1);
    for epoch in 1..=epochs {
        rng.shuffle(&mut order);
        let mut total = 0.0;
        for batch in order.chunks(32) {
            let xs: Vec<[f32; 2]> = batch.iter().map(|&i| train_x[i]).collect();
            let ys: Vec<usize> = batch.iter().map(|&i| train_y[i]).collect();
            total += net.train_step(&xs, &ys, &CrossEntropy, &mut opt) * batch.len() as f32;
        }
        if epoch % 10 == 0 || epoch == epochs {
            let accuracy = net.accuracy(train_x, train_y);
            println!("epoch {epoch:3}: loss {:.4}, train accuracy {accuracy:.4}", total / train_x.len() as f32);
        }
    }
    println!("test accuracy: {:.4}", net.accuracy(test_x, test_y));
}
