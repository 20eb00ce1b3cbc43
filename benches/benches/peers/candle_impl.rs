//! candle (candle-core + candle-nn, CPU device), following candle's MNIST training example.

use super::Group;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{conv2d, linear, loss, Conv2d, Linear, Optimizer, VarBuilder, VarMap, SGD};
use std::hint::black_box;

struct LeNet {
    conv1: Conv2d,
    conv2: Conv2d,
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
}

impl LeNet {
    fn new(vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            conv1: conv2d(1, 6, 5, Default::default(), vb.pp("conv1"))?,
            conv2: conv2d(6, 16, 5, Default::default(), vb.pp("conv2"))?,
            fc1: linear(256, 120, vb.pp("fc1"))?,
            fc2: linear(120, 84, vb.pp("fc2"))?,
            fc3: linear(84, 10, vb.pp("fc3"))?,
        })
    }
}

impl Module for LeNet {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        xs.apply(&self.conv1)?
            .relu()?
            .max_pool2d(2)?
            .apply(&self.conv2)?
            .relu()?
            .max_pool2d(2)?
            .flatten_from(1)?
            .apply(&self.fc1)?
            .relu()?
            .apply(&self.fc2)?
            .relu()?
            .apply(&self.fc3)
    }
}

struct Mlp {
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
}

impl Mlp {
    fn new(vb: VarBuilder) -> candle_core::Result<Self> {
        Ok(Self {
            fc1: linear(784, 512, vb.pp("fc1"))?,
            fc2: linear(512, 512, vb.pp("fc2"))?,
            fc3: linear(512, 10, vb.pp("fc3"))?,
        })
    }
}

impl Module for Mlp {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        xs.apply(&self.fc1)?.relu()?.apply(&self.fc2)?.relu()?.apply(&self.fc3)
    }
}

fn inputs(x: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_slice(x, shape, &Device::Cpu).expect("input tensor")
}

fn labels(y: &[usize]) -> Tensor {
    let y: Vec<u32> = y.iter().map(|&v| v as u32).collect();
    Tensor::new(y.as_slice(), &Device::Cpu).expect("label tensor")
}

fn train<M: Module>(
    g: &mut Group<'_>,
    make: impl Fn(VarBuilder) -> candle_core::Result<M>,
    x: Tensor,
    y: &[usize],
    lr: f32,
) {
    let varmap = VarMap::new();
    let model = make(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).expect("model");
    let mut sgd = SGD::new(varmap.all_vars(), f64::from(lr)).expect("optimizer");
    let y = labels(y);
    g.bench_function("candle", |b| {
        b.iter(|| {
            let logits = model.forward(&x).expect("forward");
            let loss = loss::cross_entropy(&logits, &y).expect("loss");
            sgd.backward_step(&loss).expect("step");
            black_box(loss);
        })
    });
}

fn infer<M: Module>(g: &mut Group<'_>, make: impl Fn(VarBuilder) -> candle_core::Result<M>, x: Tensor) {
    let varmap = VarMap::new();
    let model = make(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).expect("model");
    g.bench_function("candle", |b| b.iter(|| black_box(model.forward(&x).expect("forward"))));
}

pub fn lenet_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    train(g, LeNet::new, inputs(x, &[batch, 1, 28, 28]), y, lr);
}

pub fn mlp_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    train(g, Mlp::new, inputs(x, &[batch, 784]), y, lr);
}

pub fn lenet_infer(g: &mut Group<'_>, x: &[f32], batch: usize) {
    infer(g, LeNet::new, inputs(x, &[batch, 1, 28, 28]));
}

pub fn mlp_infer(g: &mut Group<'_>, x: &[f32], batch: usize) {
    infer(g, Mlp::new, inputs(x, &[batch, 784]));
}
