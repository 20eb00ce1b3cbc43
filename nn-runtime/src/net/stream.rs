//! Streaming: a network over sequences fed one time step at a time, its recurrent state carried by the caller
//! from step to step. The generated `step` and `step_with` methods of a network that can stream (every recurrent
//! layer unidirectional, every reduction over time `Last` or `FinalState`) call these.

use super::buffers::Model;
use super::calls::output;
use super::network::Network;
use super::pass::{Extent, Mode, Pass};
use super::state::{Parts, PartsMut};
use super::workspace::Workspace;

/// One step on a shared network with the caller's workspace (generated code; not for users).
#[doc(hidden)]
pub fn step<N: Network>(parts: Parts<'_>, ws: &mut Workspace, x: &[f32], state: &mut [f32], y: &mut [f32]) {
    step_on::<N>(Model { params: parts.params, buffers: parts.buffers }, ws, x, state, y);
}

/// One step on the network's own workspace (generated code; not for users).
#[doc(hidden)]
pub fn step_mut<N: Network>(parts: PartsMut<'_>, x: &[f32], state: &mut [f32], y: &mut [f32]) {
    let PartsMut { params, buffers, run, .. } = parts;
    step_on::<N>(Model { params, buffers }, &mut run.ws, x, state, y);
}

/// Runs one chunk of one sample of one step in eval mode: `x` one step's features, `state` the network's state
/// before the step and after it, `y` the output for the step.
fn step_on<N: Network>(model: Model<'_>, ws: &mut Workspace, x: &[f32], state: &mut [f32], y: &mut [f32]) {
    let plan = N::PLAN;
    let one_step = Extent { samples: 1, steps: 1, backward: false };
    ws.ensure(std::any::type_name::<N>(), &plan, N::PARAMS, 1, core::iter::once(one_step));
    let chunk = &mut ws.slots[0].chunk;
    // One step of one sample, in eval mode, with no backward pass after it; the layers read and write their
    // states in the caller's (a key/value cache is no copy away).
    let pass = Pass { backward: false, ..Pass::single(Mode::Eval, 0, 0, 1) };
    N::forward_in_place(model, chunk, x, &pass, &ws.stats, state);
    y.copy_from_slice(output::<N>(&chunk.acts, x, &pass));
}
