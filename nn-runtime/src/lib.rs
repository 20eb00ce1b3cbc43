//! The runtime of [`nn`](https://docs.rs/nn): everything a network declared with `network!` runs on.
//!
//! Users depend on the `nn` facade crate, which re-exports this one; the module structure is:
//!
//! - [`kernels`] — the numeric core (products, im2col, pooling, element-wise maps);
//! - [`layers`] — layer descriptors with initialisation, forward and backward passes;
//! - [`Network`] — the trait every generated network implements, with batching and training steps;
//! - [`loss`] and [`optim`] — losses and optimizers;
//! - [`Sample`] — typed samples (nested `f32` arrays) viewed as flat slices.

#![warn(missing_docs)]

pub mod data;
mod driver;
mod error;
pub mod io;
pub mod kernels;
pub mod layers;
pub mod loss;
mod network;
pub mod optim;
mod params;
mod pass;
pub mod regularize;
mod rng;
mod sample;
mod summary;
pub mod train;
mod workspace;

#[cfg(test)]
mod test_util;

pub use error::{Error, Result, WeightProblem};
pub use network::{LayerInfo, Network, TensorInfo};
pub use params::Params;
pub use pass::{Mode, Pass};
pub use rng::Rng;
pub use sample::{argmax, predicted_class, view, view_mut, Sample};
pub use workspace::{buffer, layer_io, Parallelism, State, Workspace, CHUNK};
