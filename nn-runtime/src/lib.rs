//! The runtime of [`nn`](https://docs.rs/nn): everything a network declared with `network!` runs on.
//!
//! Users depend on the `nn` facade crate, which re-exports this one; the module structure is:
//!
//! - [`kernels`] — the numeric core (products, im2col, pooling, element-wise maps);
//! - [`layers`] — layer descriptors with initialisation, forward and backward passes;
//! - [`Network`] — the trait every generated network implements, with batching and training steps;
//! - [`loss`] and [`optim`] — losses and optimizers;
//! - [`data`], [`train`], [`io`], [`regularize`] — data sets, the training loop, weight files, penalties;
//! - [`Sample`] — typed samples (nested `f32` arrays) viewed as flat slices.

pub mod data;
#[doc(hidden)]
pub mod embedded;
mod error;
pub mod io;
pub mod kernels;
pub mod layers;
pub mod loss;
mod net;
pub mod optim;
mod params;
pub mod regularize;
mod rng;
mod sample;
pub mod train;

#[cfg(test)]
mod test_util;

pub use error::{Error, Result, WeightProblem};
pub use net::{LayerInfo, Mode, Network, Parallelism, Parts, PartsMut, TensorInfo, Workspace, CHUNK};
pub use params::Params;
pub use rng::Rng;
pub use sample::{argmax, predicted_class, view, view_mut, Example, Sample};

/// What the code `network!` generates names besides the public API: not for users, and not covered by semantic
/// versioning.
#[doc(hidden)]
pub mod __private {
    pub use crate::embedded;
    pub use crate::layers::max_of;
    pub use crate::net::{
        buffer, layer_io, stream_step, stream_step_mut, Chunk, Model, Pass, Plan, Runner, Stage, State, Unchecked,
    };
}
