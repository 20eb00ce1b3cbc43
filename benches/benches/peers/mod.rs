//! The peers' versions of the benchmarked networks, written the way their own documentation shows.

mod burn_impl;
mod candle_impl;

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
