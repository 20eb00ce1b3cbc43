//! `GaussianSample<Z>`: the reparameterisation trick and its KL term, a layer's own contribution to the loss —
//! values against the formulas, the whole objective's gradient against finite differences, eval mode, β,
//! sequences with padding, threads.

mod common;

use common::{check_param_gradients, random_samples, sequences};
use nn::prelude::*;
use nn::Parallelism;

network! {
    /// A small VAE: 6 values → (μ, log σ²) of 3 → 3 latent values → 6 probabilities.
    pub struct Vae {
        Input<6> -> enc: Linear<6, 8> -> Tanh -> stats: Linear<8, 6> -> z: GaussianSample<3>
        -> dec: Linear<3, 6> -> Sigmoid
    }

    /// The same with the KL term weighted by β = 0.25.
    pub struct BetaVae {
        Input<6> -> enc: Linear<6, 8> -> Tanh -> stats: Linear<8, 6> -> z: GaussianSample<3, beta = 0.25>
        -> dec: Linear<3, 6> -> Sigmoid
    }

    /// Only the layer: the output is the latent sample itself.
    pub struct Sampler {
        Input<4> -> z: GaussianSample<2>
    }

    /// Per step over sequences of any length.
    pub struct SequenceVae {
        Input<Seq, 2> -> stats: Linear<2, 4> -> z: GaussianSample<2> -> out: Linear<2, 2>
    }
}

/// β·KL(N(μ, σ²) ‖ N(0, I)) of one row of (μ, log σ²), in f64.
fn kl(row: &[f32]) -> f64 {
    let z = row.len() / 2;
    (0..z)
        .map(|j| {
            let (m, lv) = (f64::from(row[j]), f64::from(row[z + j]));
            -0.5 * (1.0 + lv - m * m - lv.exp())
        })
        .sum()
}

#[test]
fn training_samples_around_the_mean_and_eval_returns_it() {
    let mut net = Sampler::new(0);
    // μ = (1, −2), log σ² = (0, ln 0.25): σ = (1, 0.5).
    let xs = vec![[1.0f32, -2.0, 0.0, 0.25f32.ln()]; 4000];
    let ys = net.predict(&xs);
    let mean = |j: usize| ys.iter().map(|y| f64::from(y[j])).sum::<f64>() / ys.len() as f64;
    let sd =
        |j: usize, m: f64| (ys.iter().map(|y| (f64::from(y[j]) - m).powi(2)).sum::<f64>() / ys.len() as f64).sqrt();
    let (m0, m1) = (mean(0), mean(1));
    assert!((m0 - 1.0).abs() < 0.05 && (m1 + 2.0).abs() < 0.03, "means {m0} {m1}");
    assert!((sd(0, m0) - 1.0).abs() < 0.05 && (sd(1, m1) - 0.5).abs() < 0.03, "standard deviations");
    // A new draw each pass, the same draws from the same seed and pass.
    assert_ne!(net.predict(&xs[..1]), ys[..1]);
    let mut twin = Sampler::new(0);
    assert_eq!(twin.predict(&xs), ys);
    net.eval();
    assert_eq!(net.predict(&xs[..2]), vec![[1.0, -2.0]; 2]);
}

