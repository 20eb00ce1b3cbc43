//! The generative groups in candle: the autoencoder and the DCGAN pair of `generative.rs`, with candle-nn's layers
//! and optimizers (AdamW with no weight decay is Adam).

use super::Group;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{
    batch_norm, conv2d, conv_transpose2d, linear, loss, ops, AdamW, BatchNorm, Conv2d, Conv2dConfig, ConvTranspose2d,
    ConvTranspose2dConfig, Linear, Optimizer, ParamsAdamW, VarBuilder, VarMap, SGD,
};
use std::hint::black_box;

/// Stride 2, padding 1: what every convolution of these networks uses.
fn conv(i: usize, o: usize, vb: VarBuilder) -> candle_core::Result<Conv2d> {
    conv2d(i, o, 4, Conv2dConfig { stride: 2, padding: 1, ..Default::default() }, vb)
}

fn up(i: usize, o: usize, vb: VarBuilder) -> candle_core::Result<ConvTranspose2d> {
    conv_transpose2d(i, o, 4, ConvTranspose2dConfig { stride: 2, padding: 1, ..Default::default() }, vb)
}

struct Autoencoder {
    c1: Conv2d,
    c2: Conv2d,
    code: Linear,
    fc: Linear,
    d1: ConvTranspose2d,
    d2: ConvTranspose2d,
}

impl Autoencoder {
    fn new(vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            c1: conv(1, 32, vb.pp("c1"))?,
            c2: conv(32, 64, vb.pp("c2"))?,
            code: linear(3136, 16, vb.pp("code"))?,
            fc: linear(16, 3136, vb.pp("fc"))?,
            d1: up(64, 32, vb.pp("d1"))?,
            d2: up(32, 1, vb.pp("d2"))?,
        })
    }
}

impl Module for Autoencoder {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let code = xs.apply(&self.c1)?.relu()?.apply(&self.c2)?.relu()?.flatten_from(1)?.apply(&self.code)?;
        let h = code.apply(&self.fc)?.relu()?.reshape(((), 64, 7, 7))?;
        ops::sigmoid(&h.apply(&self.d1)?.relu()?.apply(&self.d2)?)
    }
}

/// Mean binary cross-entropy of probabilities `p` against targets `t`.
fn bce(p: &Tensor, t: &Tensor) -> candle_core::Result<Tensor> {
    let one_minus = |x: &Tensor| x.affine(-1.0, 1.0);
    ((t * p.log()?)? + (one_minus(t)? * one_minus(p)?.log()?)?)?.neg()?.mean_all()
}

pub fn autoencoder_train(g: &mut Group<'_>, x: &[f32], batch: usize, lr: f32) {
    let varmap = VarMap::new();
    let model = Autoencoder::new(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).expect("model");
    let mut sgd = SGD::new(varmap.all_vars(), f64::from(lr)).expect("optimizer");
    let x = Tensor::from_slice(x, (batch, 1, 28, 28), &Device::Cpu).expect("input");
    g.bench_function("candle", |b| {
        b.iter(|| {
            let loss = bce(&model.forward(&x).expect("forward"), &x).expect("loss");
            sgd.backward_step(&loss).expect("step");
            black_box(loss);
        })
    });
}

struct Generator {
    fc: Linear,
    bn0: BatchNorm,
    up1: ConvTranspose2d,
    bn1: BatchNorm,
    up2: ConvTranspose2d,
}

impl Generator {
    fn new(vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            fc: linear(100, 3136, vb.pp("fc"))?,
            bn0: batch_norm(3136, 1e-5, vb.pp("bn0"))?,
            up1: up(64, 32, vb.pp("up1"))?,
            bn1: batch_norm(32, 1e-5, vb.pp("bn1"))?,
            up2: up(32, 1, vb.pp("up2"))?,
        })
    }

    fn forward(&self, z: &Tensor) -> candle_core::Result<Tensor> {
        let h = z.apply(&self.fc)?.apply_t(&self.bn0, true)?.relu()?.reshape(((), 64, 7, 7))?;
        h.apply(&self.up1)?.apply_t(&self.bn1, true)?.relu()?.apply(&self.up2)?.tanh()
    }
}

struct Discriminator {
    c1: Conv2d,
    c2: Conv2d,
    bn: BatchNorm,
    fc: Linear,
}

impl Discriminator {
    fn new(vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            c1: conv(1, 32, vb.pp("c1"))?,
            c2: conv(32, 64, vb.pp("c2"))?,
            bn: batch_norm(64, 1e-5, vb.pp("bn"))?,
            fc: linear(3136, 1, vb.pp("fc"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let h = ops::leaky_relu(&x.apply(&self.c1)?, 0.2)?;
        let h = ops::leaky_relu(&h.apply(&self.c2)?.apply_t(&self.bn, true)?, 0.2)?;
        h.flatten_from(1)?.apply(&self.fc)
    }
}

pub fn dcgan_step(group: &mut Group<'_>, x: &[f32], z: &[f32], batch: usize) {
    let cpu = &Device::Cpu;
    let (g_vars, d_vars) = (VarMap::new(), VarMap::new());
    let g = Generator::new(VarBuilder::from_varmap(&g_vars, DType::F32, cpu)).expect("generator");
    let d = Discriminator::new(VarBuilder::from_varmap(&d_vars, DType::F32, cpu)).expect("discriminator");
    let params = ParamsAdamW { lr: 2e-4, beta1: 0.5, weight_decay: 0.0, ..Default::default() };
    let mut g_opt = AdamW::new(g_vars.all_vars(), params.clone()).expect("optimizer");
    let mut d_opt = AdamW::new(d_vars.all_vars(), params).expect("optimizer");
    let real = (Tensor::from_slice(x, (batch, 1, 28, 28), cpu).expect("input").affine(2.0, -1.0)).expect("scale");
    let z = Tensor::from_slice(z, (batch, 100), cpu).expect("noise");
    let (ones, zeros) =
        (Tensor::ones((batch, 1), DType::F32, cpu).unwrap(), Tensor::zeros((batch, 1), DType::F32, cpu).unwrap());
    let bce = |logits: &Tensor, t: &Tensor| loss::binary_cross_entropy_with_logit(logits, t).expect("loss");
    group.bench_function("candle", |b| {
        b.iter(|| {
            let fake = g.forward(&z).expect("generator");
            let on_real = bce(&d.forward(&real).expect("discriminator"), &ones);
            let on_fake = bce(&d.forward(&fake.detach()).expect("discriminator"), &zeros);
            d_opt.backward_step(&(on_real + on_fake).expect("sum")).expect("step");
            let fooled = bce(&d.forward(&fake).expect("discriminator"), &ones);
            g_opt.backward_step(&fooled).expect("step");
            black_box(fooled);
        })
    });
}
