//! Networks at run time. In every build (`no_std` included): the pass description ([`Pass`], [`Mode`]), what the
//! macro computed about a network ([`LayerInfo`], [`TensorInfo`], [`Plan`]) and the buffers generated passes
//! work on. With `std`: the [`Network`] trait that every `network!` struct implements, and the machinery that
//! runs its passes over batches.
//!
//! The generated code supplies only what depends on the architecture — the layer-by-layer forward and backward
//! passes over one chunk of samples, the sizes of its buffers, and the reductions of its whole-batch layers.
//! Everything else (batching, threads, losses, gradient sums, optimizer steps) is written once here.

mod buffers;
#[cfg(feature = "std")]
mod calls;
#[cfg(feature = "std")]
mod chain;
#[cfg(feature = "std")]
mod driver;
#[cfg(feature = "std")]
mod inference;
mod info;
#[cfg(feature = "std")]
mod introspection;
mod merge;
#[cfg(feature = "std")]
mod network;
mod pass;
#[cfg(feature = "std")]
mod state;
#[cfg(feature = "std")]
mod stream;
#[cfg(feature = "std")]
mod summary;
#[cfg(feature = "std")]
mod training;
#[cfg(feature = "std")]
mod workspace;

pub use buffers::{buffer, layer_io, split_states, Model, PassBuffers, Unchecked};
#[cfg(feature = "train")]
pub(crate) use calls::layer_loss_sum;
#[cfg(feature = "std")]
pub use chain::{Chain, Feeds};
#[cfg(feature = "train")]
pub(crate) use driver::check_inputs;
#[cfg(feature = "std")]
pub use inference::Inference;
pub use info::{LayerInfo, Node, Part, Plan, Rows, Sizes, Stage, TensorInfo};
#[cfg(feature = "std")]
pub use introspection::Introspection;
pub use merge::{add_forward, concat_forward};
#[cfg(feature = "std")]
pub use merge::{concat_backward, pass_on, slot_pair};
#[cfg(feature = "std")]
pub use network::Network;
pub use pass::{Extent, Mode, Pass};
#[cfg(feature = "std")]
pub use state::{Parts, PartsMut, Runner, State};
#[cfg(feature = "std")]
pub use stream::{step as stream_step, step_mut as stream_step_mut};
#[cfg(feature = "std")]
pub use training::Training;
#[cfg(feature = "std")]
pub use workspace::{Chunk, Parallelism, Workspace, CHUNK};
