//! A DCGAN-style generative adversarial network on MNIST (or `--data` Fashion-MNIST): a generator from 100 values
//! of noise to a 28×28 image through a linear layer and two transposed convolutions with batch norm, a
//! discriminator of two strided convolutions with LeakyReLU 0.2 and batch norm to one logit; Adam 2e-4 with
//! β₁ = 0.5 for both, batch 64, the non-saturating loss (Goodfellow et al., 2014; Radford et al., 2016).
//!
//! Each iteration trains the discriminator on a batch of real digits (target 1) and the generator's batch (target
//! 0, a detached copy), then the generator through the discriminator held fixed: `loss_and_input_grad` gives
//! ∂loss/∂image for the target 1 without touching the discriminator, and the generator's `backward` takes it from
//! there. The types make the generator's output the discriminator's input. The generator's `predict` and its
//! `backward` each run it forward in training mode, so its batch-norm running statistics move twice per iteration;
//! they are not used: digits are generated in training mode, on each batch's statistics, as PyTorch's DCGAN
//! example generates them.
//!
//! Quality is measured with the shipped LeNet-5 (`models/lenet5.safetensors`, 0.99 on MNIST's test digits) on
//! as many generated digits as there are test digits, each figure beside the same for the test digits: the share LeNet classifies with
//! probability ≥ 0.9, the entropy of the histogram of its classes (ln 10 = 2.303 when every digit is as common),
//! and the Fréchet distance between LeNet's 84 penultimate features of the two sets (a small FID).
//!
//! Writes `samples_epoch_N.png` (the same 64 noise vectors every epoch) and `losses.svg` (both losses per epoch)
//! to `--out`.
//!
//! `cargo run --release --example gan -- [--data DIR] [--epochs N] [--out DIR]`

#[path = "../common/mod.rs"]
mod common;
mod frechet;

use common::{map_pixels, Image};
use nn::prelude::*;
use nn::train::{write_image_grid, write_plot};
use nn::Rng;

network! {
    /// 100 values of noise → a 28×28 image in [−1, 1].
    pub struct Generator {
        Input<100>
        -> fc: Linear<100, 3136> -> bn0: BatchNorm -> ReLU -> Unflatten<64, 7, 7>
        -> up1: ConvTranspose2d<64, 32, 4, stride = 2, padding = 1> -> bn1: BatchNorm -> ReLU    // 32×14×14
        -> up2: ConvTranspose2d<32, 1, 4, stride = 2, padding = 1> -> Tanh                       // 1×28×28
    }

    /// A 28×28 image → one logit: real or generated.
    pub struct Discriminator {
        Input<1, 28, 28>
        -> c1: Conv2d<1, 32, 4, stride = 2, padding = 1> -> LeakyReLU<0.2>                     // 32×14×14
        -> c2: Conv2d<32, 64, 4, stride = 2, padding = 1> -> bn: BatchNorm -> LeakyReLU<0.2>   // 64×7×7
        -> Flatten -> fc: Linear<3136, 1>
    }

    /// LeNet-5 with the weights `lenet_mnist` trained on the full MNIST: the judge.
    #[weights = "models/lenet5.safetensors"]
    pub struct LeNet5 {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc1: Linear<256, 120> -> ReLU -> fc2: Linear<120, 84> -> ReLU -> fc3: Linear<84, 10>
    }

    /// LeNet-5 up to its penultimate features (the same names: its weights copy over by name).
    pub struct LeNetFeatures {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc1: Linear<256, 120> -> ReLU -> fc2: Linear<120, 84> -> ReLU
    }
}

type Noise = [f32; 100];

const BATCH: usize = 64;
/// MNIST's normalisation, as LeNet-5 was trained with it.
const MEAN: f32 = 0.1307;
const STD: f32 = 0.3081;

/// `n` noise vectors from N(0, I).
fn noise(rng: &mut Rng, n: usize) -> Vec<Noise> {
    (0..n).map(|_| core::array::from_fn(|_| rng.normal(0.0, 1.0))).collect()
}

