//! Train and eval modes, and what one pass over a batch tells each layer besides its data.

/// Whether a network is training or evaluating. Layers that behave differently in the two — dropout, batch
/// norm — follow it; the rest ignore it.
///
/// A new network starts in [`Mode::Train`], as in PyTorch. Switch explicitly with [`crate::Inference::set_mode`]
/// (or `net.eval()` / `net.train()`); [`crate::train::fit`] switches to `Train` for its steps and to `Eval` for
/// measuring, and leaves the network in `Eval`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Dropout drops (a new mask every pass), batch norm uses the batch's statistics and updates its running
    /// ones.
    #[default]
    Train,
    /// Deterministic: dropout is the identity and batch norm the affine map of its running statistics.
    Eval,
}

/// One pass over a batch, as a layer sees it: the mode, where randomness comes from, and where its chunk lies in
/// the batch.
#[derive(Clone, Copy, Debug)]
pub struct Pass<'a> {
    /// Train or eval.
    pub mode: Mode,
    /// The network's seed (from `new(seed)`): dropout masks derive from it.
    pub seed: u64,
    /// Training passes the network ran before this one, so every step draws new masks.
    pub step: u64,
    /// Index in the batch of the chunk's first sample. Masks are keyed by the sample's index in the batch, never
    /// by thread or chunk schedule, so they are the same for every thread count.
    pub first: usize,
    /// Samples in the whole batch.
    pub batch: usize,
    /// Samples in this chunk.
    pub samples: usize,
    /// Time steps per sample in this chunk (1 for samples without a time axis).
    pub steps: usize,
    /// Each sample's own number of steps (empty when every sample has `steps`).
    pub lengths: &'a [usize],
    /// Whether a backward pass follows this forward pass: without one, a layer may skip keeping what only
    /// backward reads (a recurrent layer's gates).
    pub backward: bool,
    /// Whether the backward pass wants the parameter gradient: a pass that holds the network fixed (the input
    /// gradient through a discriminator) does not, and layers may then leave their gradient unwritten.
    pub param_grads: bool,
    /// How the pass's loss scales each term: 1/count for a mean over the batch, 1 for a sum; 0 when the pass has
    /// no loss (a backward pass from given output gradients). Layers with a loss of their own scale its gradient
    /// by it.
    pub loss_scale: f32,
}

impl Pass<'static> {
    /// A pass in `mode` over a single chunk of `batch` samples without a time axis, backward included (for
    /// testing layers on their own).
    pub const fn single(mode: Mode, seed: u64, step: u64, batch: usize) -> Self {
        Self {
            mode,
            seed,
            step,
            first: 0,
            batch,
            samples: batch,
            steps: 1,
            lengths: &[],
            backward: true,
            param_grads: true,
            loss_scale: 1.0,
        }
    }
}

impl Pass<'_> {
    /// Rows of the chunk: samples × steps.
    pub fn rows(&self) -> usize {
        self.samples * self.steps
    }

    /// The extent of a layer's input in this pass: its time steps if the input is a `sequence`, else one row
    /// per sample.
    pub fn extent(&self, sequence: bool) -> Extent {
        Extent { samples: self.samples, steps: if sequence { self.steps } else { 1 }, backward: self.backward }
    }
}

/// How much a layer runs on at once, which is what its buffer sizes depend on: the chunk's samples, the rows each
/// holds (its time steps; 1 without a time axis), and whether a backward pass follows.
///
/// A layer's sizes ([`Layer::scratch_len`](crate::layers::Layer::scratch_len),
/// [`Layer::saved_len`](crate::layers::Layer::saved_len)) are rules in an extent rather than a size per row, so
/// that a layer whose needs grow with the square of the steps, or that works on a block of steps at a time,
/// says so. A rule never shrinks when `samples` or `steps` grow, and never needs more without a backward pass than
/// with one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// Samples in the chunk.
    pub samples: usize,
    /// Rows per sample: time steps for a sequence, else 1.
    pub steps: usize,
    /// Whether a backward pass follows the forward pass.
    pub backward: bool,
}

impl Extent {
    /// Rows of the chunk: samples × steps.
    pub const fn rows(self) -> usize {
        self.samples * self.steps
    }
}
