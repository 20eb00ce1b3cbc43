//! Sequential MNIST: each image read as 28 steps of 28 pixels (row by row) by a vanilla RNN (tanh), an LSTM and
//! a GRU of 128 units, a `Linear` to the 10 classes on the last step. Same seed, Adam (learning rate 1e-3),
//! batch 64, the gradient clipped to norm 1; the vanilla RNN once more without clipping, to show what clipping
//! does to it. Prints each network's test accuracy, seconds per epoch and the largest gradient norm of each epoch
//! (before clipping), and writes its curves to `--out`.
//!
//! `cargo run --release --example sequential_mnist -- [--data DIR] [--epochs N] [--out DIR]`

mod common;

use nn::prelude::*;
use nn::regularize::Regularization;
use nn::Parallelism;

/// An image as 28 steps (rows) of 28 values.
type Rows = [[f32; 28]; 28];

network! {
    /// Elman RNN, tanh units.
    pub struct VanillaRnn { Input<Seq<28>, 28> -> rnn: RNN<28, 128> -> Last -> fc: Linear<128, 10> }

    /// LSTM.
    pub struct Lstm { Input<Seq<28>, 28> -> lstm: LSTM<28, 128> -> Last -> fc: Linear<128, 10> }

    /// GRU.
    pub struct Gru { Input<Seq<28>, 28> -> gru: GRU<28, 128> -> Last -> fc: Linear<128, 10> }
}

/// What one run gave: test accuracy (or what stopped it), seconds per epoch, and each epoch's largest gradient
/// norm before clipping.
struct Outcome {
    name: &'static str,
    result: std::result::Result<f32, String>,
    seconds_per_epoch: f32,
    gradients: Vec<f32>,
}

fn run<N>(
    name: &'static str,
    clip: Option<f32>,
    data: (&Dataset<Rows, usize>, &Dataset<Rows, usize>),
    args: &common::Args,
) -> Outcome
where
    N: Network<Input = Rows, Output = [f32; 10]>,
{
    let (train, test) = data;
    let mut net = N::new(7);
    net.set_parallelism(Parallelism::Threads(2)).unwrap_or_else(|e| common::fail(e));
    let mut adam = Adam::new(AdamConfig { lr: 1e-3, ..Default::default() });
    let file = name.to_lowercase().replace(' ', "_");
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: 64,
        shuffle: Some(7),
        regularization: Regularization { clip_norm: clip, ..Default::default() },
        curves: Some(args.out.join(format!("{file}.svg"))),
        ..Default::default()
    };
    println!("\n{name}: {} parameters", N::PARAMS);
    let started = std::time::Instant::now();
    let outcome = fit(&mut net, &mut adam, &CrossEntropy, train, Some(test), &config);
    let seconds = started.elapsed().as_secs_f32();
    let result = match outcome {
        Ok(history) => {
            let epochs = history.epochs.len().max(1) as f32;
            return Outcome {
                name,
                result: evaluate(&mut net, test, &CrossEntropy).map(|e| e.accuracy).map_err(|e| e.to_string()),
                seconds_per_epoch: history.epochs.iter().map(|r| r.seconds).sum::<f32>() / epochs,
                gradients: history.epochs.iter().filter_map(|r| r.largest_gradient).collect(),
            };
        }
        Err(e) => Err(e.to_string()),
    };
    Outcome { name, result, seconds_per_epoch: seconds / args.epochs as f32, gradients: Vec::new() }
}

fn main() {
    let args = common::parse("sequential_mnist", "data/mnist-sample", 3);
    let (mut train, mut test) = load_mnist::<Rows>(&args.data).unwrap_or_else(|e| common::fail(e));
    for data in [&mut train, &mut test] {
        data.normalize(0.1307, 0.3081).unwrap_or_else(|e| common::fail(e));
    }
    println!("{} training and {} test images, 28 steps of 28 pixels each", train.len(), test.len());
    let data = (&train, &test);
    let outcomes = [
        run::<VanillaRnn>("RNN", Some(1.0), data, &args),
        run::<VanillaRnn>("RNN without clipping", None, data, &args),
        run::<Lstm>("LSTM", Some(1.0), data, &args),
        run::<Gru>("GRU", Some(1.0), data, &args),
    ];
    println!(
        "\n| network | test accuracy | seconds per epoch | largest gradient norm, by epoch |\n|---|---:|---:|---|"
    );
    for o in &outcomes {
        let result = o.result.as_ref().map_or_else(|e| format!("stopped: {e}"), |a| format!("{a:.4}"));
        let norms: Vec<String> = o.gradients.iter().map(|g| format!("{g:.2}")).collect();
        println!("| {} | {result} | {:.1} | {} |", o.name, o.seconds_per_epoch, norms.join(", "));
    }
    let summary: Vec<String> = outcomes
        .iter()
        .map(|o| format!("{} {}", o.name, o.result.as_ref().map_or_else(|_| "stopped".into(), |a| format!("{a:.4}"))))
        .collect();
    println!("curves: {}\ntest accuracy: {}", args.out.display(), summary.join(", "));
}
