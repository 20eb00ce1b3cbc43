//! Buffers a pass reuses, so that nothing is allocated once they exist.
//!
//! A [`Workspace`] holds one set of [`Chunk`] buffers per chunk a pass runs at once (one per thread, or one per
//! chunk of the batch in a staged training pass). A network keeps one for its `&mut self` methods; inference on
//! a shared network (`forward_with`, `predict_with`) takes one from the caller, so any number of threads can use
//! one network, each with its own small workspace.

use super::info::Plan;
use super::pass::Extent;
use crate::kernels::Helpers;
use crate::{Error, Result};

/// Samples processed together by one pass of the generated code.
///
/// Batches are cut into chunks of this many samples; each chunk's gradient is computed on its own and the
/// chunk gradients are summed in chunk order. Because the cut never depends on the number of threads, results
/// are bit-identical however the chunks are scheduled.
pub const CHUNK: usize = 32;

/// The buffers of one chunk: activations kept for backward, what layers save for backward, scratch, the
/// gradient ping-pong buffers, the chunk's parameter and input gradients, and its partial sums for the
/// whole-batch layers (generated code reads the fields; not for users).
#[doc(hidden)]
#[derive(Clone, Debug, Default)]
pub struct Chunk {
    /// One buffer per layer output (`Flatten` shares its input's), each `rows × values per row`.
    pub acts: Vec<Vec<f32>>,
    /// One buffer per running layer: what its forward pass keeps for its backward pass.
    pub saved: Vec<Vec<f32>>,
    /// Scratch shared by all layers (the largest need).
    pub scratch: Vec<f32>,
    /// The backward pass's gradient slots (see `Plan::slots`); slot 0 holds the gradient of the network's
    /// output, where the loss writes it.
    pub deltas: Vec<Vec<f32>>,
    /// The chunk's parameter gradient.
    pub grads: Vec<f32>,
    /// The chunk's partial sums for the whole-batch layers.
    pub partials: Vec<f64>,
    /// The chunk's input gradient, when one is asked for.
    pub dx: Vec<f32>,
    /// One buffer per running layer: the states it carries between calls (`samples × STATE`), initial on entry,
    /// final on exit.
    pub states: Vec<Vec<f32>>,
    /// For a network made of networks, one chunk of buffers per part (see `Plan::parts`).
    pub parts: Vec<Chunk>,
}

impl Chunk {
    /// Grows every buffer to hold any chunk of `extents` (each a chunk's samples and steps, at least `CHUNK` rows
    /// for samples without a time axis) of network `plan`, with its `params` gradient and its input gradient if
    /// a backward pass follows.
    fn ensure(&mut self, plan: &Plan, params: usize, extents: &Extents<'_>) {
        let most = |f: &dyn Fn(Extent) -> usize| {
            let mut most = 0;
            extents(&mut |e| most = most.max(f(e)));
            most
        };
        let mut backward = false;
        extents(&mut |e| backward |= e.backward);
        let rows = most(&|e| e.rows());
        self.acts.resize_with(plan.activations.len(), Vec::new);
        for (buffer, &(len, sequence)) in self.acts.iter_mut().zip(plan.activations) {
            at_least(buffer, if sequence { rows } else { CHUNK } * len);
        }
        self.states.resize_with(plan.states.len(), Vec::new);
        for (buffer, &len) in self.states.iter_mut().zip(plan.states) {
            at_least(buffer, CHUNK * len);
        }
        self.saved.resize_with(plan.sizes.len(), Vec::new);
        for (buffer, sizes) in self.saved.iter_mut().zip(plan.sizes) {
            at_least(buffer, most(&|e| (sizes.saved)(sizes.extent(e))));
        }
        at_least(&mut self.scratch, most(&|e| plan.scratch_for(e)));
        at_least(&mut self.partials, plan.partials());
        // The loss writes its gradient into slot 0 even when nobody backpropagates it: the output's size then;
        // backward passes gradients of every value's width through all the slots.
        let output_rows = if plan.sequence_output { rows } else { CHUNK };
        let slots = if backward { plan.slots.max(1) } else { 1 };
        if self.deltas.len() < slots {
            self.deltas.resize_with(slots, Vec::new);
        }
        for (k, slot) in self.deltas[..slots].iter_mut().enumerate() {
            let len = if backward { rows.max(CHUNK) * plan.width } else { output_rows * plan.output };
            at_least(slot, if k == 0 { len.max(output_rows * plan.output) } else { len });
        }
        if backward {
            at_least(&mut self.grads, params);
            at_least(&mut self.dx, rows * plan.input);
        }
        self.parts.resize_with(plan.parts.len(), Chunk::default);
        for (chunk, part) in self.parts.iter_mut().zip(plan.parts) {
            chunk.ensure(&part.plan, part.params, &|f| extents(&mut |e| f(part.extent(e))));
        }
    }
}

/// The extents of a pass's chunks, visited one by one (a visitor rather than an iterator, so that a network made of
/// networks can map them for its parts without a type per nesting level or an allocation).
type Extents<'a> = dyn Fn(&mut dyn FnMut(Extent)) + 'a;

