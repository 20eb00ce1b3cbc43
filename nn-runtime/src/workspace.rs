//! Buffers a network reuses across calls, so that nothing is allocated once they exist, and the setting that
//! spreads chunks over threads.

use crate::network::Network;
use crate::pass::Mode;
use crate::{Error, Result};
use std::sync::Arc;

/// Samples processed together by one pass of the generated code.
///
/// Batches are cut into chunks of this many samples; each chunk's gradient is computed on its own and the
/// chunk gradients are summed in chunk order. Because the cut never depends on the number of threads, results
/// are bit-identical however the chunks are scheduled.
pub const CHUNK: usize = 32;

/// Whether a network spreads the chunks of a batch over threads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Parallelism {
    /// Everything on the calling thread (the default).
    #[default]
    None,
    /// Chunks on a dedicated pool of this many threads. A batch of one chunk (≤ [`CHUNK`] samples) still runs
    /// on the calling thread: there is nothing to split.
    Threads(usize),
}

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
    /// The chunk's input gradient, when one is asked for.
    pub(crate) dx: Vec<f32>,
    /// The chunk's partial sums for the batch-norm layers (`Σx`, `Σx²` forward; `Σdy`, `Σdy·x̂` backward).
    pub partials: Vec<f64>,
    /// The chunk's summed loss (or correct predictions), read back in chunk order.
    pub(crate) total: f64,
    /// The first error the chunk met.
    pub(crate) error: Option<Error>,
}

impl Workspace {
    /// Buffers sized for network `N`.
    pub fn new<N: Network>() -> Self {
        use crate::sample::Sample;
        Self {
            acts: N::ACTIVATIONS.iter().map(|&len| vec![0.0; CHUNK * len]).collect(),
            scratch: vec![0.0; N::SCRATCH],
            grad_out: vec![0.0; CHUNK * N::WIDTH],
            grad_in: vec![0.0; CHUNK * N::WIDTH],
            grads: vec![0.0; N::PARAMS],
            dx: vec![0.0; CHUNK * N::Input::LEN],
            partials: vec![0.0; N::NORMS.iter().map(|n| 2 * n.channels).sum()],
            total: 0.0,
            error: None,
        }
    }
}

/// Everything a network keeps besides its parameters and buffers: workspaces, the batch gradient, the thread
/// pool, the mode, and the seed and step counter that random layers draw from.
#[derive(Clone, Debug, Default)]
pub struct State {
    pub(crate) workspaces: Vec<Workspace>,
    pub(crate) grads: Vec<f32>,
    pub(crate) parallelism: Parallelism,
    pub(crate) pool: Option<Arc<rayon::ThreadPool>>,
    pub(crate) mode: Mode,
    pub(crate) seed: u64,
    pub(crate) step: u64,
    /// Batch statistics of the batch-norm layers during a training pass.
    pub(crate) norms: Vec<f32>,
}

impl State {
    /// State sized for network `N`, created from `seed` (allocated once, when the network is created).
    pub fn new<N: Network>(seed: u64) -> Self {
        Self {
            workspaces: vec![Workspace::new::<N>()],
            grads: vec![0.0; N::PARAMS],
            seed,
            norms: vec![0.0; N::NORMS.iter().map(|n| 4 * n.channels).sum()],
            ..Self::default()
        }
    }

    /// Makes sure there are at least `count` workspaces, and one per thread (a state emptied by a panic inside a
    /// pass is rebuilt here). A staged pass needs one per chunk; they are kept for the next pass.
    pub(crate) fn ensure<N: Network>(&mut self, count: usize) {
        let width = if let Parallelism::Threads(n) = self.parallelism { n.max(1) } else { 1 };
        let norms = N::NORMS.iter().map(|n| 4 * n.channels).sum();
        if self.norms.len() != norms {
            self.norms = vec![0.0; norms];
        }
        while self.workspaces.len() < width.max(count) {
            self.workspaces.push(Workspace::new::<N>());
        }
    }

    /// Sets how chunks are spread over threads, building the thread pool now (not during a pass).
    pub(crate) fn set_parallelism<N: Network>(&mut self, parallelism: Parallelism) -> Result<()> {
        self.pool = match parallelism {
            Parallelism::None | Parallelism::Threads(1) => None,
            Parallelism::Threads(0) => {
                return Err(Error::InvalidSetting { name: "parallelism", problem: "Threads(0): use at least 1".into() })
            }
            Parallelism::Threads(n) => {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().map_err(|e| {
                    Error::InvalidSetting { name: "parallelism", problem: format!("cannot start {n} threads: {e}") }
                })?;
                pool.broadcast(|_| crate::kernels::prepare_thread());
                Some(Arc::new(pool))
            }
        };
        let width = if let Parallelism::Threads(n) = parallelism { n.max(1) } else { 1 };
        while self.workspaces.len() < width {
            self.workspaces.push(Workspace::new::<N>());
        }
        self.parallelism = parallelism;
        Ok(())
    }

    /// Threads a pass over `chunks` chunks uses.
    pub(crate) fn width(&self, chunks: usize) -> usize {
        match (self.parallelism, &self.pool) {
            (Parallelism::Threads(n), Some(_)) if chunks > 1 => n.min(chunks),
            _ => 1,
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
