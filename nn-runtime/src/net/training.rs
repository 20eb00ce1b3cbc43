//! Gradients of a network and training steps.

use super::calls::{
    batch_loss, batch_loss_with, check_len, check_states, copy_input_gradient, for_each_output_row, or_panic, run_mut,
    Gradients, Wants,
};
use super::driver::Backprop;
use super::{Chunk, Introspection, Network, Pass};
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::sample::{Example, Sample};
use crate::{Error, Result};

/// Training a network: the gradient of a loss (or of given output gradients) with respect to every parameter and,
/// if asked, to the inputs, and a whole training step with an optimizer. Two networks trained as one are a
/// [`Chain`](crate::Chain); procedures beyond these — a GAN's two networks each with its own optimizer — are free
/// functions over [`Network::parts_mut`], not new methods here. Every [`Network`] has these methods (a blanket implementation); `use nn::prelude::*` brings
/// them into scope.
pub trait Training: Network {
    /// Backpropagates given output gradients: returns the gradient of `Σᵢ ⟨d_outputs[i], f(xs[i])⟩` with respect
    /// to every parameter (summed over the batch, laid out like [`Introspection::params`](super::Introspection::params)) and, if `d_inputs` is given,
    /// writes the gradient with respect to each input.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if the slices differ in length; [`Error::StepMismatch`] if a sequence's output
    /// gradient has another number of steps than its output; [`Error::BatchTooSmall`]; [`Error::EmptySequence`];
    /// [`Error::TokenOutOfRange`]; [`Error::InvalidSetting`] if input gradients are asked of token ids.
    fn backward(
        &mut self,
        xs: &[Self::Input],
        d_outputs: &[Self::Output],
        d_inputs: Option<&mut [Self::Input]>,
    ) -> Result<&[f32]> {
        check_len(xs.len(), d_outputs.len(), "output gradients")?;
        if let Some(d) = &d_inputs {
            check_len(xs.len(), d.len(), "input-gradient slots")?;
            if <Self::Input as Example>::TOKENS {
                let problem = "the inputs are token ids, which have no gradient; pass `None`".into();
                return Err(Error::InvalidSetting { name: "d_inputs", problem });
            }
        }
        let backprop = if d_inputs.is_some() { Backprop::ParamsAndInput } else { Backprop::Params };
        if xs.is_empty() {
            self.parts_mut().grads.fill(0.0);
        }
        let seed_gradient = |chunk: &mut Chunk, _: &[f32], p: &Pass<'_>| {
            for_each_output_row::<Self>(p, |j, rows, padded| {
                let d = d_outputs[p.first + j].values();
                if d.len() != rows.len() {
                    let width = Self::PLAN.output.max(1);
                    return Err(Error::StepMismatch {
                        index: p.first + j,
                        steps: rows.len() / width,
                        given: d.len() / width,
                        what: "output gradients",
                    });
                }
                chunk.deltas[0][rows].copy_from_slice(d);
                chunk.deltas[0][padded].fill(0.0);
                Ok(())
            })?;
            Ok(0.0)
        };
        let mut d_inputs = d_inputs;
        let mut collect = |chunk: &Chunk, p: &Pass<'_>| {
            if let Some(all) = d_inputs.as_deref_mut() {
                copy_input_gradient::<Self>(chunk, p, all);
            }
        };
        let wants = Wants { backprop, gradient: true, loss_scale: 0.0 };
        run_mut(self, xs, None, wants, &seed_gradient, &mut collect)?;
        Ok(self.grads())
    }

    /// Mean loss over the batch, and its gradient, kept for [`Introspection::grads`](super::Introspection::grads) and the next optimizer step.
    ///
    /// # Errors
    /// An empty batch, lengths that differ, a bad target ([`Error::LabelOutOfRange`]), [`Error::BatchTooSmall`].
    fn loss_and_grad<L: Loss<Self::Output>>(
        &mut self,
        xs: &[Self::Input],
        targets: &[L::Target],
        loss: &L,
    ) -> Result<f32> {
        batch_loss(self, xs, None, targets, loss, true, None)
    }

    /// Mean loss over the batch, and its gradient with respect to each input, written into `d_inputs`, with the
    /// network held fixed: no parameter gradient is computed (the one [`Introspection::grads`](super::Introspection::grads)
    /// shows is left as it was) and no running statistics are updated. What saliency maps and adversarial examples
    /// need (the fast gradient sign method perturbs `x` by `ε·sign(∂L/∂x)`), and a GAN's generator step through its
    /// discriminator (then `generator.backward(&z, &d_inputs, None)` gives the generator's gradient). Runs in the
    /// network's mode: in training mode dropout draws masks and batch norm normalises with the batch's statistics
    /// (without updating its running ones); in eval mode neither.
    ///
    /// ```ignore
    /// // Runs as `an_fgsm_step_raises_the_loss` in the facade's tests/input_gradients.rs.
    /// use nn::prelude::*;
    ///
    /// network! {
    ///     struct Classifier { Input<4> -> fc1: Linear<4, 8> -> Tanh -> fc2: Linear<8, 3> }
    /// }
    ///
    /// let mut net = Classifier::new(0);
    /// net.eval();
    /// let xs = [[0.5, -1.0, 0.25, 2.0]];
    /// let mut d_xs = [[0.0; 4]];
    /// let loss = net.loss_and_input_grad(&xs, &[2], &CrossEntropy, &mut d_xs).unwrap();
    /// // One step of the fast gradient sign method raises the loss.
    /// let adversarial = [core::array::from_fn(|i| xs[0][i] + 0.1 * d_xs[0][i].signum())];
    /// assert!(net.evaluate_loss(&adversarial, &[2], &CrossEntropy).unwrap() > loss);
    /// assert!(net.grads().iter().all(|&g| g == 0.0)); // no parameter gradient was kept
    /// ```
    ///
    /// # Errors
    /// As [`Training::loss_and_grad`](super::Training::loss_and_grad); [`Error::LengthMismatch`] if `d_inputs`
    /// is not one slot per input; [`Error::InvalidSetting`] for token ids, which have no gradient.
    fn loss_and_input_grad<L: Loss<Self::Output>>(
        &mut self,
        xs: &[Self::Input],
        targets: &[L::Target],
        loss: &L,
        d_inputs: &mut [Self::Input],
    ) -> Result<f32> {
        let gradients = Gradients::Inputs { slots: d_inputs, params: false };
        batch_loss_with(self, xs, None, targets, loss, gradients, None)
    }

    /// [`Training::loss_and_grad`](super::Training::loss_and_grad) and
    /// [`Training::loss_and_input_grad`](super::Training::loss_and_input_grad) in one pass: the mean loss, its
    /// parameter gradient (kept for the next optimizer step) and its gradient with respect to each input.
    ///
    /// # Errors
    /// As [`Training::loss_and_input_grad`](super::Training::loss_and_input_grad).
    fn loss_and_grads<L: Loss<Self::Output>>(
        &mut self,
        xs: &[Self::Input],
        targets: &[L::Target],
        loss: &L,
        d_inputs: &mut [Self::Input],
    ) -> Result<f32> {
        let gradients = Gradients::Inputs { slots: d_inputs, params: true };
        batch_loss_with(self, xs, None, targets, loss, gradients, None)
    }

    /// Mean loss over the batch without computing gradients.
    ///
    /// # Errors
    /// As [`Training::loss_and_grad`](super::Training::loss_and_grad).
    fn evaluate_loss<L: Loss<Self::Output>>(
        &mut self,
        xs: &[Self::Input],
        targets: &[L::Target],
        loss: &L,
    ) -> Result<f32> {
        batch_loss(self, xs, None, targets, loss, false, None)
    }

    /// Mean loss over the batch of sequences whose recurrent layers start from `initial` states (zeros when
    /// `None`), and its gradient, writing each sample's final states into `finals` if given: one window of
    /// truncated backpropagation through time, the gradient stopping at the initial states.
    ///
    /// # Errors
    /// As [`Training::loss_and_grad`](super::Training::loss_and_grad), and [`Error::LengthMismatch`] for states of the wrong number.
    fn loss_and_grad_states<L: Loss<Self::Output>>(
        &mut self,
        xs: &[Self::Input],
        initial: Option<&[Self::State]>,
        targets: &[L::Target],
        loss: &L,
        finals: Option<&mut [Self::State]>,
    ) -> Result<f32> {
        check_states::<Self>(xs.len(), initial, finals.as_deref())?;
        batch_loss(self, xs, initial.map(Self::State::flat), targets, loss, true, finals.map(Self::State::flat_mut))
    }

    /// One training step: forward, loss, backward and an optimizer update. Returns the batch's mean loss.
    ///
    /// # Panics
    /// On the errors [`Training::try_train_step`](super::Training::try_train_step) returns (length mismatch, empty batch, label out of range).
    #[track_caller]
    fn train_step<L: Loss<Self::Output>, O: Optimizer>(
        &mut self,
        xs: &[Self::Input],
        targets: &[L::Target],
        loss: &L,
        optimizer: &mut O,
    ) -> f32 {
        or_panic(self.try_train_step(xs, targets, loss, optimizer))
    }

    /// [`Training::train_step`](super::Training::train_step), returning bad input as an error. The parameters are unchanged on error.
    ///
    /// # Errors
    /// As [`Training::loss_and_grad`](super::Training::loss_and_grad).
    fn try_train_step<L: Loss<Self::Output>, O: Optimizer>(
        &mut self,
        xs: &[Self::Input],
        targets: &[L::Target],
        loss: &L,
        optimizer: &mut O,
    ) -> Result<f32> {
        let value = self.loss_and_grad(xs, targets, loss)?;
        let parts = self.parts_mut();
        parts.run.with_threads(|| optimizer.step(parts.params, parts.grads));
        Ok(value)
    }
}

impl<N: Network> Training for N {}
