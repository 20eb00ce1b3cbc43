//! The recurrent workloads in burn 0.22 (Flex backend): its `Lstm`, `Gru` and `BiLstm` modules as its book and
//! module docs show them, a `Linear` on the last step, autodiff and SGD for training.

use super::burn_impl::{bench_train, labels};
use super::Group;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{BiLstm, BiLstmConfig, Gru, GruConfig, Linear, LinearConfig, Lstm, LstmConfig, LstmState};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Tensor, TensorData};
use std::hint::black_box;

/// The last step of a `[batch, steps, features]` output as `[batch, features]`.
fn last(out: Tensor<3>) -> Tensor<2> {
    let [batch, steps, features] = out.dims();
    out.narrow(1, steps - 1, 1).reshape([batch, features])
}

#[derive(Module, Debug)]
struct LstmNet {
    lstm: Lstm,
    fc: Linear,
}

impl LstmNet {
    fn new(device: &Device) -> Self {
        Self { lstm: LstmConfig::new(28, 128, true).init(device), fc: LinearConfig::new(128, 10).init(device) }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        self.fc.forward(last(self.lstm.forward(x, None).0))
    }
}

#[derive(Module, Debug)]
struct GruNet {
    gru: Gru,
    fc: Linear,
}

impl GruNet {
    fn new(device: &Device) -> Self {
        Self { gru: GruConfig::new(28, 128, true).init(device), fc: LinearConfig::new(128, 10).init(device) }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        self.fc.forward(last(self.gru.forward(x, None)))
    }
}

#[derive(Module, Debug)]
struct BiLstm2 {
    layer0: BiLstm,
    layer1: BiLstm,
    fc: Linear,
}

impl BiLstm2 {
    fn new(device: &Device) -> Self {
        Self {
            layer0: BiLstmConfig::new(28, 128, true).init(device),
            layer1: BiLstmConfig::new(256, 128, true).init(device),
            fc: LinearConfig::new(256, 10).init(device),
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let x = self.layer0.forward(x, None).0;
        self.fc.forward(last(self.layer1.forward(x, None).0))
    }
}

fn sequences(x: &[f32], batch: usize, device: &Device) -> Tensor<3> {
    Tensor::from_data(TensorData::new(x.to_vec(), [batch, 28, 28]), device)
}

pub fn lstm_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    let device = Device::flex().autodiff();
    bench_train!(g, device, LstmNet::new(&device), sequences(x, batch, &device), y, lr);
}

pub fn gru_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    let device = Device::flex().autodiff();
    bench_train!(g, device, GruNet::new(&device), sequences(x, batch, &device), y, lr);
}

pub fn bilstm2_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    let device = Device::flex().autodiff();
    bench_train!(g, device, BiLstm2::new(&device), sequences(x, batch, &device), y, lr);
}

pub fn lstm_infer(g: &mut Group<'_>, x: &[f32], batch: usize) {
    let device = Device::flex();
    let model = LstmNet::new(&device);
    let x = sequences(x, batch, &device);
    g.bench_function("burn", |b| b.iter(|| black_box(model.forward(x.clone()).into_data())));
}

/// One step of the LSTM network on one sample, the state carried from call to call.
pub fn lstm_step(g: &mut Group<'_>, x: &[f32]) {
    let device = Device::flex();
    let model = LstmNet::new(&device);
    let x: Tensor<3> = Tensor::from_data(TensorData::new(x[..28].to_vec(), [1, 1, 28]), &device);
    let mut state = Some(LstmState::new(Tensor::zeros([1, 128], &device), Tensor::zeros([1, 128], &device)));
    g.bench_function("burn", |b| {
        b.iter(|| {
            let (out, next) = model.lstm.forward(x.clone(), state.take());
            state = Some(next);
            black_box(model.fc.forward(last(out)).into_data())
        })
    });
}
