//! Running a network on samples and batches, on `&mut self` or shared with a caller's workspace.

use super::calls::{check_len, check_states, copy_output, copy_states, or_panic, output, run_mut, run_shared, Wants};
#[cfg(doc)]
use super::CHUNK;
use super::{Chunk, Mode, Network, Parallelism, Pass, Workspace};
use crate::sample::{predicted_class, Example, Sample};
#[cfg(doc)]
use crate::Error;
use crate::Result;

/// Running a network: outputs for one sample or a batch, on the network itself (following its [`Mode`]) or, with
/// the `*_with` methods, on a shared `&self` with a caller's [`Workspace`] — always in [`Mode::Eval`], changing
/// nothing, so a trained network behind an `Arc` serves any number of threads, each with its own workspace.
///
/// Every method that takes a batch processes it in chunks of [`CHUNK`] samples with buffers that are kept, so after
/// the first call (which sizes them) nothing allocates. Every [`Network`] has these methods (a blanket
/// implementation); `use nn::prelude::*` brings them into scope.
pub trait Inference: Network {
    /// The current mode: [`Mode::Train`] (the default for a new network) or [`Mode::Eval`].
    fn mode(&self) -> Mode {
        self.parts().run.mode
    }

    /// Switches between training and evaluation behaviour of dropout and batch norm. Every `&mut self` method
    /// that runs the network follows the mode; switching is cheap.
    fn set_mode(&mut self, mode: Mode) {
        self.parts_mut().run.mode = mode;
    }

    /// Switches to [`Mode::Train`] (as PyTorch's `model.train()`).
    fn train(&mut self) {
        self.set_mode(Mode::Train);
    }

    /// Switches to [`Mode::Eval`] (as PyTorch's `model.eval()`): dropout off, batch norm on running statistics;
    /// outputs are then deterministic.
    fn eval(&mut self) {
        self.set_mode(Mode::Eval);
    }

    /// Spreads the chunks of each batch over a pool of threads (or not). Results are bit-identical for every
    /// setting; only the speed changes. The pool is built here, once.
    ///
    /// # Errors
    /// `Parallelism::Threads(0)`, or threads that cannot be started.
    fn set_parallelism(&mut self, parallelism: Parallelism) -> Result<()> {
        self.parts_mut().run.set_parallelism(parallelism)
    }

    /// A new workspace for the `*_with` methods (sized by its first use).
    fn workspace(&self) -> Workspace {
        Workspace::new()
    }

    /// The output for one sample, following the mode. Allocates nothing after the first call, beyond the `Vec` a
    /// sequence output is returned in (`forward_batch` into reused outputs avoids even that).
    ///
    /// # Panics
    /// In [`Mode::Train`] through a batch-norm layer, whose statistics need more than one value per channel
    /// (PyTorch refuses too): call [`Inference::eval`](super::Inference::eval) for inference; on a sequence of no steps.
    #[track_caller]
    fn forward(&mut self, x: &Self::Input) -> Self::Output {
        let mut y = Self::Output::zeros(0);
        self.forward_batch(std::slice::from_ref(x), std::slice::from_mut(&mut y));
        y
    }

    /// The output for one sample in eval mode, on a shared network with the caller's workspace. Allocates
    /// nothing once `ws` has been used.
    ///
    /// # Panics
    /// On a sequence of no steps.
    #[track_caller]
    fn forward_with(&self, ws: &mut Workspace, x: &Self::Input) -> Self::Output {
        let mut y = Self::Output::zeros(0);
        or_panic(self.forward_batch_with(ws, std::slice::from_ref(x), std::slice::from_mut(&mut y)));
        y
    }

    /// Outputs for a batch, written into `ys`.
    ///
    /// # Panics
    /// If `xs` and `ys` differ in length, or on the other errors of [`Inference::try_forward_batch`](super::Inference::try_forward_batch).
    #[track_caller]
    fn forward_batch(&mut self, xs: &[Self::Input], ys: &mut [Self::Output]) {
        or_panic(self.try_forward_batch(xs, ys));
    }

    /// Outputs for a batch, or an error if `ys` does not have one slot per input (or a batch-norm layer in
    /// training mode gets one value per channel, or a sequence has no steps).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`], [`Error::BatchTooSmall`], [`Error::EmptySequence`].
    fn try_forward_batch(&mut self, xs: &[Self::Input], ys: &mut [Self::Output]) -> Result<()> {
        self.forward_states(xs, None, ys, None)
    }

