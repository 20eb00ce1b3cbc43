//! The `Network` trait: what the code `network!` generates provides — the sample types, the sizes and tables,
//! initialisation, the parts of a network borrowed at once, and the passes over one chunk. Everything done with a
//! network is written once over it, in the extension traits [`Inference`](super::Inference),
//! [`Training`](super::Training) and [`Introspection`](super::Introspection).

use super::{Chunk, LayerInfo, Model, Parts, PartsMut, Pass, Plan, TensorInfo};
use crate::sample::{Example, Sample};

/// A network declared with `network!` (or composed of such networks): typed samples in and out, one flat
/// parameter buffer, its tables, and the passes over one chunk of samples that everything else is built on.
///
/// What is done with a network — running it ([`Inference`](super::Inference)), training it
/// ([`Training`](super::Training)), reading its parameters ([`Introspection`](super::Introspection)) — are
/// extension traits every `Network` implements; `use nn::prelude::*` brings them into scope.
pub trait Network: Sized + Send + Sync {
    /// One input sample, e.g. `[[[f32; 28]; 28]; 1]`, `[[f32; 28]; 28]` for 28 steps of 28 values, or
    /// `Vec<[f32; 10]>` for a sequence of any length.
    type Input: Example;
    /// One output sample, e.g. `[f32; 10]`, or a sequence as the input's.
    type Output: Example;
    /// The state the network's recurrent layers carry from one call to the next, per sample (`[f32; 0]` for a
    /// network without them): for each recurrent layer in order, for each of its stacked layers, each direction,
    /// the hidden state (and an LSTM's cell state after it).
    type State: Sample;
    /// The prefix a [`Chain`](crate::Chain) puts before this network's tensor and layer names: the struct's name
    /// in snake case (`Encoder` → `encoder`, `CharGpt` → `char_gpt`); empty for a chain itself, whose parts a
    /// chain around it numbers instead.
    const NAME: &'static str = "";
    /// Total number of parameters.
    const PARAMS: usize;
    /// Total number of buffer values.
    const BUFFERS: usize = 0;
    /// The layers in order, with their output shapes and parameter counts.
    const LAYERS: &'static [LayerInfo];
    /// The parameter tensors in buffer order, with `state_dict` names.
    const TENSORS: &'static [TensorInfo];
    /// The buffer tensors — state that is saved with the weights but not trained, such as batch norm's
    /// `running_mean`, `running_var` and `num_batches_tracked` — in [`Introspection::buffers`](super::Introspection::buffers) order.
    const BUFFER_TENSORS: &'static [TensorInfo] = &[];
    /// The shape of one input sample: `[features]` or `[channels, height, width]`.
    const INPUT_SHAPE: &'static [usize] = &[];
    /// Multiply-adds of one forward pass per sample (per time step for sequences of any length), counted in the
    /// products of `Linear`, `Conv2d`, `Maxout` and the recurrent layers; element-wise work is not counted. Per
    /// layer in [`LayerInfo::forward_macs`].
    const FORWARD_MACS: u64 = 0;
    /// Multiply-adds of one training step per sample: the forward pass, every weight gradient, and the input
    /// gradients of the layers after the first with parameters.
    const TRAIN_MACS: u64 = 0;
    /// Bytes of the weights (parameters and buffers, `f32`).
    const PARAM_BYTES: usize = 4 * (Self::PARAMS + Self::BUFFERS);
    /// Bytes of activations the runtime keeps per sample in inference (every layer's output).
    const INFER_ACTIVATION_BYTES: usize = 0;
    /// Bytes of activations per sample in training: layer outputs, what layers keep for backward, and the
    /// gradient buffers.
    const TRAIN_ACTIVATION_BYTES: usize = 0;
    /// Bytes of the buffer `forward_static` computes one sample in: the static memory of a `no_std` forward pass.
    const STATIC_BYTES: usize = 0;

    #[doc(hidden)]
    /// The sizes of the network's buffers and its whole-batch layers.
    const PLAN: Plan;

    /// A network with parameters initialised from `seed` (each layer by its `init` scheme).
    fn new(seed: u64) -> Self;

    /// What layer `layer` (an index into [`Network::LAYERS`]) computes, as data (for exporters such as ONNX).
    ///
    /// # Panics
    /// If there is no such layer.
    fn op(layer: usize) -> crate::layers::Op;

    /// What each layer computes, in [`Network::LAYERS`] order.
    fn ops() -> Vec<crate::layers::Op> {
        (0..Self::LAYERS.len()).map(Self::op).collect()
    }

    /// The parameters, buffers and gradient, borrowed at once.
    fn parts(&self) -> Parts<'_>;

    /// The parameters, buffers and gradient, borrowed mutably at once.
    fn parts_mut(&mut self) -> PartsMut<'_>;

    #[doc(hidden)]
    /// Forward pass of one chunk (`x` holds its flat samples, padded sequences for inputs of any length); outputs
    /// land in `chunk`. `stage` is `None` for the whole pass, or one stage of a staged training pass (see
    /// `driver`).
    fn forward_chunk(
        model: Model<'_>,
        chunk: &mut Chunk,
        x: &[f32],
        pass: &Pass<'_>,
        stats: &[f32],
        stage: Option<usize>,
    );

    #[doc(hidden)]
    /// Forward pass of a chunk of one sample with its layers' states in `state` (the network's state, layer after
    /// layer), read and written in place: a stream's step, which copies no state in or out.
    fn forward_in_place(
        model: Model<'_>,
        chunk: &mut Chunk,
        x: &[f32],
        pass: &Pass<'_>,
        stats: &[f32],
        state: &mut [f32],
    );

    #[doc(hidden)]
    /// Backward pass of the chunk last run forward: reads `chunk.deltas[0]`, writes `chunk.grads` (and the input
    /// gradient into `chunk.dx` if `dx`).
    fn backward_chunk(
        model: Model<'_>,
        chunk: &mut Chunk,
        x: &[f32],
        dx: bool,
        pass: &Pass<'_>,
        stats: &[f32],
        stage: Option<usize>,
    );

    #[doc(hidden)]
    /// Whether some layer adds a term of its own to the loss (see [`Network::layer_loss`]).
    const LAYER_LOSS: bool = false;

    #[doc(hidden)]
    /// The sum over the chunk last run forward of its layers' own loss terms (`Layer::loss`), unscaled.
    fn layer_loss(_chunk: &Chunk, _pass: &Pass<'_>) -> f64 {
        0.0
    }

    #[doc(hidden)]
    /// Turns the summed partials of whole-batch layer `stage` into its statistics (`backward`: the gradient's).
    fn finish_stats(
        _stage: usize,
        _backward: bool,
        _sums: &[f64],
        _pass: &Pass<'_>,
        _stats: &mut [f32],
        _buffers: &mut [f32],
    ) -> std::result::Result<(), crate::layers::BatchTooSmall> {
        Ok(())
    }
}
