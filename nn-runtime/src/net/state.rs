//! What a network keeps besides its parameters and buffers, and the split borrow of all of them.

use super::pass::Mode;
use super::workspace::{Parallelism, Workspace};
use crate::kernels::Helpers;
use crate::Result;
use std::sync::Arc;

/// A network's state besides its parameters and buffers: the batch gradient, the mode, the seed and step
/// counter random layers draw from, the threads, and the workspace of its `&mut self` methods (the
/// generated struct's hidden field; not for users).
#[doc(hidden)]
#[derive(Clone, Debug, Default)]
pub struct State {
    /// The gradient of the last `loss_and_grad` or `backward`, one value per parameter.
    grads: Vec<f32>,
    run: Runner,
}

/// Everything of [`State`] but the gradient: what a pass needs (not for users).
#[doc(hidden)]
#[derive(Clone, Debug, Default)]
pub struct Runner {
    pub(crate) mode: Mode,
    pub(crate) seed: u64,
    pub(crate) step: u64,
    pub(crate) parallelism: Parallelism,
    pub(crate) pool: Option<Arc<Helpers>>,
    pub(crate) ws: Workspace,
}

impl State {
    /// The state of a new network `N` created from `seed`, with every buffer a single-threaded pass over one
    /// chunk needs, so that even the first inference allocates nothing.
    pub fn new<N: super::Network>(seed: u64) -> Self {
        let plan = N::PLAN;
        let steps = match <N::Input as crate::Example>::FIXED_LEN {
            Some(len) if plan.sequence_input => len / plan.input.max(1),
            _ => 1,
        };
        let chunk = super::Extent { samples: super::CHUNK, steps, backward: true };
        let mut ws = Workspace::new();
        ws.ensure(std::any::type_name::<N>(), &plan, N::PARAMS, 1, core::iter::once(chunk));
        Self { grads: vec![0.0; N::PARAMS], run: Runner { seed, ws, ..Runner::default() } }
    }
}

impl State {
    /// How the network runs: mode, seed, threads, workspace.
    pub(crate) fn runner(&self) -> &Runner {
        &self.run
    }

    /// [`State::runner`], to change.
    pub(crate) fn runner_mut(&mut self) -> &mut Runner {
        &mut self.run
    }
}

impl Runner {
    /// Sets how chunks are spread over threads, building the thread pool now (not during a pass).
    pub(crate) fn set_parallelism(&mut self, parallelism: Parallelism) -> Result<()> {
        self.pool = parallelism.helpers()?;
        self.parallelism = parallelism;
        Ok(())
    }

    /// Runs `f` with the network's helper threads available to it: an optimizer step then updates the
    /// parameters on all the network's threads.
    pub(crate) fn with_threads<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.pool {
            Some(pool) => crate::kernels::with_helpers(pool, f),
            None => f(),
        }
    }
}

/// A network's parts, borrowed at once: parameters, buffers, and the gradient of the last
/// [`crate::Training::loss_and_grad`] or [`crate::Training::backward`] (zeros before the first).
pub struct Parts<'a> {
    /// Every parameter, in [`crate::Network::TENSORS`] order.
    pub params: &'a [f32],
    /// Every buffer value, in [`crate::Network::BUFFER_TENSORS`] order.
    pub buffers: &'a [f32],
    /// The gradient, laid out like `params`.
    pub grads: &'a [f32],
    #[doc(hidden)]
    pub run: &'a Runner,
}

/// A network's parts, borrowed mutably at once — so that an optimizer can update the parameters from the
/// gradient without copying: `let p = net.parts_mut(); optimizer.step(p.params, p.grads);`.
pub struct PartsMut<'a> {
    /// Every parameter.
    pub params: &'a mut [f32],
    /// Every buffer value.
    pub buffers: &'a mut [f32],
    /// The gradient.
    pub grads: &'a mut [f32],
    #[doc(hidden)]
    pub run: &'a mut Runner,
}

impl<'a> Parts<'a> {
    /// The parts of a network whose fields are these (generated code; not for users).
    #[doc(hidden)]
    pub fn new(params: &'a [f32], buffers: &'a [f32], state: &'a State) -> Self {
        Self { params, buffers, grads: &state.grads, run: &state.run }
    }
}

impl<'a> PartsMut<'a> {
    /// The parts of a network whose fields are these (generated code; not for users).
    #[doc(hidden)]
    pub fn new(params: &'a mut [f32], buffers: &'a mut [f32], state: &'a mut State) -> Self {
        Self { params, buffers, grads: &mut state.grads, run: &mut state.run }
    }
}
