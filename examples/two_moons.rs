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

/// `--epochs N` (default 60) and `--seed S` (default 1); `--help` prints the usage, anything else is an error.
fn options() -> (u64, u64) {
    let usage = "usage: cargo run --release --example two_moons -- [--epochs N] [--seed S]\n\n  --epochs N    \
                 epochs to train (default: 60)\n  --seed S      the data's and the network's seed (default: 1)\n  \
                 -h, --help    this text";
    let (mut epochs, mut seed) = (60, 1);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let target = match flag.as_str() {
            "-h" | "--help" => {
                println!("{usage}");
                std::process::exit(0);
            }
            "--epochs" => &mut epochs,
            "--seed" => &mut seed,
            other => {
                eprintln!("error: unknown option `{other}`\n{usage}");
                std::process::exit(2)
            }
        };
        match args.next().and_then(|v| v.parse().ok()) {
            Some(v) => *target = v,
            None => {
                eprintln!("error: `{flag}` needs a whole number\n{usage}");
                std::process::exit(2)
            }
        }
    }
    (epochs, seed)
}

fn main() {
    let (epochs, seed) = options();
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
