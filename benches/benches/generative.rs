//! The generative examples' training steps in `nn`, candle, burn (and PyTorch, in `benches/pytorch/bench.py`):
//!
//! - `autoencoder_train_step_b64`: `examples/autoencoder.rs`'s convolutional autoencoder (an `nn::Chain` of its
//!   encoder and decoder), one SGD step of mean binary cross-entropy against the inputs themselves;
//! - `dcgan_step_b64`: `examples/gan`'s pair, one discriminator update (real and generated batches through it
//!   separately, Adam 2e-4 with β₁ = 0.5) and one generator update through the discriminator (the non-saturating
//!   loss), the generated batch made once per iteration as PyTorch's DCGAN example makes it.

use crate::{data, peers, LR, THREADS};
use criterion::{Criterion, Throughput};
use nn::prelude::*;
use nn::{Chain, Parallelism, Rng};
use std::hint::black_box;

network! {
    pub struct Encoder {
        Input<1, 28, 28>
        -> c1: Conv2d<1, 32, 4, stride = 2, padding = 1> -> ReLU
        -> c2: Conv2d<32, 64, 4, stride = 2, padding = 1> -> ReLU
        -> Flatten -> code: Linear<3136, 16>
    }

    pub struct Decoder {
        Input<16>
        -> fc: Linear<16, 3136> -> ReLU -> Unflatten<64, 7, 7>
        -> d1: ConvTranspose2d<64, 32, 4, stride = 2, padding = 1> -> ReLU
        -> d2: ConvTranspose2d<32, 1, 4, stride = 2, padding = 1> -> Sigmoid
    }

    pub struct Generator {
        Input<100>
        -> fc: Linear<100, 3136> -> bn0: BatchNorm -> ReLU -> Unflatten<64, 7, 7>
        -> up1: ConvTranspose2d<64, 32, 4, stride = 2, padding = 1> -> bn1: BatchNorm -> ReLU
        -> up2: ConvTranspose2d<32, 1, 4, stride = 2, padding = 1> -> Tanh
    }

    pub struct Discriminator {
        Input<1, 28, 28>
        -> c1: Conv2d<1, 32, 4, stride = 2, padding = 1> -> LeakyReLU<0.2>
        -> c2: Conv2d<32, 64, 4, stride = 2, padding = 1> -> bn: BatchNorm -> LeakyReLU<0.2>
        -> Flatten -> fc: Linear<3136, 1>
    }
}

type Image = [[[f32; 28]; 28]; 1];

const BATCH: usize = 64;

/// Noise for the generator, the same for every library: N(0, 1) from `nn`'s generator.
pub fn noise(batch: usize) -> Vec<f32> {
    let mut rng = Rng::new(7, 1);
    (0..batch * 100).map(|_| rng.normal(0.0, 1.0)).collect()
}

fn autoencoder(c: &mut Criterion) {
    let (flat, _) = data(BATCH, 784);
    let xs = Image::from_flat(&flat).to_vec();
    let mut g = c.benchmark_group("autoencoder_train_step_b64");
    g.throughput(Throughput::Elements(BATCH as u64));
    let mut ae = Chain::<Encoder, Decoder>::new(1);
    ae.set_parallelism(Parallelism::Threads(THREADS)).unwrap();
    let mut sgd = Sgd::new(SgdConfig { lr: LR, ..Default::default() });
    g.bench_function("nn", |b| b.iter(|| black_box(ae.train_step(&xs, &xs, &BinaryCrossEntropy, &mut sgd))));
    peers::autoencoder_train(&mut g, &flat, BATCH, LR);
    g.finish();
}

fn dcgan(c: &mut Criterion) {
    let (flat, _) = data(BATCH, 784);
    let real: Vec<Image> =
        Image::from_flat(&flat).iter().map(|x| x.map(|r| r.map(|row| row.map(|v| 2.0 * v - 1.0)))).collect();
    let z_flat = noise(BATCH);
    let z = <[f32; 100]>::from_flat(&z_flat).to_vec();
    let mut group = c.benchmark_group("dcgan_step_b64");
    group.throughput(Throughput::Elements(BATCH as u64));
    let (mut g, mut d) = (Generator::new(1), Discriminator::new(2));
    g.set_parallelism(Parallelism::Threads(THREADS)).unwrap();
    d.set_parallelism(Parallelism::Threads(THREADS)).unwrap();
    let adam = || Adam::new(AdamConfig { lr: 2e-4, beta1: 0.5, ..Default::default() });
    let (mut g_adam, mut d_adam) = (adam(), adam());
    let (ones, zeros) = (vec![[1.0f32]; BATCH], vec![[0.0f32]; BATCH]);
    let (mut d_real_grad, mut d_fake) = (vec![0.0; Discriminator::PARAMS], vec![[[[0.0; 28]; 28]; 1]; BATCH]);
    let mut fake = vec![[[[0.0; 28]; 28]; 1]; BATCH];
    let loss = BinaryCrossEntropyWithLogits;
    group.bench_function("nn", |b| {
        b.iter(|| {
            g.forward_batch(&z, &mut fake);
            d.loss_and_grad(&real, &ones, &loss).unwrap();
            d_real_grad.copy_from_slice(d.grads());
            d.loss_and_grad(&fake, &zeros, &loss).unwrap();
            let parts = d.parts_mut();
            parts.grads.iter_mut().zip(&d_real_grad).for_each(|(g, r)| *g += r);
            d_adam.step(parts.params, parts.grads);
            black_box(d.loss_and_input_grad(&fake, &ones, &loss, &mut d_fake).unwrap());
            g.backward(&z, &d_fake, None).unwrap();
            let parts = g.parts_mut();
            g_adam.step(parts.params, parts.grads);
        })
    });
    peers::dcgan_step(&mut group, &flat, &z_flat, BATCH);
    group.finish();
}

/// The groups of this file, in `benches/README.md`'s order.
pub fn benches(c: &mut Criterion) {
    autoencoder(c);
    dcgan(c);
}
