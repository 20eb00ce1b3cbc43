//! Layers: parameters with their initialisation, and forward and backward passes written in terms of
//! [`crate::kernels`].
//!
//! Each layer is a small `Copy` descriptor whose const generic parameters are the sizes the `network!` macro
//! computed, so every loop bound is a compile-time constant after monomorphisation. Activations travel as flat
//! row-major slices holding the rows of a chunk of samples (`rows × Layer::IN` in, `rows × Layer::OUT` out; a
//! row is one sample, or one time step of one sample for a sequence); parameters and buffers are the layer's
//! own slices of the network's contiguous parameter and buffer arrays.
//!
//! A layer whose output depends on the whole batch (batch norm) declares it with [`Layer::PARTIALS`]: the
//! generated code then ends a stage of the training pass at that layer, and the driver reduces the layer's
//! per-chunk partial sums in chunk order before any chunk goes on (see [`Layer::forward_partials`]).

mod activation;
mod attention;
mod conv;
mod conv_groups;
mod conv_transpose;
pub(crate) mod dropout;
mod embedding;
mod gaussian;
mod init;
mod layer_norm;
mod linear;
mod maxout;
mod norm;
mod op;
mod pool;
mod positions;
mod prelu;
mod recurrent;
mod resample;
mod reshape;

pub use activation::{
    Elementwise, Hardtanh, LeakyReLU, LogSoftmax, Mish, ReLU, SiLU, Sigmoid, Softmax, Softplus, Tanh, ELU, GELU,
};
pub use attention::MultiheadAttention;
pub use conv::Conv2d;
pub use conv_transpose::ConvTranspose2d;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use gaussian::GaussianSample;
pub use init::Init;
pub use layer_norm::LayerNorm;
pub use linear::Linear;
pub use maxout::Maxout;
pub use norm::BatchNorm;
pub use op::{Activation, CellKind, Op, Reduction};
pub use pool::{AvgPool, MaxPool};
pub use positions::{sinusoid, PositionalEmbedding, PositionalEncoding};
pub use prelu::PReLU;
pub use recurrent::{
    Cell, FinalState, GruCell, Last, LstmCell, MaxOverTime, MeanOverTime, Recurrent, RecurrentInit, ReluRNN, RnnRelu,
    RnnTanh, StepBack, GRU, LSTM, RNN,
};
pub use resample::{GlobalAvgPool, Upsample};
pub use reshape::{Flatten, Identity, ToSeq, Unflatten};

pub use crate::net::{Extent, Mode, Pass};
use crate::Rng;

/// What a layer's forward pass reads and writes.
pub struct Forward<'a> {
    /// The layer's parameters (its own slice of the network's parameter buffer).
    pub params: &'a [f32],
    /// The layer's buffers (running statistics), its own slice of the network's buffer array.
    pub buffers: &'a [f32],
    /// The input, `rows × IN`.
    pub x: &'a [f32],
    /// The output, `rows × OUT` (to be overwritten).
    pub y: &'a mut [f32],
    /// [`Layer::saved_len`] values kept until this chunk's backward pass (for what backward cannot recompute
    /// cheaply).
    pub saved: &'a mut [f32],
    /// Scratch shared by all layers: at least [`Layer::scratch_len`] values, gone after the call.
    pub scratch: &'a mut [f32],
    /// The whole batch's statistics of this layer (`STATS` values) in a staged training pass; empty otherwise.
    pub stats: &'a [f32],
    /// For a layer that carries a state from call to call (a recurrent layer): `samples × STATE` values, each
    /// sample's initial state on entry (zeros unless the caller gave one), to be overwritten with its final
    /// state. Empty for other layers.
    pub state: &'a mut [f32],
    /// The pass: mode, randomness, where the chunk lies in its batch, its time steps.
    pub pass: &'a Pass<'a>,
}

/// What a layer's backward pass reads and writes.
pub struct Backward<'a> {
    /// The layer's parameters.
    pub params: &'a [f32],
    /// The layer's buffers.
    pub buffers: &'a [f32],
    /// The layer's forward input, `rows × IN`.
    pub x: &'a [f32],
    /// The layer's forward output, `rows × OUT`.
    pub y: &'a [f32],
    /// What forward saved.
    pub saved: &'a [f32],
    /// Gradient of the loss with respect to `y`.
    pub dy: &'a [f32],
    /// Where to write the gradient with respect to `x` (overwritten), or `None` when nobody needs it.
    pub dx: Option<&'a mut [f32]>,
    /// The gradient of the layer's parameters, summed over the chunk's rows: overwritten, so nobody has to clear
    /// the buffer first.
    pub grads: &'a mut [f32],
    /// Scratch, as in forward.
    pub scratch: &'a mut [f32],
    /// This layer's whole-batch statistics (forward's and backward's) in a staged training pass.
    pub stats: &'a [f32],
    /// The pass this is the backward half of.
    pub pass: &'a Pass<'a>,
}