    /// Outputs for a batch of sequences whose recurrent layers start from `initial` states (one per sample;
    /// zeros when `None`), writing each sample's final states into `finals` if given — to carry a long sequence
    /// over from one call to the next, as truncated backpropagation through time does. The gradient does not
    /// flow into the initial states.
    ///
    /// # Errors
    /// As [`Inference::try_forward_batch`](super::Inference::try_forward_batch), and [`Error::LengthMismatch`] if `initial` or `finals` does not have
    /// one state per sample.
    fn forward_states(
        &mut self,
        xs: &[Self::Input],
        initial: Option<&[Self::State]>,
        ys: &mut [Self::Output],
        finals: Option<&mut [Self::State]>,
    ) -> Result<()> {
        check_len(xs.len(), ys.len(), "output slots")?;
        check_states::<Self>(xs.len(), initial, finals.as_deref())?;
        let mut finals = finals.map(Self::State::flat_mut);
        let initial = initial.map(Self::State::flat);
        let mut collect = |chunk: &Chunk, p: &Pass<'_>| {
            copy_output::<Self>(chunk, xs, p, ys);
            if let Some(finals) = finals.as_deref_mut() {
                copy_states::<Self>(chunk, p, finals);
            }
        };
        run_mut(self, xs, initial, Wants::FORWARD, &|_: &mut Chunk, _: &[f32], _: &Pass<'_>| Ok(0.0), &mut collect)
            .map(drop)
    }

    /// Outputs for a batch in eval mode, on a shared network with the caller's workspace.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `ys` does not have one slot per input; [`Error::EmptySequence`].
    fn forward_batch_with(&self, ws: &mut Workspace, xs: &[Self::Input], ys: &mut [Self::Output]) -> Result<()> {
        check_len(xs.len(), ys.len(), "output slots")?;
        let mut collect = |chunk: &Chunk, p: &Pass<'_>| copy_output::<Self>(chunk, xs, p, ys);
        run_shared(self, ws, xs, &|_: &mut Chunk, _: &[f32], _: &Pass<'_>| Ok(0.0), &mut collect).map(drop)
    }

    /// Outputs for a batch, in a new vector.
    ///
    /// # Panics
    /// As [`Inference::forward_batch`](super::Inference::forward_batch).
    #[track_caller]
    fn predict(&mut self, xs: &[Self::Input]) -> Vec<Self::Output> {
        let mut ys = vec![Self::Output::zeros(0); xs.len()];
        self.forward_batch(xs, &mut ys);
        ys
    }

    /// Outputs for a batch in eval mode, in a new vector, on a shared network with the caller's workspace.
    ///
    /// # Panics
    /// On a sequence of no steps.
    #[track_caller]
    fn predict_with(&self, ws: &mut Workspace, xs: &[Self::Input]) -> Vec<Self::Output> {
        let mut ys = vec![Self::Output::zeros(0); xs.len()];
        or_panic(self.forward_batch_with(ws, xs, &mut ys));
        ys
    }

    /// Fraction of samples whose largest output is at the labelled class (0 for an empty batch). A sample whose
    /// output holds a NaN is a miss. For a network whose output is a sequence, use `nn::train::evaluate` with
    /// one target per step.
    ///
    /// # Panics
    /// If `xs` and `labels` differ in length, if the output is a sequence, or on a batch of one sample in
    /// training mode through batch norm.
    #[track_caller]
    fn accuracy(&mut self, xs: &[Self::Input], labels: &[usize]) -> f32 {
        or_panic(check_len(xs.len(), labels.len(), "labels"));
        assert!(
            !Self::PLAN.sequence_output,
            "`accuracy` takes one label per sample, but this network's output is a sequence: use `evaluate` with \
             one target per step"
        );
        if xs.is_empty() {
            return 0.0;
        }
        let hits = |chunk: &mut Chunk, x: &[f32], p: &Pass<'_>| {
            let out = output::<Self>(&chunk.acts, x, p);
            let labels = &labels[p.first..];
            Ok(out.chunks_exact(Self::PLAN.output).zip(labels).filter(|(y, &l)| predicted_class(y) == Some(l)).count()
                as f64)
        };
        let correct = or_panic(run_mut(self, xs, None, Wants::FORWARD, &hits, &mut |_, _| {}));
        (correct / xs.len() as f64) as f32
    }
}

impl<N: Network> Inference for N {}
