//! The adding problem (Hochreiter & Schmidhuber 1997): a sequence of T steps of (value, marker) pairs, values
//! uniform in [0, 1), exactly two markers — one in each half —, and the target the sum of the two marked values
//! (mean squared error). Always predicting 1.0 scores the variance of that sum, 1/6 ≈ 0.167.
//!
//! For T = 50, 100 and 200 the example trains a vanilla RNN (tanh), an LSTM and a GRU of 64 units (same seed,
//! Adam 1e-3, batch 64, gradient clipped to norm 1) and prints their test MSE beside the baseline. It also measures
//! the product of Jacobians that makes gradients vanish: the norm of ∂output/∂x_t for every step t of a batch of test sequences, at
//! initialisation and after training, plotted per step in `--out/gradient_norms_T{T}.svg` (log scale). A vanilla
//! RNN's sensitivity to early steps shrinks geometrically with the distance; the gated cells keep it. Each run's
//! loss curves go to `--out/curves_{network}_T{T}.svg`.
//!
//! `cargo run --release --example adding_problem -- [--epochs N] [--out DIR]`

mod common;

use common::adding::{adding, sensitivity, Steps};

use nn::prelude::*;
use nn::regularize::Regularization;
use nn::train::write_plot;
use nn::Parallelism;

network! {
    /// Elman RNN, tanh.
    pub struct VanillaRnn { Input<Seq, 2> -> rnn: RNN<2, 64> -> Last -> out: Linear<64, 1> }

    /// LSTM.
    pub struct Lstm { Input<Seq, 2> -> lstm: LSTM<2, 64> -> Last -> out: Linear<64, 1> }

    /// GRU.
    pub struct Gru { Input<Seq, 2> -> gru: GRU<2, 64> -> Last -> out: Linear<64, 1> }
}

/// One network on one length: test MSE and the per-step sensitivities before and after training.
struct Trained {
    name: &'static str,
    mse: std::result::Result<f32, String>,
    before: Vec<f32>,
    after: Vec<f32>,
}

fn train<N: Network<Input = Steps, Output = [f32; 1]>>(
    name: &'static str,
    train: &Dataset<Steps, [f32; 1]>,
    test: &Dataset<Steps, [f32; 1]>,
    args: &common::Args,
) -> Trained {
    let steps = test.inputs[0].len();
    let mut net = N::new(3);
    net.set_parallelism(Parallelism::Threads(2)).unwrap_or_else(|e| common::fail(e));
    let probe = &test.inputs[..64];
    let before = sensitivity(&mut net, probe);
    let mut adam = Adam::new(AdamConfig { lr: 1e-3, ..Default::default() });
    // One line per epoch for nine runs would bury the results: the curves go to files instead.
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: 64,
        shuffle: Some(3),
        regularization: Regularization { clip_norm: Some(1.0), ..Default::default() },
        verbose: false,
        curves: Some(args.out.join(format!("curves_{}_T{steps}.svg", name.to_lowercase()))),
        ..Default::default()
    };
    let mse = fit(&mut net, &mut adam, &Mse, train, Some(test), &config)
        .and_then(|_| evaluate(&mut net, test, &Mse))
        .map(|e| e.loss)
        .map_err(|e| e.to_string());
    let after = sensitivity(&mut net, probe);
    Trained { name, mse, before, after }
}

fn main() {
    let args = common::parse("adding_problem", "", 30);
    let mut rows = Vec::new();
    for steps in [50, 100, 200] {
        let (train_set, test_set) = (adding(10_000, steps, steps as u64), adding(1_000, steps, steps as u64 + 1));
        let baseline = test_set.targets.iter().map(|t| (t[0] - 1.0).powi(2)).sum::<f32>() / test_set.len() as f32;
        let started = std::time::Instant::now();
        let results = [
            train::<VanillaRnn>("RNN", &train_set, &test_set, &args),
            train::<Lstm>("LSTM", &train_set, &test_set, &args),
            train::<Gru>("GRU", &train_set, &test_set, &args),
        ];
        let seconds = started.elapsed().as_secs_f32();
        let mut lines = Vec::new();
        for r in &results {
            let points = |v: &[f32]| -> Vec<(f32, f32)> { v.iter().enumerate().map(|(t, &g)| (t as f32, g)).collect() };
            lines.push((format!("{} at initialisation", r.name), points(&r.before)));
            lines.push((format!("{} trained", r.name), points(&r.after)));
        }
        let named: Vec<(&str, &[(f32, f32)])> = lines.iter().map(|(n, p)| (n.as_str(), p.as_slice())).collect();
        let plot = args.out.join(format!("gradient_norms_T{steps}.svg"));
        write_plot(&plot, &format!("‖∂output/∂x_t‖, T = {steps}"), "step t", "norm", &named, true)
            .unwrap_or_else(|e| common::fail(e));
        println!("T = {steps}: baseline MSE {baseline:.4}; trained in {seconds:.0} s; plot {}", plot.display());
        for r in &results {
            let mse = r.mse.as_ref().map_or_else(|e| format!("stopped: {e}"), |m| format!("{m:.4}"));
            // How much weaker the first step's influence is than the last step's.
            let ratio = |v: &[f32]| v[0] / v[v.len() - 1];
            println!(
                "   {:4}  test MSE {mse}   ‖∂y/∂x_0‖ / ‖∂y/∂x_T−1‖: {:.1e} at initialisation, {:.1e} trained",
                r.name,
                ratio(&r.before),
                ratio(&r.after)
            );
        }
        rows.push((steps, baseline, results));
    }
    println!("\n| T | baseline (predict 1.0) | RNN | LSTM | GRU |\n|---:|---:|---:|---:|---:|");
    for (steps, baseline, results) in &rows {
        let cell = |r: &Trained| r.mse.as_ref().map_or_else(|_| "stopped".into(), |m| format!("{m:.4}"));
        println!("| {steps} | {baseline:.4} | {} | {} | {} |", cell(&results[0]), cell(&results[1]), cell(&results[2]));
    }
    let last: Vec<String> = rows
        .iter()
        .map(|(steps, _, r)| {
            let m = |i: usize| r[i].mse.as_ref().map_or(f32::NAN, |m| *m);
            format!("T={steps} RNN {:.4} LSTM {:.4} GRU {:.4}", m(0), m(1), m(2))
        })
        .collect();
    println!("test MSE: {}", last.join("; "));
}