#[test]
fn the_kl_term_joins_the_loss_with_its_weight() {
    let xs = random_samples::<[f32; 6]>(40, 0.0, 1.0, 1);
    // The objective by hand: the decoder's BCE of μ's reconstruction (eval mode) plus β·KL of the encoder's stats.
    let mut vae = BetaVae::new(2);
    vae.eval();
    let total = f64::from(vae.evaluate_loss(&xs, &xs, &Sum(BinaryCrossEntropy)).unwrap());
    let mut encoder_stats = Vec::new();
    for x in &xs {
        let h: Vec<f32> = (0..8)
            .map(|o| {
                let w = vae.enc.weight(&vae.params);
                let b = vae.enc.bias(&vae.params).unwrap();
                (b[o] + (0..6).map(|i| w[o][i] * x[i]).sum::<f32>()).tanh()
            })
            .collect();
        let w = vae.stats.weight(&vae.params);
        let b = vae.stats.bias(&vae.params).unwrap();
        encoder_stats.push((0..6).map(|o| b[o] + (0..8).map(|i| w[o][i] * h[i]).sum::<f32>()).collect::<Vec<_>>());
    }
    let kl_sum: f64 = encoder_stats.iter().map(|s| kl(s)).sum();
    let ys = vae.predict(&xs);
    let bce: f64 = ys
        .iter()
        .zip(&xs)
        .flat_map(|(y, x)| y.iter().zip(x))
        .map(|(&y, &t)| -(f64::from(t) * f64::from(y).ln() + (1.0 - f64::from(t)) * (1.0 - f64::from(y)).ln()))
        .sum();
    let want = bce + 0.25 * kl_sum;
    assert!((total - want).abs() < 1e-4 * want.abs(), "loss {total}, BCE {bce} + 0.25 × KL {kl_sum} = {want}");
    // The mean loss divides the KL term by the batch's size too.
    let mean = f64::from(vae.evaluate_loss(&xs, &xs, &Mse).unwrap());
    let mse: f64 =
        ys.iter().zip(&xs).flat_map(|(y, x)| y.iter().zip(x)).map(|(&y, &t)| f64::from(y - t).powi(2)).sum::<f64>()
            / (40.0 * 6.0);
    assert!((mean - (mse + 0.25 * kl_sum / 40.0)).abs() < 1e-5, "{mean} against {}", mse + 0.25 * kl_sum / 40.0);
}

#[test]
fn the_whole_objective_matches_finite_differences() {
    // Training mode: ε is drawn, and replayed for every evaluation of the differences.
    let xs = random_samples::<[f32; 6]>(37, 0.05, 0.95, 3);
    // A summed loss is large (tens of nats), so the differences' f32 rounding needs few samples to stay small.
    let mut vae = Vae::new(4);
    assert!(check_param_gradients(&mut vae, &xs[..4], &xs[..4], &Sum(BinaryCrossEntropy), 8) > 40);
    let mut beta = BetaVae::new(5);
    assert!(check_param_gradients(&mut beta, &xs, &xs, &BinaryCrossEntropy, 8) > 40);
    let mut eval = Vae::new(6);
    eval.eval();
    assert!(check_param_gradients(&mut eval, &xs, &xs, &Mse, 8) > 40);
}

#[test]
fn padded_steps_add_nothing_and_a_sample_does_not_depend_on_its_batch_mates() {
    let mut net = SequenceVae::new(7);
    net.eval();
    let xs = sequences::<2>(&[3, 1, 5], 8);
    let targets: Vec<Vec<[f32; 2]>> = xs.iter().map(|x| x.iter().map(|s| [s[1], s[0]]).collect()).collect();
    let together = net.evaluate_loss(&xs, &targets, &Sum(Mse)).unwrap();
    let alone: f32 = (0..3).map(|i| net.evaluate_loss(&xs[i..=i], &targets[i..=i], &Sum(Mse)).unwrap()).sum();
    assert!((together - alone).abs() < 1e-5 * together.abs(), "{together} against {alone}");
    net.train();
    assert!(check_param_gradients(&mut net, &xs, &targets, &Sum(Mse), 8) > 10);
}

#[test]
fn training_is_bit_identical_on_any_number_of_threads() {
    let xs = random_samples::<[f32; 6]>(70, 0.0, 1.0, 9);
    let run = |parallelism: Parallelism| {
        let mut vae = Vae::new(10);
        vae.set_parallelism(parallelism).unwrap();
        let mut adam = Adam::new(AdamConfig::default());
        let losses: Vec<u32> =
            (0..3).map(|_| vae.train_step(&xs, &xs, &Sum(BinaryCrossEntropy), &mut adam).to_bits()).collect();
        (losses, vae.params().iter().map(|p| p.to_bits()).collect::<Vec<_>>())
    };
    let one = run(Parallelism::None);
    for threads in 2..=3 {
        assert!(run(Parallelism::Threads(threads)) == one, "{threads} threads");
    }
}
