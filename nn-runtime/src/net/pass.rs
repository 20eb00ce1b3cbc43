//! Train and eval modes, and what one pass over a batch tells each layer besides its data.

/// Whether a network is training or evaluating. Layers that behave differently in the two — dropout, batch
/// norm — follow it; the rest ignore it.
///
/// A new network starts in [`Mode::Train`], as in PyTorch. Switch explicitly with [`crate::Network::set_mode`]
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
}

impl Pass<'static> {
    /// A pass in `mode` over a single chunk of `batch` samples without a time axis, backward included (for
    /// testing layers on their own).
    pub const fn single(mode: Mode, seed: u64, step: u64, batch: usize) -> Self {
        Self { mode, seed, step, first: 0, batch, samples: batch, steps: 1, lengths: &[], backward: true }
    }
}

impl Pass<'_> {
    /// Rows of the chunk: samples × steps.
    pub fn rows(&self) -> usize {
        self.samples * self.steps
    }
}