/// One layer of a network, as the generated code drives it.
pub trait Layer: Copy + Send + Sync {
    /// Values per row going in.
    const IN: usize;
    /// Values per row coming out.
    const OUT: usize;
    /// Number of parameters.
    const PARAMS: usize = 0;
    /// Number of buffer values (state saved with the weights but not trained, such as running statistics).
    const BUFFERS: usize = 0;
    /// Scratch values the layer needs whatever the chunk (e.g. one sample's im2col matrix).
    const SCRATCH: usize = 0;
    /// Further scratch values per row of the chunk.
    const SCRATCH_PER_ROW: usize = 0;
    /// Of [`Layer::SCRATCH`], what the forward pass uses (the rest is the backward pass's): the static buffer of
    /// `forward_static` is sized by it.
    const FORWARD_SCRATCH: usize = Self::SCRATCH;
    /// Of [`Layer::SCRATCH_PER_ROW`], what the forward pass uses.
    const FORWARD_SCRATCH_PER_ROW: usize = Self::SCRATCH_PER_ROW;
    /// Values per row kept from forward to backward.
    const SAVED_PER_ROW: usize = 0;
    /// Of [`Layer::SAVED_PER_ROW`], what a forward pass with no backward pass after it keeps (a recurrent layer's
    /// outputs of its lower stacked layers, but none of its gates).
    const FORWARD_SAVED_PER_ROW: usize = Self::SAVED_PER_ROW;
    /// For a layer whose training output depends on the whole batch: the number of f64 partial sums a chunk
    /// contributes (forward and backward use the same space). 0 for a per-sample layer.
    const PARTIALS: usize = 0;
    /// For such a layer: the number of f32 batch statistics its reductions produce.
    const STATS: usize = 0;
    /// For such a layer: the fewest samples a training batch may hold (batch norm per feature needs two).
    const MIN_BATCH: usize = 1;
    /// Values per sample of the state the layer carries from one call to the next (a recurrent layer's hidden
    /// and cell states); 0 for layers without one.
    const STATE: usize = 0;
    /// Whether the layer adds a term of its own to the loss ([`Layer::loss`]): a VAE's KL divergence; later,
    /// activity penalties.
    const LOSS: bool = false;

    /// Scratch values for a chunk of `extent`: by default [`Layer::SCRATCH`] and [`Layer::SCRATCH_PER_ROW`] (or
    /// their forward parts when no backward pass follows). A layer whose needs are not a size per row (a block of
    /// steps at a time, or steps squared) says so here; the constants then bound it for one sample of
    /// `extent.steps` rows, which is what `forward_static`'s buffer is sized by.
    fn scratch_len(extent: Extent) -> usize
    where
        Self: Sized,
    {
        match extent.backward {
            true => Self::SCRATCH + extent.rows() * Self::SCRATCH_PER_ROW,
            false => Self::FORWARD_SCRATCH + extent.rows() * Self::FORWARD_SCRATCH_PER_ROW,
        }
    }

    /// Values kept from forward to backward (the `saved` slice) for a chunk of `extent`: by default
    /// [`Layer::SAVED_PER_ROW`] per row, or [`Layer::FORWARD_SAVED_PER_ROW`] when no backward pass follows.
    fn saved_len(extent: Extent) -> usize
    where
        Self: Sized,
    {
        extent.rows() * if extent.backward { Self::SAVED_PER_ROW } else { Self::FORWARD_SAVED_PER_ROW }
    }

    /// Initialises the layer's `params` and `buffers` (of lengths [`Layer::PARAMS`] and [`Layer::BUFFERS`]).
    fn init(&self, _params: &mut [f32], _buffers: &mut [f32], _rng: &mut Rng) {}

    /// Computes `f.y` from `f.x`.
    fn forward(&self, f: Forward<'_>);

    /// For a layer with [`Layer::LOSS`]: its term of the objective over the chunk, summed over the chunk's rows
    /// (a sequence's padding excluded), from what its forward pass saved. The driver scales it as the loss scales
    /// its own terms (by 1/count for a mean, by 1 for `Sum`) and adds it to the batch's loss; the layer's
    /// `backward` adds the term's gradient to its input's, times [`Pass::loss_scale`].
    fn loss(&self, _saved: &[f32], _pass: &Pass<'_>) -> f64 {
        0.0
    }

    /// What the layer computes, as data (for exporters).
    fn op(&self) -> Op;

    /// Writes the parameter gradient into `b.grads` and, if asked, the input gradient into `b.dx`.
    ///
    /// For a whole-batch layer in a staged training pass, [`Layer::backward_partials`] has written the
    /// parameter gradient already; `backward` then writes only `dx`.
    fn backward(&self, b: Backward<'_>);

    /// Whole-batch layers, training, end of a forward stage: this chunk's partial sums (`PARTIALS` values,
    /// overwritten). The driver adds them up over the chunks in chunk order and hands the sums to
    /// [`Layer::finish_forward`].
    fn forward_partials(&self, _x: &[f32], _pass: &Pass<'_>, _partials: &mut [f64]) {}

    /// Whole-batch layers: the batch's statistics (`stats`, the forward half of `STATS`) from the summed
    /// partials, and any update of the buffers (running statistics). `buffers` is empty in a pass that holds the
    /// network fixed (an input gradient through it): then nothing is updated.
    ///
    /// # Errors
    /// [`BatchTooSmall`] when the batch cannot give the statistics (the driver reports it as
    /// `Error::BatchTooSmall`, naming the layer).
    fn finish_forward(
        &self,
        _sums: &[f64],
        _pass: &Pass<'_>,
        _stats: &mut [f32],
        _buffers: &mut [f32],
    ) -> Result<(), BatchTooSmall> {
        Ok(())
    }

    /// Whole-batch layers, training, start of backward at this layer: this chunk's partial sums of the
    /// gradient, and the chunk's parameter gradient (into `b.grads`). `b.dx` is `None`.
    fn backward_partials(&self, _b: Backward<'_>, _partials: &mut [f64]) {}

    /// Whole-batch layers: the backward statistics (into `stats`, beside the forward ones) from the summed
    /// partials.
    fn finish_backward(&self, _sums: &[f64], _pass: &Pass<'_>, _stats: &mut [f32]) {}
}

/// A whole-batch layer's statistics need more values per channel than the batch has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchTooSmall {
    /// Values per channel in the batch.
    pub values: usize,
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
#[cfg(test)]
mod tests_attention;
#[cfg(test)]
mod tests_graph_layers;