/// The generator's images in [−1, 1] as pixels in [0, 1].
fn pixels(images: &[Image]) -> Vec<Image> {
    images.iter().map(|x| map_pixels(x, |v| (v + 1.0) / 2.0)).collect()
}

/// The judge's figures for a set of digits (pixels in [0, 1]).
struct Judgement {
    /// Share classified with probability ≥ 0.9.
    confident: f64,
    /// Entropy of the histogram of predicted classes (nats).
    entropy: f64,
    /// LeNet's penultimate features of every digit.
    features: Vec<Vec<f32>>,
}

/// LeNet-5's figures for `digits`.
fn judge(lenet: &mut LeNet5, features: &mut LeNetFeatures, digits: &[Image]) -> Judgement {
    let mut histogram = [0usize; 10];
    let (mut confident, mut all) = (0usize, Vec::with_capacity(digits.len()));
    for batch in digits.chunks(256) {
        let normalised: Vec<Image> = batch.iter().map(|x| map_pixels(x, |v| (v - MEAN) / STD)).collect();
        for logits in lenet.predict(&normalised) {
            let top = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let total: f32 = logits.iter().map(|&l| (l - top).exp()).sum();
            confident += usize::from(1.0 / total >= 0.9);
            histogram[nn::argmax(&logits)] += 1;
        }
        all.extend(features.predict(&normalised).iter().map(|f| f.to_vec()));
    }
    let n = digits.len() as f64;
    let entropy = histogram.iter().filter(|&&c| c > 0).map(|&c| -(c as f64 / n) * (c as f64 / n).ln()).sum();
    Judgement { confident: confident as f64 / n, entropy, features: all }
}

