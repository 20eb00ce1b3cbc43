//! What a network holds: parameters, buffers, gradient, tensors by name, random state, summary.

use super::{summary, Network};

/// What a network holds, read and written: its parameters, buffers and gradient as flat slices and by tensor
/// name, the random state its dropout masks come from, and its summary. Every [`Network`] has these methods (a
/// blanket implementation); `use nn::prelude::*` brings them into scope.
pub trait Introspection: Network {
    /// All parameters, as one contiguous slice in [`Network::TENSORS`] order.
    fn params(&self) -> &[f32] {
        self.parts().params
    }

    /// All parameters, mutably.
    fn params_mut(&mut self) -> &mut [f32] {
        self.parts_mut().params
    }

    /// All buffer values (see [`Network::BUFFER_TENSORS`]); empty for networks without batch norm.
    fn buffers(&self) -> &[f32] {
        self.parts().buffers
    }

    /// All buffer values, mutably.
    fn buffers_mut(&mut self) -> &mut [f32] {
        self.parts_mut().buffers
    }

    /// The gradient computed by the last [`Training::loss_and_grad`](super::Training::loss_and_grad) or [`Training::backward`](super::Training::backward).
    fn grads(&self) -> &[f32] {
        self.parts().grads
    }

    /// The parameter tensor called `name` (`"conv1.weight"`), if there is one.
    fn param(&self, name: &str) -> Option<&[f32]> {
        let t = Self::TENSORS.iter().find(|t| t.name == name)?;
        Some(&self.params()[t.offset..t.offset + t.len()])
    }

    /// The parameter tensor called `name`, mutably.
    fn param_mut(&mut self, name: &str) -> Option<&mut [f32]> {
        let t = Self::TENSORS.iter().find(|t| t.name == name)?;
        Some(&mut self.params_mut()[t.offset..t.offset + t.len()])
    }

    /// A table of the layers with output shapes, parameter counts and forward multiply-adds, then the totals and
    /// the memory figures of the cost model ([`Network::FORWARD_MACS`] and the constants after it).
    fn summary() -> String {
        summary::table::<Self>()
    }

    /// Where dropout masks come from: the seed given to `new` and the number of training-mode passes run so far.
    /// Two networks with the same random state draw the same masks.
    fn random_state(&self) -> (u64, u64) {
        let run = self.parts().run;
        (run.seed, run.step)
    }

    /// Sets the seed and pass counter that dropout masks are drawn from (a checkpoint restores them).
    fn set_random_state(&mut self, seed: u64, step: u64) {
        let run = self.parts_mut().run;
        (run.seed, run.step) = (seed, step);
    }
}

impl<N: Network> Introspection for N {}
