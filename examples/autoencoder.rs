//! A convolutional autoencoder on MNIST (or `--data` Fashion-MNIST): an encoder to a 16-value code and a decoder
//! back, two networks trained end to end against binary cross-entropy with Adam, then used apart — the encoder for
//! codes (whose quality a linear classifier trained on them measures), the decoder for images. A second pair
//! learns to denoise: noisy inputs, clean targets.
//!
//! The two networks are one `nn::Chain<Encoder, Decoder>`: the compiler checks that the decoder's `Input` is
//! what the encoder outputs (`[f32; 16]`), `fit` trains the chain like any network on a `Reconstruction` data set
//! (each image its own target, held once), and `first()` / `second()` give the trained parts.
//!
//! Writes `reconstructions.png` (test digits above their reconstructions) and `denoised.png` (noisy digits, the
//! denoiser's output, the clean digits) to `--out`.
//!
//! `cargo run --release --example autoencoder -- [--data DIR] [--epochs N] [--out DIR]`

mod common;

use common::Image;
use nn::data::Reconstruction;
use nn::prelude::*;
use nn::train::write_image_grid;
use nn::Rng;

network! {
    /// 28×28 → 16 values.
    pub struct Encoder {
        Input<1, 28, 28>
        -> c1: Conv2d<1, 32, 4, stride = 2, padding = 1> -> ReLU     // 32×14×14
        -> c2: Conv2d<32, 64, 4, stride = 2, padding = 1> -> ReLU    // 64×7×7
        -> Flatten -> code: Linear<3136, 16>
    }

    /// 16 values → 28×28 probabilities.
    pub struct Decoder {
        Input<16>
        -> fc: Linear<16, 3136> -> ReLU -> Unflatten<64, 7, 7>
        -> d1: ConvTranspose2d<64, 32, 4, stride = 2, padding = 1> -> ReLU
        -> d2: ConvTranspose2d<32, 1, 4, stride = 2, padding = 1> -> Sigmoid
    }

    /// A linear classifier of codes: how much of the digit's class the 16 values keep.
    pub struct Probe {
        Input<16> -> fc: Linear<16, 10>
    }
}

/// The encoder and the decoder trained as one network; its tensors are `encoder.c1.weight`, …,
/// `decoder.d2.bias`.
type Autoencoder = nn::Chain<Encoder, Decoder>;

/// Standard deviation of the Gaussian noise of the denoising run (pixels then clamped to [0, 1]).
const NOISE: f32 = 0.4;

/// A new autoencoder trained on `train` (inputs and their targets) with Adam 1e-3, batch 64, two threads,
/// printing each epoch's training and test loss (mean BCE per pixel).
fn trained<D: nn::data::Samples<Image, Image>>(seed: u64, train: &D, test: &D, epochs: usize) -> Autoencoder {
    let mut ae = Autoencoder::new(seed);
    ae.set_parallelism(nn::Parallelism::Threads(2)).unwrap_or_else(|e| common::fail(e));
    let mut adam = Adam::new(AdamConfig { lr: 1e-3, ..Default::default() });
    let config = TrainConfig { epochs, batch_size: 64, shuffle: Some(42), progress: false, ..Default::default() };
    fit(&mut ae, &mut adam, &BinaryCrossEntropy, train, Some(test), &config).unwrap_or_else(|e| common::fail(e));
    ae
}

/// Mean BCE per pixel of `ae`'s outputs for `data`'s inputs against its targets (eval mode).
fn loss(ae: &mut Autoencoder, data: &impl nn::data::Samples<Image, Image>) -> f32 {
    evaluate(ae, data, &BinaryCrossEntropy).unwrap_or_else(|e| common::fail(e)).loss
}

