//! The recurrent workloads in candle 0.11 (CPU): candle-nn's `LSTM` and `GRU` through its `RNN` trait
//! (`seq`/`step`), a `Linear` on the last step, candle's autograd and SGD for training. candle's recurrent layers
//! have one direction: the bidirectional network runs a second LSTM over the reversed sequence.

use super::Group;
use candle_core::{DType, Device, IndexOp, Module, Tensor, D};
use candle_nn::rnn::{Direction, GRUConfig, LSTMConfig, LSTMState, GRU, LSTM, RNN};
use candle_nn::{gru, linear, loss, lstm, Linear, Optimizer, VarBuilder, VarMap, SGD};
use std::hint::black_box;

type Result<T> = candle_core::Result<T>;

/// A recurrent network: its forward pass from `[batch, steps, 28]` to logits.
trait Net: Sized {
    fn new(vb: VarBuilder) -> Result<Self>;
    fn forward(&self, x: &Tensor) -> Result<Tensor>;
}

struct LstmNet {
    lstm: LSTM,
    fc: Linear,
}

impl Net for LstmNet {
    fn new(vb: VarBuilder) -> Result<Self> {
        Ok(Self { lstm: lstm(28, 128, LSTMConfig::default(), vb.pp("lstm"))?, fc: linear(128, 10, vb.pp("fc"))? })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let states = self.lstm.seq(x)?;
        states.last().expect("a step").h().apply(&self.fc)
    }
}

struct GruNet {
    gru: GRU,
    fc: Linear,
}

impl Net for GruNet {
    fn new(vb: VarBuilder) -> Result<Self> {
        Ok(Self { gru: gru(28, 128, GRUConfig::default(), vb.pp("gru"))?, fc: linear(128, 10, vb.pp("fc"))? })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let states = self.gru.seq(x)?;
        states.last().expect("a step").h().apply(&self.fc)
    }
}

struct BiLstm2 {
    layers: Vec<(LSTM, LSTM)>,
    fc: Linear,
}

/// `[batch, steps, features]` with its steps in reverse order.
fn reversed(x: &Tensor) -> Result<Tensor> {
    x.flip(&[1])
}

impl Net for BiLstm2 {
    fn new(vb: VarBuilder) -> Result<Self> {
        let mut layers = Vec::new();
        for (l, input) in [(0, 28), (1, 256)] {
            let config = |direction| LSTMConfig { layer_idx: l, direction, ..Default::default() };
            let vb = vb.pp("lstm");
            layers.push((
                lstm(input, 128, config(Direction::Forward), vb.clone())?,
                lstm(input, 128, config(Direction::Backward), vb)?,
            ));
        }
        Ok(Self { layers, fc: linear(256, 10, vb.pp("fc"))? })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut x = x.clone();
        for (forward, backward) in &self.layers {
            let ahead = forward.states_to_tensor(&forward.seq(&x)?)?;
            let behind = reversed(&backward.states_to_tensor(&backward.seq(&reversed(&x)?)?)?)?;
            x = Tensor::cat(&[ahead, behind], D::Minus1)?;
        }
        let steps = x.dim(1)?;
        x.i((.., steps - 1, ..))?.apply(&self.fc)
    }
}

fn model<M: Net>() -> (VarMap, M) {
    let varmap = VarMap::new();
    let model = M::new(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).expect("model");
    (varmap, model)
}

fn sequences(x: &[f32], batch: usize) -> Tensor {
    Tensor::from_slice(x, &[batch, 28, 28], &Device::Cpu).expect("input tensor")
}

fn train<M: Net>(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    let (varmap, model) = model::<M>();
    let mut sgd = SGD::new(varmap.all_vars(), f64::from(lr)).expect("optimizer");
    let x = sequences(x, batch);
    let y: Vec<u32> = y.iter().map(|&v| v as u32).collect();
    let y = Tensor::new(y.as_slice(), &Device::Cpu).expect("label tensor");
    g.bench_function("candle", |b| {
        b.iter(|| {
            let loss = loss::cross_entropy(&model.forward(&x).expect("forward"), &y).expect("loss");
            sgd.backward_step(&loss).expect("step");
            black_box(loss);
        })
    });
}

pub fn lstm_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    train::<LstmNet>(g, x, y, batch, lr);
}

pub fn gru_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    train::<GruNet>(g, x, y, batch, lr);
}

pub fn bilstm2_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    train::<BiLstm2>(g, x, y, batch, lr);
}

pub fn lstm_infer(g: &mut Group<'_>, x: &[f32], batch: usize) {
    let (_varmap, model) = model::<LstmNet>();
    let x = sequences(x, batch);
    g.bench_function("candle", |b| b.iter(|| black_box(model.forward(&x).expect("forward"))));
}

/// One step of the LSTM network on one sample, the state carried from call to call. The state is detached each
/// step: the weights are variables, so each step's state would otherwise hold the graph of every step before it
/// (and dropping a chain of a few hundred thousand overflows the stack).
pub fn lstm_step(g: &mut Group<'_>, x: &[f32]) {
    let (_varmap, model) = model::<LstmNet>();
    let x = Tensor::from_slice(&x[..28], &[1, 28], &Device::Cpu).expect("input tensor");
    let mut state = model.lstm.zero_state(1).expect("state");
    g.bench_function("candle", |b| {
        b.iter(|| {
            let next = model.lstm.step(&x, &state).expect("step");
            state = LSTMState::new(next.h().detach(), next.c().detach());
            black_box(model.fc.forward(state.h()).expect("output"))
        })
    });
}
