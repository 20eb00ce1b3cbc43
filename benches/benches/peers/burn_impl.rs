//! burn 0.22 on its Flex backend (pure-Rust CPU, with its `simd` and `rayon` features), autodiff for training,
//! following the Burn Book's model and training-step code.

use super::Group;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::hint::black_box;

#[derive(Module, Debug)]
struct LeNet {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    activation: Relu,
}

impl LeNet {
    fn new(device: &Device) -> Self {
        Self {
            conv1: Conv2dConfig::new([1, 6], [5, 5]).init(device),
            conv2: Conv2dConfig::new([6, 16], [5, 5]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init(),
            fc1: LinearConfig::new(256, 120).init(device),
            fc2: LinearConfig::new(120, 84).init(device),
            fc3: LinearConfig::new(84, 10).init(device),
            activation: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.pool.forward(self.activation.forward(self.conv1.forward(x)));
        let x = self.pool.forward(self.activation.forward(self.conv2.forward(x)));
        let x: Tensor<2> = x.flatten(1, 3);
        let x = self.activation.forward(self.fc1.forward(x));
        let x = self.activation.forward(self.fc2.forward(x));
        self.fc3.forward(x)
    }
}

#[derive(Module, Debug)]
struct Mlp {
    fc1: Linear,
    fc2: Linear,
    fc3: Linear,
    activation: Relu,
}

impl Mlp {
    fn new(device: &Device) -> Self {
        Self {
            fc1: LinearConfig::new(784, 512).init(device),
            fc2: LinearConfig::new(512, 512).init(device),
            fc3: LinearConfig::new(512, 10).init(device),
            activation: Relu::new(),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = self.activation.forward(self.fc1.forward(x));
        let x = self.activation.forward(self.fc2.forward(x));
        self.fc3.forward(x)
    }
}

pub(super) fn labels(y: &[usize], device: &Device) -> Tensor<1, Int> {
    let y: Vec<i64> = y.iter().map(|&v| v as i64).collect();
    let n = y.len();
    Tensor::from_data(TensorData::new(y, [n]), device)
}

/// Times SGD steps of `$model` on inputs `$x` (already on the autodiff device) and labels `$y`.
macro_rules! bench_train {
    ($g:expr, $device:expr, $model:expr, $x:expr, $y:expr, $lr:expr) => {{
        let mut model = Some($model);
        let mut optim = SgdConfig::new().init();
        let loss_fn = CrossEntropyLossConfig::new().init(&$device);
        let (x, y) = ($x, labels($y, &$device));
        $g.bench_function("burn", |b| {
            b.iter(|| {
                let m = model.take().expect("model");
                let loss = loss_fn.forward(m.forward(x.clone()), y.clone());
                let grads = GradientsParams::from_grads(loss.backward(), &m);
                model = Some(optim.step(f64::from($lr), m, grads));
                black_box(loss);
            })
        });
    }};
}
pub(super) use bench_train;

pub fn lenet_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    let device = Device::flex().autodiff();
    let x: Tensor<4> = Tensor::from_data(TensorData::new(x.to_vec(), [batch, 1, 28, 28]), &device);
    bench_train!(g, device, LeNet::new(&device), x, y, lr);
}

pub fn mlp_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    let device = Device::flex().autodiff();
    let x: Tensor<2> = Tensor::from_data(TensorData::new(x.to_vec(), [batch, 784]), &device);
    bench_train!(g, device, Mlp::new(&device), x, y, lr);
}

pub fn lenet_infer(g: &mut Group<'_>, x: &[f32], batch: usize) {
    let device = Device::flex();
    let model = LeNet::new(&device);
    let x: Tensor<4> = Tensor::from_data(TensorData::new(x.to_vec(), [batch, 1, 28, 28]), &device);
    g.bench_function("burn", |b| b.iter(|| black_box(model.forward(x.clone()).into_data())));
}

pub fn mlp_infer(g: &mut Group<'_>, x: &[f32], batch: usize) {
    let device = Device::flex();
    let model = Mlp::new(&device);
    let x: Tensor<2> = Tensor::from_data(TensorData::new(x.to_vec(), [batch, 784]), &device);
    g.bench_function("burn", |b| b.iter(|| black_box(model.forward(x.clone()).into_data())));
}
