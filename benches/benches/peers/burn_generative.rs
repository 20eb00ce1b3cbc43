//! The generative groups in burn 0.22 (Flex backend, autodiff): the autoencoder and the DCGAN pair of
//! `generative.rs`, with burn-nn's layers and burn's optimizers.

use super::Group;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::loss::BinaryCrossEntropyLossConfig;
use burn::nn::{BatchNorm, BatchNormConfig, LeakyRelu, LeakyReluConfig, Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams, SgdConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::hint::black_box;

/// Stride 2, padding 1: what every convolution of these networks uses.
fn conv(i: usize, o: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([i, o], [4, 4])
        .with_stride([2, 2])
        .with_padding(burn::nn::PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

fn up(i: usize, o: usize, device: &Device) -> ConvTranspose2d {
    ConvTranspose2dConfig::new([i, o], [4, 4]).with_stride([2, 2]).with_padding([1, 1]).init(device)
}

#[derive(Module, Debug)]
struct Autoencoder {
    c1: Conv2d,
    c2: Conv2d,
    code: Linear,
    fc: Linear,
    d1: ConvTranspose2d,
    d2: ConvTranspose2d,
    relu: Relu,
}

impl Autoencoder {
    fn new(device: &Device) -> Self {
        Self {
            c1: conv(1, 32, device),
            c2: conv(32, 64, device),
            code: LinearConfig::new(3136, 16).init(device),
            fc: LinearConfig::new(16, 3136).init(device),
            d1: up(64, 32, device),
            d2: up(32, 1, device),
            relu: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [batch, ..] = x.dims();
        let h = self.relu.forward(self.c2.forward(self.relu.forward(self.c1.forward(x))));
        let code = self.code.forward(h.flatten::<2>(1, 3));
        let h: Tensor<4> = self.relu.forward(self.fc.forward(code)).reshape([batch, 64, 7, 7]);
        sigmoid(self.d2.forward(self.relu.forward(self.d1.forward(h))))
    }
}

/// Mean binary cross-entropy of probabilities `p` against targets `t` (burn's loss takes integer targets).
fn bce(p: Tensor<4>, t: Tensor<4>) -> Tensor<1> {
    let ones = t.ones_like();
    (t.clone() * p.clone().log() + (ones.clone() - t) * (ones - p).log()).neg().mean()
}

pub fn autoencoder_train(g: &mut Group<'_>, x: &[f32], batch: usize, lr: f32) {
    let device = Device::flex().autodiff();
    let x: Tensor<4> = Tensor::from_data(TensorData::new(x.to_vec(), [batch, 1, 28, 28]), &device);
    let mut model = Some(Autoencoder::new(&device));
    let mut optim = SgdConfig::new().init();
    g.bench_function("burn", |b| {
        b.iter(|| {
            let m = model.take().expect("model");
            let loss = bce(m.forward(x.clone()), x.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &m);
            model = Some(optim.step(f64::from(lr), m, grads));
            black_box(loss);
        })
    });
}

#[derive(Module, Debug)]
struct Generator {
    fc: Linear,
    bn0: BatchNorm,
    up1: ConvTranspose2d,
    bn1: BatchNorm,
    up2: ConvTranspose2d,
    relu: Relu,
}

impl Generator {
    fn new(device: &Device) -> Self {
        Self {
            fc: LinearConfig::new(100, 3136).init(device),
            bn0: BatchNormConfig::new(3136).init(device),
            up1: up(64, 32, device),
            bn1: BatchNormConfig::new(32).init(device),
            up2: up(32, 1, device),
            relu: Relu::new(),
        }
    }

    fn forward(&self, z: Tensor<2>) -> Tensor<4> {
        let [batch, _] = z.dims();
        let h: Tensor<4> = self.relu.forward(self.bn0.forward(self.fc.forward(z))).reshape([batch, 64, 7, 7]);
        self.up2.forward(self.relu.forward(self.bn1.forward(self.up1.forward(h)))).tanh()
    }
}

#[derive(Module, Debug)]
struct Discriminator {
    c1: Conv2d,
    c2: Conv2d,
    bn: BatchNorm,
    fc: Linear,
    leaky: LeakyRelu,
}

impl Discriminator {
    fn new(device: &Device) -> Self {
        Self {
            c1: conv(1, 32, device),
            c2: conv(32, 64, device),
            bn: BatchNormConfig::new(64).init(device),
            fc: LinearConfig::new(3136, 1).init(device),
            leaky: LeakyReluConfig::new().with_negative_slope(0.2).init(),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let h = self.leaky.forward(self.c1.forward(x));
        let h = self.leaky.forward(self.bn.forward(self.c2.forward(h)));
        self.fc.forward(h.flatten(1, 3))
    }
}

pub fn dcgan_step(group: &mut Group<'_>, x: &[f32], z: &[f32], batch: usize) {
    let device = Device::flex().autodiff();
    let real: Tensor<4> = Tensor::from_data(TensorData::new(x.to_vec(), [batch, 1, 28, 28]), &device) * 2.0 - 1.0;
    let z: Tensor<2> = Tensor::from_data(TensorData::new(z.to_vec(), [batch, 100]), &device);
    let label = |v: i64| -> Tensor<2, Int> { Tensor::from_data(TensorData::new(vec![v; batch], [batch, 1]), &device) };
    let (ones, zeros) = (label(1), label(0));
    let loss_fn = BinaryCrossEntropyLossConfig::new().with_logits(true).init(&device);
    let (mut g, mut d) = (Some(Generator::new(&device)), Some(Discriminator::new(&device)));
    let adam = || AdamConfig::new().with_beta_1(0.5).init();
    let (mut g_opt, mut d_opt) = (adam(), adam());
    group.bench_function("burn", |b| {
        b.iter(|| {
            let (gm, dm) = (g.take().expect("generator"), d.take().expect("discriminator"));
            let fake = gm.forward(z.clone());
            let d_loss = loss_fn.forward(dm.forward(real.clone()), ones.clone())
                + loss_fn.forward(dm.forward(fake.clone().detach()), zeros.clone());
            let grads = GradientsParams::from_grads(d_loss.backward(), &dm);
            let dm = d_opt.step(2e-4, dm, grads);
            let g_loss = loss_fn.forward(dm.forward(fake), ones.clone());
            let grads = GradientsParams::from_grads(g_loss.backward(), &gm);
            g = Some(g_opt.step(2e-4, gm, grads));
            d = Some(dm);
            black_box(g_loss);
        })
    });
}
