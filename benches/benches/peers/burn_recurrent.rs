//! The recurrent workloads in burn 0.22 (Flex backend): its `Lstm`, `Gru` and `BiLstm` modules as its book and
//! module docs show them, a `Linear` on the last step, autodiff and SGD for training.

use super::Group;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{BiLstm, BiLstmConfig, Gru, GruConfig, Linear, LinearConfig, Lstm, LstmConfig, LstmState};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
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

fn labels(y: &[usize], device: &Device) -> Tensor<1, Int> {
    let y: Vec<i64> = y.iter().map(|&v| v as i64).collect();
    let n = y.len();
    Tensor::from_data(TensorData::new(y, [n]), device)
}

fn sequences(x: &[f32], batch: usize, device: &Device) -> Tensor<3> {
    Tensor::from_data(TensorData::new(x.to_vec(), [batch, 28, 28]), device)
}

/// Times SGD steps of `$model` on sequences `$x` and labels `$y`.
macro_rules! bench_train {
    ($g:expr, $model:ident, $x:expr, $y:expr, $batch:expr, $lr:expr) => {{
        let device = Device::flex().autodiff();
        let mut model = Some($model::new(&device));
        let mut optim = SgdConfig::new().init();
        let loss_fn = CrossEntropyLossConfig::new().init(&device);
        let (x, y) = (sequences($x, $batch, &device), labels($y, &device));
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

pub fn lstm_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    bench_train!(g, LstmNet, x, y, batch, lr);
}

pub fn gru_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    bench_train!(g, GruNet, x, y, batch, lr);
}

pub fn bilstm2_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    bench_train!(g, BiLstm2, x, y, batch, lr);
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
