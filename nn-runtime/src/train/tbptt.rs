//! Truncated backpropagation through time: a batch of sequences cut into windows of `k` steps, trained window by
//! window, each sample's recurrent state carried from one window into the next while the gradient stops at the
//! window's start.
//!
//! Window `w` holds steps `w·k .. (w+1)·k` of every sample still running. For a network whose output is a
//! sequence, each of them contributes its steps' losses (the targets cut alike), and the window's update follows
//! the mean over those steps. For a network whose output is one vector per sample (`Last`, `FinalState`, …), a
//! sample's loss belongs to the window its sequence ends in; a window where no sample ends carries the states on
//! and makes no update. With `k` at least the longest sequence there is one window and training is whole-sequence
//! backpropagation through time, bit for bit.

use crate::loss::Loss;
use crate::net::Network;
use crate::net::{Inference, Training};
use crate::sample::{Example, Sample};
use crate::{Error, Result};

/// The buffers of the windows of one batch, reused from batch to batch (nothing is allocated once they have
/// held the largest batch and window).
pub(super) struct Windows<N: Network, T> {
    /// Each batch sample's state after the windows so far.
    states: Vec<N::State>,
    /// The samples with a loss in the window: their window, target, initial and final states, batch index.
    learn: Group<N, T>,
    /// The samples that only carry their state through the window.
    carry: Group<N, T>,
    /// Outputs of the carried samples (unused, but the pass writes them).
    outputs: Vec<N::Output>,
}

/// Some of a window's samples.
struct Group<N: Network, T> {
    xs: Vec<N::Input>,
    ts: Vec<T>,
    initial: Vec<N::State>,
    finals: Vec<N::State>,
    index: Vec<usize>,
    /// How many of the vectors' entries the window uses (the rest keep their capacity for later windows).
    len: usize,
}

impl<N: Network, T> Default for Group<N, T> {
    fn default() -> Self {
        Self { xs: Vec::new(), ts: Vec::new(), initial: Vec::new(), finals: Vec::new(), index: Vec::new(), len: 0 }
    }
}

impl<N: Network, T> Default for Windows<N, T> {
    fn default() -> Self {
        Self { states: Vec::new(), learn: Group::default(), carry: Group::default(), outputs: Vec::new() }
    }
}

/// Entry `i` of `v`, pushed as `make()` if `v` is shorter.
fn entry<X>(v: &mut Vec<X>, i: usize, make: impl FnOnce() -> X) -> &mut X {
    if v.len() <= i {
        v.push(make());
    }
    &mut v[i]
}

/// Steps of one sample.
fn steps<N: Network>(x: &N::Input) -> usize {
    x.values().len() / N::PLAN.input.max(1)
}

impl<N: Network, T: Clone> Group<N, T> {
    /// Adds steps `window` of batch sample `i` (`x`), starting from `state`, with target `target` if given.
    fn push(&mut self, i: usize, x: &N::Input, window: std::ops::Range<usize>, state: &N::State, target: Option<&T>) {
        let width = N::PLAN.input;
        let j = self.len;
        entry(&mut self.xs, j, || N::Input::zeros(0)).assign(&x.values()[window.start * width..window.end * width]);
        *entry(&mut self.initial, j, || *state) = *state;
        entry(&mut self.finals, j, || *state);
        *entry(&mut self.index, j, || i) = i;
        if let Some(t) = target {
            entry(&mut self.ts, j, || t.clone()).clone_from(t);
        }
        self.len += 1;
    }
}

impl<N: Network, T: Clone> Windows<N, T> {
    /// Starts a batch of `batch` samples: every state zero. Returns the number of windows of `k` steps `xs`
    /// needs.
    pub(super) fn start(&mut self, xs: &[N::Input], k: usize) -> usize {
        self.states.clear();
        self.states.resize(xs.len(), N::State::zeroed());
        xs.iter().map(steps::<N>).max().unwrap_or(0).div_ceil(k)
    }

    /// Gathers window `w` of `k` steps of the batch `xs` with targets `ts`.
    ///
    /// # Errors
    /// A sequence-output network whose loss cannot cut its targets into windows.
    pub(super) fn gather<L: Loss<N::Output, Target = T>>(
        &mut self,
        w: usize,
        k: usize,
        xs: &[N::Input],
        ts: &[T],
        loss: &L,
    ) -> Result<()> {
        let start = w * k;
        let (learn, carry) = (&mut self.learn, &mut self.carry);
        (learn.len, carry.len) = (0, 0);
        for (i, (x, t)) in xs.iter().zip(ts).enumerate() {
            let len = steps::<N>(x);
            if len <= start {
                continue;
            }
            let end = len.min(start + k);
            let state = &self.states[i];
            if N::PLAN.sequence_output {
                let whole = start == 0 && end == len;
                learn.push(i, x, start..end, state, whole.then_some(t));
                // The window's targets overwrite the slot (a copy of a target is made only the first time).
                let slot = entry(&mut learn.ts, learn.len - 1, || t.clone());
                if !whole && !loss.window_target(t, start..end, slot) {
                    return Err(Error::InvalidSetting {
                        name: "tbptt",
                        problem: "the loss cannot cut its targets into windows: train on sequences of any length \
                                  (`Input<Seq, F>`) with one target per step in a `Vec`"
                            .into(),
                    });
                }
            } else if end == len {
                learn.push(i, x, start..end, state, Some(t));
            } else {
                carry.push(i, x, start..end, state, None);
            }
        }
        Ok(())
    }

    /// Runs the carried samples through the window (forward only), keeping their final states.
    pub(super) fn carry(&mut self, net: &mut N) -> Result<()> {
        let g = &mut self.carry;
        if g.len == 0 {
            return Ok(());
        }
        while self.outputs.len() < g.len {
            self.outputs.push(N::Output::zeros(0));
        }
        net.forward_states(
            &g.xs[..g.len],
            Some(&g.initial[..g.len]),
            &mut self.outputs[..g.len],
            Some(&mut g.finals[..g.len]),
        )?;
        for (&i, state) in g.index[..g.len].iter().zip(&g.finals) {
            self.states[i] = *state;
        }
        Ok(())
    }

    /// The window's loss and gradient (left in the network) over the samples with a loss in it, and the number
    /// of terms its mean is over; `None` if no sample has one.
    pub(super) fn learn<L: Loss<N::Output, Target = T>>(
        &mut self,
        net: &mut N,
        loss: &L,
    ) -> Result<Option<(f32, usize)>> {
        let g = &mut self.learn;
        if g.len == 0 {
            return Ok(None);
        }
        let (xs, ts) = (&g.xs[..g.len], &g.ts[..g.len]);
        let value = net.loss_and_grad_states(xs, Some(&g.initial[..g.len]), ts, loss, Some(&mut g.finals[..g.len]))?;
        for (&i, state) in g.index[..g.len].iter().zip(&g.finals) {
            self.states[i] = *state;
        }
        Ok(Some((value, ts.iter().map(|t| loss.terms(t)).sum())))
    }
}
