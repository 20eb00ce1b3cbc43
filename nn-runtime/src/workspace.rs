//! Buffers a network reuses across calls, so that nothing is allocated once they exist.

use crate::network::Network;

/// Samples processed together by one pass of the generated code.
///
/// Batches are cut into chunks of this many samples; each chunk's gradient is computed on its own and the
/// chunk gradients are summed in chunk order. Because the cut never depends on the number of threads, results
/// are bit-identical however the chunks are scheduled.
pub const CHUNK: usize = 32;

/// The per-chunk buffers: activations kept for backward, scratch, gradient ping-pong buffers and the chunk's
/// parameter gradient.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    /// One buffer per layer output (Flatten shares its input's), each `CHUNK × values per sample`.
    pub acts: Vec<Vec<f32>>,
    /// Per-sample scratch shared by all layers (the largest layer's need).
    pub scratch: Vec<f32>,
    /// Gradient with respect to the current layer's output.
    pub grad_out: Vec<f32>,
    /// Gradient with respect to the current layer's input.
    pub grad_in: Vec<f32>,
    /// The chunk's parameter gradient.
    pub grads: Vec<f32>,
}

impl Workspace {
    /// Buffers sized for network `N`.
    pub fn new<N: Network>() -> Self {
        Self {
            acts: N::BUFFERS.iter().map(|&len| vec![0.0; CHUNK * len]).collect(),
            scratch: vec![0.0; N::SCRATCH],
            grad_out: vec![0.0; CHUNK * N::WIDTH],
            grad_in: vec![0.0; CHUNK * N::WIDTH],
            grads: vec![0.0; N::PARAMS],
        }
    }
}

/// Everything a network keeps besides its parameters: workspaces and the batch gradient.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub(crate) workspace: Workspace,
    pub(crate) grads: Vec<f32>,
}

impl State {
    /// State sized for network `N` (allocated once, when the network is created).
    pub fn new<N: Network>() -> Self {
        Self { workspace: Workspace::new::<N>(), grads: vec![0.0; N::PARAMS] }
    }

    /// Allocates the buffers if this state was emptied (after a panic inside a pass, say).
    pub(crate) fn ensure<N: Network>(&mut self) {
        if self.grads.len() != N::PARAMS {
            *self = Self::new::<N>();
        }
    }
}

/// Buffer `k` of a pass: 0 is the caller's input, `k ≥ 1` is `acts[k - 1]`; the first `len` values.
pub fn buffer<'a>(input: &'a [f32], acts: &'a [Vec<f32>], k: usize, len: usize) -> &'a [f32] {
    if k == 0 {
        &input[..len]
    } else {
        &acts[k - 1][..len]
    }
}

/// A layer's input buffer (read) and output buffer (written), `input < output`, output ≥ 1.
pub fn layer_io<'a>(
    input: &'a [f32],
    acts: &'a mut [Vec<f32>],
    from: usize,
    to: usize,
    in_len: usize,
    out_len: usize,
) -> (&'a [f32], &'a mut [f32]) {
    debug_assert!(from < to && to >= 1);
    let (before, after) = acts.split_at_mut(to - 1);
    let x = if from == 0 { &input[..in_len] } else { &before[from - 1][..in_len] };
    (x, &mut after[0][..out_len])
}
