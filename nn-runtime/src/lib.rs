#![cfg_attr(not(feature = "std"), no_std)]
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

#[cfg(feature = "data")]
pub mod data;
#[doc(hidden)]
pub mod embedded;
#[cfg(feature = "std")]
mod error;
#[cfg(feature = "io")]
pub mod io;
/// The SIMD kernels the layers compute with. Public for the benchmarks and for code that measures them; not a
/// stable API (hidden from the documentation, and free to change in any release).
#[doc(hidden)]
pub mod kernels;
pub mod layers;
#[cfg(feature = "std")]
pub mod loss;
mod net;
#[cfg(feature = "std")]
pub mod optim;
#[cfg(feature = "std")]
mod params;
#[cfg(feature = "std")]
pub mod regularize;
mod rng;
mod sample;
#[cfg(feature = "train")]
pub mod train;

#[cfg(test)]
mod test_util;

#[cfg(feature = "std")]
pub use error::{Error, Result, WeightProblem};
#[cfg(feature = "std")]
pub use net::{
    Chain, Feeds, Inference, Introspection, Network, Parallelism, Parts, PartsMut, Training, Workspace, CHUNK,
};
pub use net::{LayerInfo, Mode, TensorInfo};
#[cfg(feature = "std")]
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
        add_forward, buffer, concat_forward, layer_io, split_states, Extent, Model, Part, Pass, PassBuffers, Plan,
        Rows, Sizes, Stage,
    };
    #[cfg(feature = "std")]
    pub use crate::net::{concat_backward, pass_on, slot_pair, stream_step, stream_step_mut, Chunk, Runner, State};
    pub use crate::net::{Node, Unchecked};
    pub use crate::sample::Example;

    /// Its tokens with `std` (where the `Network` trait and owned parameters exist), nothing without.
    #[cfg(feature = "std")]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __nn_if_std {
        ($($tokens:tt)*) => { $($tokens)* };
    }

    /// Its tokens with `std`, nothing without.
    #[cfg(not(feature = "std"))]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __nn_if_std {
        ($($tokens:tt)*) => {};
    }

    /// Its tokens without `std` (`no_std` builds), nothing with.
    #[cfg(feature = "std")]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __nn_if_no_std {
        ($($tokens:tt)*) => {};
    }

    /// Its tokens without `std`, nothing with.
    #[cfg(not(feature = "std"))]
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __nn_if_no_std {
        ($($tokens:tt)*) => { $($tokens)* };
    }

    pub use crate::{__nn_if_no_std as if_no_std, __nn_if_std as if_std};
}
