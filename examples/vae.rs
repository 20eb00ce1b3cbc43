//! The variational autoencoder of PyTorch's examples repository (`examples/vae`): 784-400-(20+20) → `GaussianSample`
//! → 20-400-784, binary cross-entropy summed over the pixels plus the KL divergence, Adam 1e-3, batch 128, 10
//! epochs. Prints the test loss per image in nats — with z sampled, as that example computes it, and with z = μ
//! (eval mode) — and writes a grid of digits decoded from z ~ N(0, I). A second model with a 2-value latent
//! space draws its manifold (digits decoded over a grid of z) and its test codes by digit.
//!
//! `cargo run --release --example vae -- [--data DIR] [--epochs N] [--out DIR]`

mod common;

use nn::prelude::*;
use nn::train::{write_image_grid, write_scatter};
use nn::Rng;

network! {
    /// PyTorch's VAE: μ and log σ² from one layer of 400, a sample of 20, back to 784 probabilities.
    pub struct Vae {
        Input<784> -> fc1: Linear<784, 400> -> ReLU -> stats: Linear<400, 40> -> z: GaussianSample<20>
        -> fc3: Linear<20, 400> -> ReLU -> fc4: Linear<400, 784> -> Sigmoid
    }

    /// Its decoder alone, for generating: the same names, so the weights copy over by name.
    pub struct Decoder {
        Input<20> -> fc3: Linear<20, 400> -> ReLU -> fc4: Linear<400, 784> -> Sigmoid
    }

    /// The same with a latent space of 2 values, to draw.
    pub struct Vae2 {
        Input<784> -> fc1: Linear<784, 400> -> ReLU -> stats: Linear<400, 4> -> z: GaussianSample<2>
        -> fc3: Linear<2, 400> -> ReLU -> fc4: Linear<400, 784> -> Sigmoid
    }

    /// Its encoder's μ and log σ² (the first two are the code drawn), and its decoder.
    pub struct Encoder2 {
        Input<784> -> fc1: Linear<784, 400> -> ReLU -> stats: Linear<400, 4>
    }
    pub struct Decoder2 {
        Input<2> -> fc3: Linear<2, 400> -> ReLU -> fc4: Linear<400, 784> -> Sigmoid
    }
}

type Image = [f32; 784];

/// Copies every tensor of `part` from the same-named tensor of `whole`.
fn copy_tensors<A: Network, B: Network>(whole: &A, part: &mut B) {
    for t in B::TENSORS {
        let values = whole.param(t.name).unwrap_or_else(|| common::fail(format!("no tensor {}", t.name)));
        part.params_mut()[t.offset..t.offset + t.len()].copy_from_slice(values);
    }
}

/// Trains `net` for `epochs` epochs of shuffled batches of 128 with the VAE's objective; prints each epoch's
/// training loss per image.
fn train<N: Network<Input = Image, Output = Image>>(net: &mut N, train: &[Image], epochs: usize, what: &str) {
    let mut adam = Adam::new(AdamConfig { lr: 1e-3, ..Default::default() });
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut batch = Vec::with_capacity(128);
    for epoch in 1..=epochs {
        let started = std::time::Instant::now();
        Rng::new(1, epoch as u64).shuffle(&mut order);
        let mut total = 0.0f64;
        for indices in order.chunks(128) {
            batch.clear();
            batch.extend(indices.iter().map(|&i| train[i]));
            total += f64::from(net.train_step(&batch, &batch, &Sum(BinaryCrossEntropy), &mut adam));
        }
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{what} epoch {epoch}: training loss {:.1} nats per image ({seconds:.1} s)",
            total / train.len() as f64
        );
    }
}

/// The test loss per image (BCE summed over the pixels plus KL), in the network's mode.
fn test_loss<N: Network<Input = Image, Output = Image>>(net: &mut N, test: &[Image]) -> f64 {
    let total: f64 = test
        .chunks(500)
        .map(|xs| f64::from(net.evaluate_loss(xs, xs, &Sum(BinaryCrossEntropy)).unwrap_or_else(|e| common::fail(e))))
        .sum();
    total / test.len() as f64
}

fn main() {
    let args = common::parse("vae", "data/mnist-sample", 10);
    let (train_set, test_set) = load_mnist::<Image>(&args.data).unwrap_or_else(|e| common::fail(e));
    std::fs::create_dir_all(&args.out).unwrap_or_else(|e| common::fail(e));
    println!("{} training and {} test images", train_set.len(), test_set.len());

    let mut vae = Vae::new(1);
    vae.set_parallelism(nn::Parallelism::Threads(2)).unwrap_or_else(|e| common::fail(e));
    train(&mut vae, &train_set.inputs, args.epochs, "VAE (20 latent values)");
    let sampled = test_loss(&mut vae, &test_set.inputs);
    vae.eval();
    let at_mean = test_loss(&mut vae, &test_set.inputs);

    // Generating: the decoder alone on z ~ N(0, I).
    let mut decoder = Decoder::new(0);
    copy_tensors(&vae, &mut decoder);
    let mut rng = Rng::new(7, 0);
    let z: Vec<[f32; 20]> = (0..64).map(|_| core::array::from_fn(|_| rng.normal(0.0, 1.0))).collect();
    let samples_png = args.out.join("samples.png");
    write_image_grid(&samples_png, &decoder.predict(&z), [1, 28, 28], 8).unwrap_or_else(|e| common::fail(e));

    // A latent space of 2 values: its manifold and its test codes.
    let mut vae2 = Vae2::new(2);
    vae2.set_parallelism(nn::Parallelism::Threads(2)).unwrap_or_else(|e| common::fail(e));
    train(&mut vae2, &train_set.inputs, args.epochs, "VAE (2 latent values)");
    let sampled2 = test_loss(&mut vae2, &test_set.inputs);
    let (mut encoder2, mut decoder2) = (Encoder2::new(0), Decoder2::new(0));
    copy_tensors(&vae2, &mut encoder2);
    copy_tensors(&vae2, &mut decoder2);
    let grid: Vec<[f32; 2]> = (0..20)
        .flat_map(|i| (0..20).map(move |j| [-3.0 + 6.0 * j as f32 / 19.0, 3.0 - 6.0 * i as f32 / 19.0]))
        .collect();
    let manifold_png = args.out.join("manifold.png");
    write_image_grid(&manifold_png, &decoder2.predict(&grid), [1, 28, 28], 20).unwrap_or_else(|e| common::fail(e));
    let codes: Vec<(f32, f32)> = encoder2.predict(&test_set.inputs).iter().map(|s| (s[0], s[1])).collect();
    let latent_svg = args.out.join("latent.svg");
    write_scatter(&latent_svg, "test digits' μ in the 2-value latent space", &codes, &test_set.targets)
        .unwrap_or_else(|e| common::fail(e));

    println!("images: {}, {}, {}", samples_png.display(), manifold_png.display(), latent_svg.display());
    println!("2 latent values: test loss {sampled2:.1} nats per image (z sampled)");
    println!("test loss per image: {sampled:.1} nats with z sampled, {at_mean:.1} with z = μ");
}
