//! Reconstruction losses: targets shaped like the output (an image, the input itself), PyTorch's `BCELoss` on
//! probabilities and `reduction = "sum"`, through whole networks.

mod common;

use common::{check_param_gradients, random_samples};
use nn::prelude::*;

type Image = [[[f32; 6]; 6]; 1];

network! {
    /// A tiny convolutional autoencoder: 6×6 → 4 values → 6×6 probabilities.
    pub struct TinyAutoencoder {
        Input<1, 6, 6>
        -> enc: Conv2d<1, 2, 3, stride = 2, padding = 1> -> Tanh -> Flatten -> code: Linear<18, 4> -> Tanh
        -> fc: Linear<4, 18> -> Tanh -> Unflatten<2, 3, 3>
        -> dec: ConvTranspose2d<2, 1, 4, stride = 2, padding = 1> -> Sigmoid
    }
}

/// The loss summed in f64 over every pixel of every image, as PyTorch's `binary_cross_entropy(…, reduction="sum")`.
fn bce_sum(ys: &[Image], ts: &[Image]) -> f64 {
    let flat = |v: &[Image]| v.as_flattened().as_flattened().as_flattened().to_vec();
    flat(ys)
        .iter()
        .zip(flat(ts))
        .map(|(&y, t)| {
            let (y, t) = (f64::from(y), f64::from(t));
            -(t * y.ln().max(-100.0) + (1.0 - t) * (1.0 - y).ln().max(-100.0))
        })
        .sum()
}

#[test]
fn binary_cross_entropy_of_a_reconstruction_is_pytorchs_mean_and_sum() {
    let mut net = TinyAutoencoder::new(1);
    // 40 images: two chunks; each image its own target.
    let xs = random_samples::<Image>(40, 0.0, 1.0, 2);
    let ys = net.predict(&xs);
    let want = bce_sum(&ys, &xs);
    let sum = net.evaluate_loss(&xs, &xs, &Sum(BinaryCrossEntropy)).unwrap();
    let mean = net.evaluate_loss(&xs, &xs, &BinaryCrossEntropy).unwrap();
    assert!((f64::from(sum) - want).abs() < 1e-4 * want, "sum {sum} against {want}");
    let pixels = (40 * 36) as f64;
    assert!((f64::from(mean) - want / pixels).abs() < 1e-5, "mean {mean} against {}", want / pixels);
}

#[test]
fn reconstruction_gradients_match_finite_differences() {
    let mut net = TinyAutoencoder::new(3);
    let xs = random_samples::<Image>(5, 0.0, 1.0, 4);
    assert!(check_param_gradients(&mut net, &xs, &xs, &BinaryCrossEntropy, 6) > 30);
    assert!(check_param_gradients(&mut net, &xs, &xs, &Mse, 6) > 30);
    // The sum's gradient is the mean's times the pixels of the batch.
    let mean_grad = {
        net.loss_and_grad(&xs, &xs, &BinaryCrossEntropy).unwrap();
        net.grads().to_vec()
    };
    net.loss_and_grad(&xs, &xs, &Sum(BinaryCrossEntropy)).unwrap();
    for (s, m) in net.grads().iter().zip(&mean_grad) {
        assert!((s - m * 180.0).abs() <= 1e-3 * s.abs().max(1e-3), "{s} against 180 × {m}");
    }
}

#[test]
fn an_autoencoder_learns_to_reconstruct() {
    let mut net = TinyAutoencoder::new(5);
    let xs: Vec<Image> = (0..64)
        .map(|i| {
            // Bright bars in one of four positions.
            let mut x = [[[0.05; 6]; 6]; 1];
            (0..6).for_each(|k| x[0][k][i % 4 + 1] = 0.95);
            x
        })
        .collect();
    let mut adam = Adam::new(AdamConfig { lr: 1e-2, ..Default::default() });
    let first = net.train_step(&xs, &xs, &BinaryCrossEntropy, &mut adam);
    let last = (0..300).map(|_| net.train_step(&xs, &xs, &BinaryCrossEntropy, &mut adam)).last().unwrap();
    assert!(last < 0.5 * first, "reconstruction loss {first} → {last}");
}
