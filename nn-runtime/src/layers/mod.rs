//! Layers: parameters with their initialisation, and forward and backward passes written in terms of
//! [`crate::kernels`].
//!
//! Each layer is a small `Copy` descriptor whose const generic parameters are the sizes the `network!` macro
//! computed, so every loop bound is a compile-time constant after monomorphisation. Activations travel as flat
//! row-major slices holding a chunk of samples (`n × Layer::IN` in, `n × Layer::OUT` out); parameters are a
//! slice of the network's one contiguous parameter buffer.

mod activation;
mod conv;
mod dropout;
mod flatten;
mod init;
mod linear;
mod maxout;
mod norm;
mod pool;
mod prelu;

pub use activation::{LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, ELU};
pub use conv::Conv2d;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use init::Init;
pub use linear::Linear;
pub use maxout::Maxout;
pub use norm::{BatchNorm, NormInfo};
pub use pool::{AvgPool2d, MaxPool2d};
pub use prelu::PReLU;

pub use crate::pass::{Mode, Pass};
use crate::Rng;

/// What a layer's backward pass reads and writes besides its parameters.
pub struct Backward<'a> {
    /// The layer's forward input, `n × IN`.
    pub x: &'a [f32],
    /// The layer's forward output, `n × OUT`.
    pub y: &'a [f32],
    /// Gradient of the loss with respect to `y`.
    pub dy: &'a [f32],
    /// Where to write the gradient with respect to `x` (overwritten), or `None` when nobody needs it.
    pub dx: Option<&'a mut [f32]>,
    /// The pass this is the backward half of.
    pub pass: Pass<'a>,
}

/// One layer of a network, as the generated code drives it.
pub trait Layer: Copy + Send + Sync {
    /// Values per sample going in.
    const IN: usize;
    /// Values per sample coming out.
    const OUT: usize;
    /// Number of parameters.
    const PARAMS: usize = 0;
    /// Scratch values the layer needs while processing a chunk (e.g. one sample's im2col matrix).
    const SCRATCH: usize = 0;

    /// Initialises `params` (of length [`Layer::PARAMS`]).
    fn init(&self, _params: &mut [f32], _rng: &mut Rng) {}

    /// Computes `y` (`n × OUT`) from `x` (`n × IN`); `pass` says the mode and where the chunk lies in its batch.
    fn forward(&self, params: &[f32], x: &[f32], y: &mut [f32], scratch: &mut [f32], pass: &Pass<'_>);

    /// Writes the gradient of the parameters, summed over the chunk's samples, into `grads` (overwriting it, so
    /// nobody has to clear the buffer first) and, if asked, the input gradient into `io.dx`.
    fn backward(&self, params: &[f32], io: Backward<'_>, grads: &mut [f32], scratch: &mut [f32]);
}

/// `max` over a list of sizes, usable in constants (for workspace sizes in generated code).
pub const fn max_of(values: &[usize]) -> usize {
    let mut max = 0;
    let mut i = 0;
    while i < values.len() {
        if values[i] > max {
            max = values[i];
        }
        i += 1;
    }
    max
}

#[cfg(test)]
mod tests;