fn main() {
    let args = common::parse("autoencoder", "data/mnist-sample", 3);
    let (train, test) = load_mnist::<Image>(&args.data).unwrap_or_else(|e| common::fail(e));
    std::fs::create_dir_all(&args.out).unwrap_or_else(|e| common::fail(e));
    println!("{} training and {} test images\n{}\n{}", train.len(), test.len(), Encoder::summary(), Decoder::summary());

    let (train_images, test_images) = (Reconstruction::new(train.inputs), Reconstruction::new(test.inputs));
    println!("autoencoder:");
    let mut ae = trained(1, &train_images, &test_images, args.epochs);
    let reconstruction = loss(&mut ae, &test_images);

    // The encoder alone: codes of every image; a linear classifier on them.
    let mut encoder = ae.first();
    encoder.eval();
    let mut codes =
        |images: &[Image]| -> Vec<[f32; 16]> { images.chunks(256).flat_map(|xs| encoder.predict(xs)).collect() };
    let train_codes = Dataset::new(codes(&train_images.inputs), train.targets).unwrap_or_else(|e| common::fail(e));
    let test_codes = Dataset::new(codes(&test_images.inputs), test.targets).unwrap_or_else(|e| common::fail(e));
    let mut probe = Probe::new(3);
    let mut adam = Adam::new(AdamConfig { lr: 1e-2, ..Default::default() });
    let config = TrainConfig {
        epochs: 20,
        batch_size: 128,
        shuffle: Some(7),
        verbose: false,
        progress: false,
        ..Default::default()
    };
    fit(&mut probe, &mut adam, &CrossEntropy, &train_codes, None, &config).unwrap_or_else(|e| common::fail(e));
    let probe_accuracy = probe.accuracy(&test_codes.inputs, &test_codes.targets);

    // The decoder alone: reconstructions of the first test digits from their codes.
    let mut decoder = ae.second();
    decoder.eval();
    let shown = 10.min(test_images.len());
    let rebuilt: Vec<Image> = decoder.predict(&test_codes.inputs[..shown]);
    let grid = [&test_images.inputs[..shown], &rebuilt[..]].concat();
    let reconstructions_png = args.out.join("reconstructions.png");
    write_image_grid(&reconstructions_png, &grid, [1, 28, 28], shown).unwrap_or_else(|e| common::fail(e));

    // Denoising: inputs with Gaussian noise, the clean images as targets.
    let mut rng = Rng::new(11, 0);
    let mut noisy = |images: &[Image]| -> Vec<Image> {
        images
            .iter()
            .map(|x| {
                [core::array::from_fn(|i| {
                    core::array::from_fn(|j| (x[0][i][j] + rng.normal(0.0, NOISE)).clamp(0.0, 1.0))
                })]
            })
            .collect()
    };
    let noisy_train =
        Dataset::new(noisy(&train_images.inputs), train_images.inputs).unwrap_or_else(|e| common::fail(e));
    let noisy_test = Dataset::new(noisy(&test_images.inputs), test_images.inputs).unwrap_or_else(|e| common::fail(e));
    println!("denoiser:");
    let mut denoiser = trained(5, &noisy_train, &noisy_test, args.epochs);
    let denoised_loss = loss(&mut denoiser, &noisy_test);
    let plain_on_noisy = loss(&mut ae, &noisy_test);
    let cleaned = denoiser.predict(&noisy_test.inputs[..shown]);
    let grid = [&noisy_test.inputs[..shown], &cleaned[..], &noisy_test.targets[..shown]].concat();
    let denoised_png = args.out.join("denoised.png");
    write_image_grid(&denoised_png, &grid, [1, 28, 28], shown).unwrap_or_else(|e| common::fail(e));

    println!("images: {}, {}", reconstructions_png.display(), denoised_png.display());
    println!(
        "noisy test digits (σ = {NOISE}) against the clean ones: denoiser BCE per pixel {denoised_loss:.4}, the plain \
         autoencoder {plain_on_noisy:.4}"
    );
    println!("linear classifier on the 16-value codes: test accuracy {probe_accuracy:.4}");
    println!("test reconstruction BCE per pixel: {reconstruction:.4}");
}
