//! The peers' versions of the benchmarked networks, written the way their own documentation shows.

mod burn_generative;
mod burn_impl;
mod burn_recurrent;
pub mod burn_transformer;
mod candle_generative;
mod candle_impl;
mod candle_recurrent;
pub mod candle_transformer;

use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;

type Group<'a> = BenchmarkGroup<'a, WallTime>;

/// LeNet-5 training steps in candle and burn.
pub fn lenet_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    candle_impl::lenet_train(g, x, y, batch, lr);
    burn_impl::lenet_train(g, x, y, batch, lr);
}

/// MLP training steps in candle and burn.
pub fn mlp_train(g: &mut Group<'_>, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    candle_impl::mlp_train(g, x, y, batch, lr);
    burn_impl::mlp_train(g, x, y, batch, lr);
}

/// LeNet-5 inference in candle and burn.
pub fn lenet_infer(g: &mut Group<'_>, x: &[f32], batch: usize) {
    candle_impl::lenet_infer(g, x, batch);
    burn_impl::lenet_infer(g, x, batch);
}

/// MLP inference in candle and burn.
pub fn mlp_infer(g: &mut Group<'_>, x: &[f32], batch: usize) {
    candle_impl::mlp_infer(g, x, batch);
    burn_impl::mlp_infer(g, x, batch);
}

/// A recurrent training step (`lstm`, `gru` or `bilstm2`) in candle and burn.
pub fn recurrent_train(g: &mut Group<'_>, kind: &str, x: &[f32], y: &[usize], batch: usize, lr: f32) {
    match kind {
        "lstm" => {
            candle_recurrent::lstm_train(g, x, y, batch, lr);
            burn_recurrent::lstm_train(g, x, y, batch, lr);
        }
        "gru" => {
            candle_recurrent::gru_train(g, x, y, batch, lr);
            burn_recurrent::gru_train(g, x, y, batch, lr);
        }
        _ => {
            candle_recurrent::bilstm2_train(g, x, y, batch, lr);
            burn_recurrent::bilstm2_train(g, x, y, batch, lr);
        }
    }
}

/// LSTM inference on whole sequences in candle and burn.
pub fn lstm_infer(g: &mut Group<'_>, x: &[f32], batch: usize) {
    candle_recurrent::lstm_infer(g, x, batch);
    burn_recurrent::lstm_infer(g, x, batch);
}

/// One streaming LSTM step at batch 1 in candle and burn.
pub fn lstm_step(g: &mut Group<'_>, x: &[f32]) {
    candle_recurrent::lstm_step(g, x);
    burn_recurrent::lstm_step(g, x);
}

/// An autoencoder training step (SGD, mean binary cross-entropy against the inputs) in candle and burn.
pub fn autoencoder_train(g: &mut Group<'_>, x: &[f32], batch: usize, lr: f32) {
    candle_generative::autoencoder_train(g, x, batch, lr);
    burn_generative::autoencoder_train(g, x, batch, lr);
}

/// One discriminator and one generator update of the DCGAN pair in candle and burn.
pub fn dcgan_step(g: &mut Group<'_>, x: &[f32], z: &[f32], batch: usize) {
    candle_generative::dcgan_step(g, x, z, batch);
    burn_generative::dcgan_step(g, x, z, batch);
}