/// Grows `v` to at least `len` values (never shrinks it, so a later, smaller pass allocates nothing).
fn at_least<T: Clone + Default>(v: &mut Vec<T>, len: usize) {
    if v.len() < len {
        v.resize(len, T::default());
    }
}

/// One chunk's place in a pass: its buffers, its input gathered from sequences of any length (padded to the
/// longest), their lengths, and what the chunk's middle step returned.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub chunk: Chunk,
    /// The chunk's input when it had to be gathered (sequences of any length): `samples × steps` rows.
    pub input: Vec<f32>,
    /// Each sample's number of steps, for inputs of any length (empty otherwise).
    pub lengths: Vec<usize>,
    /// Samples in the chunk.
    pub samples: usize,
    /// Rows per sample: the longest sequence of the chunk, the fixed length, or 1.
    pub steps: usize,
    /// What the chunk's middle step returned.
    pub result: Result<f64>,
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            chunk: Chunk::default(),
            input: Vec::new(),
            lengths: Vec::with_capacity(CHUNK),
            samples: 0,
            steps: 1,
            result: Ok(0.0),
        }
    }
}

/// Everything a pass over a batch writes besides the network's own arrays. Create one per thread with
/// [`crate::Inference::workspace`] to run one shared network from several threads (`forward_with`,
/// `predict_with`); a network also keeps one for its `&mut self` methods.
///
/// The first pass sizes it; later passes of the same network over batches of any size allocate nothing. Used
/// with another network type it is resized.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    /// The network type the buffers are sized for.
    owner: &'static str,
    pub(crate) slots: Vec<Slot>,
    /// The whole batch's statistics for the whole-batch layers.
    pub(crate) stats: Vec<f32>,
    /// Partial sums added up over the chunks.
    pub(crate) sums: Vec<f64>,
}

impl Workspace {
    /// An empty workspace, sized by its first pass.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes sure there are `slots` chunk buffers for network `owner` (described by `plan`, with `params`
    /// parameters), each holding any chunk of `extents` (each chunk's samples, steps and whether a backward pass
    /// follows). Buffers only grow: the workspace ends up holding the largest chunk of sequences seen.
    pub(crate) fn ensure(
        &mut self,
        owner: &'static str,
        plan: &Plan,
        params: usize,
        slots: usize,
        extents: impl Iterator<Item = Extent> + Clone,
    ) {
        if self.owner != owner {
            *self = Self { owner, ..Self::default() };
        }
        if self.slots.len() < slots {
            self.slots.resize_with(slots, Slot::default);
        }
        let rows = extents.clone().map(Extent::rows).max().unwrap_or(0);
        for slot in &mut self.slots[..slots] {
            slot.chunk.ensure(plan, params, &|f| extents.clone().for_each(f));
            if plan.sequence_input {
                at_least(&mut slot.input, rows * plan.input);
            }
        }
        if self.stats.len() < plan.stats() {
            self.stats.resize(plan.stats(), 0.0);
        }
        if self.sums.len() < plan.partials() {
            self.sums.resize(plan.partials(), 0.0);
        }
    }
}

/// Whether a network spreads the chunks of a batch over threads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Parallelism {
    /// Everything on the calling thread (the default).
    #[default]
    None,
    /// This many threads: the calling thread and `n − 1` helper threads of the network's own, started once, which
    /// spin for 200 µs after each job (so that the next is handed over with one atomic increment, not a wake-up
    /// through the kernel) and then sleep. The chunks of a batch (of [`CHUNK`] samples) run side by side, chunk
    /// `i` on thread `i mod n`. A batch of one chunk runs on the calling thread and shares its large products
    /// with the helpers: a batch-1 `Linear` with over 128 K weights, or a product of over 2 M multiply-adds,
    /// split by output columns (so that each core keeps its share of the weights in its own cache from call to
    /// call) or, when they are few, by rows. Optimizer steps through
    /// [`Training::train_step`](crate::Training::train_step) and `fit` share the update of over 64 K parameters
    /// with them too. Results are bit-identical to one thread.
    Threads(usize),
}

impl Parallelism {
    /// The threads this setting asks for (none for one thread), started now so that no pass has to.
    ///
    /// # Errors
    /// `Threads(0)`, or threads that cannot be started.
    pub(crate) fn helpers(self) -> Result<Option<std::sync::Arc<Helpers>>> {
        match self {
            Parallelism::None | Parallelism::Threads(1) => Ok(None),
            Parallelism::Threads(0) => {
                Err(Error::InvalidSetting { name: "parallelism", problem: "Threads(0): use at least 1".into() })
            }
            Parallelism::Threads(n) => {
                let cannot = |e: &dyn std::fmt::Display| Error::InvalidSetting {
                    name: "parallelism",
                    problem: format!("cannot start {n} threads: {e}"),
                };
                Ok(Some(std::sync::Arc::new(Helpers::start(n).map_err(|e| cannot(&e))?)))
            }
        }
    }

    /// Threads a pass over `chunks` chunks uses.
    pub(crate) fn width(self, chunks: usize) -> usize {
        match self {
            Parallelism::Threads(n) if n > 1 && chunks > 1 => n.min(chunks),
            _ => 1,
        }
    }
}
