//! A convolutional autoencoder on MNIST (or `--data` Fashion-MNIST): an encoder to a 16-value code and a decoder
//! back, two networks trained end to end against binary cross-entropy with Adam, then used apart — the encoder for
//! codes (whose quality a linear classifier trained on them measures), the decoder for images. A second pair
//! learns to denoise: noisy inputs, clean targets.
//!
//! The two networks are composed by hand: the decoder's `loss_and_grads` gives its own gradient and the gradient
//! with respect to the codes, from which the encoder's `backward` gives the encoder's. The types check the
//! composition: the decoder's `Input` is `[f32; 16]`, what the encoder's `Output` is.
//!
//! Writes `reconstructions.png` (test digits above their reconstructions) and `denoised.png` (noisy digits, the
//! denoiser's output, the clean digits) to `--out`.
//!
//! `cargo run --release --example autoencoder -- [--data DIR] [--epochs N] [--out DIR]`

mod common;

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

type Image = [[[f32; 28]; 28]; 1];

const BATCH: usize = 64;

/// Standard deviation of the Gaussian noise of the denoising run (pixels then clamped to [0, 1]).
const NOISE: f32 = 0.4;

/// An encoder and a decoder with their optimizers.
struct Autoencoder {
    encoder: Encoder,
    decoder: Decoder,
    encoder_adam: Adam,
    decoder_adam: Adam,
}

impl Autoencoder {
    fn new(seed: u64) -> Self {
        let adam = || Adam::new(AdamConfig { lr: 1e-3, ..Default::default() });
        let (mut encoder, mut decoder) = (Encoder::new(seed), Decoder::new(seed + 1));
        for threads in
            [encoder.set_parallelism(nn::Parallelism::Threads(2)), decoder.set_parallelism(nn::Parallelism::Threads(2))]
        {
            threads.unwrap_or_else(|e| common::fail(e));
        }
        Self { encoder, decoder, encoder_adam: adam(), decoder_adam: adam() }
    }

    /// One step on `inputs` against `targets` (the inputs themselves, or clean images for the denoiser): mean BCE
    /// per pixel.
    fn step(&mut self, inputs: &[Image], targets: &[Image], d_codes: &mut Vec<[f32; 16]>) -> f32 {
        let codes = self.encoder.predict(inputs);
        d_codes.resize(codes.len(), [0.0; 16]);
        let loss = self
            .decoder
            .loss_and_grads(&codes, targets, &BinaryCrossEntropy, d_codes)
            .unwrap_or_else(|e| common::fail(e));
        self.encoder.backward(inputs, d_codes, None).unwrap_or_else(|e| common::fail(e));
        for (parts, adam) in
            [(self.encoder.parts_mut(), &mut self.encoder_adam), (self.decoder.parts_mut(), &mut self.decoder_adam)]
        {
            adam.step(parts.params, parts.grads);
        }
        loss
    }

    /// Mean BCE per pixel of the reconstructions of `inputs` against `targets`, in eval mode.
    fn loss(&mut self, inputs: &[Image], targets: &[Image]) -> f32 {
        self.encoder.eval();
        self.decoder.eval();
        let (mut total, mut count) = (0.0f64, 0usize);
        for (xs, ts) in inputs.chunks(256).zip(targets.chunks(256)) {
            let codes = self.encoder.predict(xs);
            let loss = self.decoder.evaluate_loss(&codes, ts, &BinaryCrossEntropy).unwrap_or_else(|e| common::fail(e));
            (total, count) = (total + f64::from(loss) * xs.len() as f64, count + xs.len());
        }
        self.encoder.train();
        self.decoder.train();
        (total / count as f64) as f32
    }

    /// Trains for `epochs` epochs on `inputs` → `targets` in shuffled batches; prints each epoch's test loss.
    fn fit(&mut self, inputs: &[Image], targets: &[Image], test: (&[Image], &[Image]), epochs: usize, what: &str) {
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        let (mut xs, mut ts, mut d_codes) = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH), Vec::new());
        for epoch in 1..=epochs {
            let started = std::time::Instant::now();
            Rng::new(42, epoch as u64).shuffle(&mut order);
            let mut train = 0.0f64;
            for batch in order.chunks(BATCH) {
                xs.clear();
                ts.clear();
                xs.extend(batch.iter().map(|&i| inputs[i]));
                ts.extend(batch.iter().map(|&i| targets[i]));
                train += f64::from(self.step(&xs, &ts, &mut d_codes)) * batch.len() as f64;
            }
            let test_loss = self.loss(test.0, test.1);
            println!(
                "{what} epoch {epoch}: training BCE per pixel {:.4}, test {test_loss:.4} ({:.1} s)",
                train / inputs.len() as f64,
                started.elapsed().as_secs_f64()
            );
        }
    }
}

fn main() {
    let args = common::parse("autoencoder", "data/mnist-sample", 3);
    let (train, test) = load_mnist::<Image>(&args.data).unwrap_or_else(|e| common::fail(e));
    std::fs::create_dir_all(&args.out).unwrap_or_else(|e| common::fail(e));
    println!("{} training and {} test images\n{}\n{}", train.len(), test.len(), Encoder::summary(), Decoder::summary());

    let mut ae = Autoencoder::new(1);
    ae.fit(&train.inputs, &train.inputs, (&test.inputs, &test.inputs), args.epochs, "autoencoder");
    let reconstruction = ae.loss(&test.inputs, &test.inputs);

    // The encoder alone: codes of every image; a linear classifier on them.
    ae.encoder.eval();
    let codes = |images: &[Image], encoder: &mut Encoder| -> Vec<[f32; 16]> {
        images.chunks(256).flat_map(|xs| encoder.predict(xs)).collect()
    };
    let train_codes =
        Dataset::new(codes(&train.inputs, &mut ae.encoder), train.targets.clone()).unwrap_or_else(|e| common::fail(e));
    let test_codes =
        Dataset::new(codes(&test.inputs, &mut ae.encoder), test.targets.clone()).unwrap_or_else(|e| common::fail(e));
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
    ae.decoder.eval();
    let shown = 10.min(test.len());
    let rebuilt: Vec<Image> = ae.decoder.predict(&test_codes.inputs[..shown]);
    let grid = [&test.inputs[..shown], &rebuilt[..]].concat();
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
    let (noisy_train, noisy_test) = (noisy(&train.inputs), noisy(&test.inputs));
    let mut denoiser = Autoencoder::new(5);
    denoiser.fit(&noisy_train, &train.inputs, (&noisy_test, &test.inputs), args.epochs, "denoiser");
    let denoised_loss = denoiser.loss(&noisy_test, &test.inputs);
    let plain_on_noisy = ae.loss(&noisy_test, &test.inputs);
    denoiser.encoder.eval();
    denoiser.decoder.eval();
    let cleaned = denoiser.decoder.predict(&denoiser.encoder.predict(&noisy_test[..shown]));
    let grid = [&noisy_test[..shown], &cleaned[..], &test.inputs[..shown]].concat();
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
