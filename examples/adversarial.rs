//! Gradients with respect to the input: saliency maps and fast-gradient-sign adversarial digits for the shipped
//! LeNet-5 (`models/lenet5.safetensors`, 0.99 on MNIST's test set), with its accuracy on the perturbed digits.
//!
//! The fast gradient sign method (Goodfellow, Shlens and Szegedy, 2015) moves every pixel by ε in the direction
//! that raises the loss, `x + ε·sign(∂L/∂x)`, clamped to the valid range. Writes `saliency.png` (digits over their
//! |∂L/∂x|) and `adversarial.png` (digits over their perturbed copies at ε = 0.1) to `--out`.
//!
//! `cargo run --release --example adversarial -- [--data DIR] [--out DIR]`

mod common;

use common::{map_pixels, zip_pixels, Image};
use nn::prelude::*;
use nn::train::write_image_grid;

network! {
    /// LeNet-5 for 28×28 digits, with the weights `lenet_mnist` trained on the full MNIST.
    #[weights = "models/lenet5.safetensors"]
    pub struct LeNet5 {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten
        -> fc1: Linear<256, 120> -> ReLU
        -> fc2: Linear<120, 84> -> ReLU
        -> fc3: Linear<84, 10>
    }
}

/// MNIST's normalisation, as the weights were trained with it: the network reads `(pixel − MEAN) / STD`.
const MEAN: f32 = 0.1307;
const STD: f32 = 0.3081;

/// Samples per gradient pass.
const BATCH: usize = 256;

fn main() {
    let args = common::parse("adversarial", "data/mnist-sample", 0);
    let (_, test) = load_mnist::<Image>(&args.data).unwrap_or_else(|e| common::fail(e));
    std::fs::create_dir_all(&args.out).unwrap_or_else(|e| common::fail(e));
    let mut net = LeNet5::pretrained();
    net.eval();
    // Pixels in [0, 1]; the network sees them normalised.
    let pixels = test.inputs;
    let labels = test.targets;
    let normalised = |p: &[Image]| -> Vec<Image> { p.iter().map(|x| map_pixels(x, |v| (v - MEAN) / STD)).collect() };
    let clean = net.accuracy(&normalised(&pixels), &labels);
    println!("{} test digits; accuracy {clean:.4} as they are", pixels.len());

    // ∂L/∂x of every test digit, in the network's normalised units (the sign is what FGSM uses).
    let mut grads = vec![[[[0.0; 28]; 28]; 1]; pixels.len()];
    for (start, (xs, ys)) in pixels.chunks(BATCH).zip(labels.chunks(BATCH)).enumerate() {
        let slots = &mut grads[start * BATCH..][..xs.len()];
        net.loss_and_input_grad(&normalised(xs), ys, &CrossEntropy, slots).unwrap_or_else(|e| common::fail(e));
    }
    let perturbed = |eps: f32| -> Vec<Image> {
        pixels
            .iter()
            .zip(&grads)
            .map(|(x, g)| zip_pixels(x, g, |v, d| (v + eps * d.signum()).clamp(0.0, 1.0)))
            .collect()
    };
    println!("fast gradient sign method, accuracy on the perturbed digits:");
    for eps in [0.05, 0.1, 0.15, 0.2, 0.25] {
        let accuracy = net.accuracy(&normalised(&perturbed(eps)), &labels);
        println!("  ε = {eps:<4}  {accuracy:.4}");
    }

    // Eight digits over their saliency (|∂L/∂x|, scaled to each map's largest) and over their adversarial copies.
    let shown = 8.min(pixels.len());
    let saliency: Vec<Image> = grads[..shown]
        .iter()
        .map(|g| {
            let top = g[0].iter().flatten().fold(0.0f32, |m, v| m.max(v.abs())).max(f32::MIN_POSITIVE);
            map_pixels(g, |v| v.abs() / top)
        })
        .collect();
    let adversarial = perturbed(0.1);
    let saliency_png = args.out.join("saliency.png");
    let adversarial_png = args.out.join("adversarial.png");
    let rows = |below: &[Image]| [&pixels[..shown], &below[..shown]].concat();
    write_image_grid(&saliency_png, &rows(&saliency), [1, 28, 28], shown).unwrap_or_else(|e| common::fail(e));
    write_image_grid(&adversarial_png, &rows(&adversarial), [1, 28, 28], shown).unwrap_or_else(|e| common::fail(e));
    let predicted = net.predict(&normalised(&adversarial[..shown]));
    let classes: Vec<usize> = predicted.iter().map(|y| nn::argmax(y)).collect();
    println!("the digits {:?} at ε = 0.1 are read as {classes:?}", &labels[..shown]);
    println!("images: {}, {}", saliency_png.display(), adversarial_png.display());
}