fn main() {
    let args = common::parse("gan", "data/mnist-sample", 5);
    let (train, test) = load_mnist::<Image>(&args.data).unwrap_or_else(|e| common::fail(e));
    // The generator ends in tanh: real digits go to [−1, 1] too.
    let real: Vec<Image> = train.inputs.iter().map(|x| map_pixels(x, |v| 2.0 * v - 1.0)).collect();
    println!("{} training digits\n{}\n{}", real.len(), Generator::summary(), Discriminator::summary());

    let (mut g, mut d) = (Generator::new(1), Discriminator::new(2));
    for threads in [g.set_parallelism(nn::Parallelism::Threads(2)), d.set_parallelism(nn::Parallelism::Threads(2))] {
        threads.unwrap_or_else(|e| common::fail(e));
    }
    let adam = || Adam::new(AdamConfig { lr: 2e-4, beta1: 0.5, ..Default::default() });
    let (mut g_adam, mut d_adam) = (adam(), adam());
    let loss = BinaryCrossEntropyWithLogits;
    let (ones, zeros) = (vec![[1.0f32]; BATCH], vec![[0.0f32]; BATCH]);
    let mut rng = Rng::new(3, 0);
    let shown = noise(&mut Rng::new(4, 0), 64);
    let (mut d_real_grad, mut d_fake_image) = (vec![0.0; Discriminator::PARAMS], vec![[[[0.0; 28]; 28]; 1]; BATCH]);
    let mut order: Vec<usize> = (0..real.len()).collect();
    let mut batch = Vec::with_capacity(BATCH);
    let (mut d_curve, mut g_curve) = (Vec::new(), Vec::new());
    for epoch in 1..=args.epochs {
        let started = std::time::Instant::now();
        Rng::new(5, epoch as u64).shuffle(&mut order);
        let (mut d_total, mut g_total, mut steps) = (0.0f64, 0.0f64, 0usize);
        // Full batches only: batch norm's statistics and the targets' lengths stay those of BATCH.
        for indices in order.chunks_exact(BATCH) {
            batch.clear();
            batch.extend(indices.iter().map(|&i| real[i]));
            let z = noise(&mut rng, BATCH);
            let fake = g.predict(&z);

            // The discriminator: real digits are 1, generated ones 0; the two gradients summed, one step.
            let on_real = d.loss_and_grad(&batch, &ones, &loss).unwrap_or_else(|e| common::fail(e));
            d_real_grad.copy_from_slice(d.grads());
            let on_fake = d.loss_and_grad(&fake, &zeros, &loss).unwrap_or_else(|e| common::fail(e));
            let parts = d.parts_mut();
            parts.grads.iter_mut().zip(&d_real_grad).for_each(|(g, r)| *g += r);
            d_adam.step(parts.params, parts.grads);

            // The generator through the discriminator held fixed: the non-saturating loss, generated digits as 1.
            let fooled =
                d.loss_and_input_grad(&fake, &ones, &loss, &mut d_fake_image).unwrap_or_else(|e| common::fail(e));
            g.backward(&z, &d_fake_image, None).unwrap_or_else(|e| common::fail(e));
            let parts = g.parts_mut();
            g_adam.step(parts.params, parts.grads);

            d_total += f64::from(on_real + on_fake);
            g_total += f64::from(fooled);
            steps += 1;
        }
        let (d_loss, g_loss) = ((d_total / steps as f64) as f32, (g_total / steps as f64) as f32);
        d_curve.push((epoch as f32, d_loss));
        g_curve.push((epoch as f32, g_loss));
        let samples = pixels(&g.predict(&shown));
        let png = args.out.join(format!("samples_epoch_{epoch}.png"));
        write_image_grid(&png, &samples, [1, 28, 28], 8).unwrap_or_else(|e| common::fail(e));
        println!(
            "epoch {epoch}: discriminator loss {d_loss:.4} (real + generated), generator loss {g_loss:.4} ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
    }
    let curves = args.out.join("losses.svg");
    let lines = [("discriminator", &d_curve[..]), ("generator", &g_curve[..])];
    write_plot(&curves, "DCGAN losses per epoch", "epoch", "mean loss", &lines, false)
        .unwrap_or_else(|e| common::fail(e));

    // The judge: LeNet-5 on generated digits and on real test digits.
    let mut lenet = LeNet5::pretrained();
    let mut features = LeNetFeatures::new(0);
    for t in LeNetFeatures::TENSORS {
        let values = lenet.param(t.name).unwrap_or_else(|| common::fail(format!("no tensor {}", t.name)));
        features.params_mut()[t.offset..t.offset + t.len()].copy_from_slice(values);
    }
    lenet.eval();
    features.eval();
    // Generated in training mode, as during training: batch norm on each batch's statistics.
    let mut generated = Vec::with_capacity(test.len());
    let mut judge_rng = Rng::new(6, 0);
    while generated.len() < test.len() {
        generated.extend(pixels(&g.predict(&noise(&mut judge_rng, 256))));
    }
    generated.truncate(test.len());
    let of_generated = judge(&mut lenet, &mut features, &generated);
    let of_test = judge(&mut lenet, &mut features, &test.inputs);
    // The real baseline of the distance: as many training digits against the test digits.
    let baseline: Vec<Image> = train.inputs.iter().take(test.len()).copied().collect();
    let of_train = judge(&mut lenet, &mut features, &baseline);
    let fid = frechet::distance(&of_generated.features, &of_test.features);
    let real_fid = frechet::distance(&of_train.features, &of_test.features);
    println!("images: {} (per epoch), curves: {}", args.out.join("samples_epoch_N.png").display(), curves.display());
    println!("judged by LeNet-5 ({} generated digits, {} test digits):", generated.len(), test.len());
    println!(
        "  classified with probability ≥ 0.9: generated {:.4}, real {:.4}",
        of_generated.confident, of_test.confident
    );
    println!(
        "  entropy of the class histogram: generated {:.3}, real {:.3} (ln 10 = {:.3})",
        of_generated.entropy,
        of_test.entropy,
        10f64.ln()
    );
    println!(
        "  Fréchet distance of LeNet features to the test digits: generated {fid:.2}, training digits {real_fid:.2}"
    );
}
