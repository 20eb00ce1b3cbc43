//! The adding problem of `adding_problem` at the lengths where its recurrent networks fail (T = 200 and 400), read
//! by a small transformer: a per-step `Linear` into 32 features, fixed sinusoidal positions, two pre-norm blocks of
//! 4-head attention and a GELU MLP, a mean over the steps and a `Linear` to the sum. Same data (10,000 training
//! and 1,000 test sequences per length), loss (MSE), optimiser (Adam 1e-3, batch 64, gradient clipped to norm 1)
//! as `adding_problem`; test MSE beside the baseline of always predicting 1.0 (≈ 0.17).
//!
//! Attention joins any two steps in one layer, so the gradient that reaches a step does not pass through the
//! steps between: the example also prints, as `adding_problem` does, how much weaker the output's sensitivity to
//! the first step is than to the last (‖∂y/∂x_0‖ / ‖∂y/∂x_T−1‖), at initialisation and trained, and plots it per
//! step in `--out/gradient_norms_T{T}.svg`.
//!
//! `cargo run --release --example transformer_adding -- [--epochs N] [--out DIR]`

mod common;

use common::adding::{adding, sensitivity, Steps};
use nn::prelude::*;
use nn::regularize::Regularization;
use nn::train::write_plot;
use nn::Parallelism;

network! {
    /// Steps into 32 features, positions, two pre-norm transformer blocks, a mean over the steps.
    pub struct AddingTransformer {
        Input<Seq, 2> -> embed: Linear<2, 32> -> PositionalEncoding<400>
        -> blocks: Repeat<2> {
               Residual { ln1: LayerNorm<32> -> attn: MultiheadAttention<32, 4> }
               -> Residual { ln2: LayerNorm<32> -> fc1: Linear<32, 64> -> GELU -> fc2: Linear<64, 32> }
           }
        -> ln: LayerNorm<32> -> MeanOverTime -> out: Linear<32, 1>
    }
}

fn main() {
    let args = common::parse("transformer_adding", "", 10);
    println!("{}", AddingTransformer::summary());
    let mut rows = Vec::new();
    for steps in [200, 400] {
        // `adding_problem`'s seeds: the same sequences it uses at T = 200.
        let (train, test) = (adding(10_000, steps, steps as u64), adding(1_000, steps, steps as u64 + 1));
        let baseline = test.targets.iter().map(|t| (t[0] - 1.0).powi(2)).sum::<f32>() / test.len() as f32;
        let mut net = AddingTransformer::new(3);
        net.set_parallelism(Parallelism::Threads(2)).unwrap_or_else(|e| common::fail(e));
        let probe: &[Steps] = &test.inputs[..64];
        let before = sensitivity(&mut net, probe);
        let mut adam = Adam::new(AdamConfig { lr: 1e-3, ..Default::default() });
        let config = TrainConfig {
            epochs: args.epochs,
            batch_size: 64,
            shuffle: Some(3),
            regularization: Regularization { clip_norm: Some(1.0), ..Default::default() },
            curves: Some(args.out.join(format!("curves_T{steps}.svg"))),
            ..Default::default()
        };
        let started = std::time::Instant::now();
        fit(&mut net, &mut adam, &Mse, &train, Some(&test), &config).unwrap_or_else(|e| common::fail(e));
        let seconds = started.elapsed().as_secs_f32();
        let mse = evaluate(&mut net, &test, &Mse).unwrap_or_else(|e| common::fail(e)).loss;
        let after = sensitivity(&mut net, probe);
        let points = |v: &[f32]| -> Vec<(f32, f32)> { v.iter().enumerate().map(|(t, &g)| (t as f32, g)).collect() };
        let (at_init, trained) = (points(&before), points(&after));
        let plot = args.out.join(format!("gradient_norms_T{steps}.svg"));
        let lines: [(&str, &[(f32, f32)]); 2] = [("at initialisation", &at_init), ("trained", &trained)];
        write_plot(&plot, &format!("‖∂output/∂x_t‖, T = {steps}"), "step t", "norm", &lines, true)
            .unwrap_or_else(|e| common::fail(e));
        let ratio = |v: &[f32]| v[0] / v[v.len() - 1];
        println!(
            "T = {steps}: test MSE {mse:.4} (baseline {baseline:.4}); ‖∂y/∂x_0‖ / ‖∂y/∂x_T−1‖ {:.2} at \
             initialisation, {:.2} trained; {seconds:.0} s; plot {}",
            ratio(&before),
            ratio(&after),
            plot.display()
        );
        rows.push(format!("T={steps} transformer {mse:.4} baseline {baseline:.4}"));
    }
    println!("test MSE: {}", rows.join("; "));
}
