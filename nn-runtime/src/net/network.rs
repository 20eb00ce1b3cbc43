//! The `Network` trait and the functions its provided methods share.

use super::driver::{self, Backprop, Buffers, Middle, Run};
use super::summary;
use super::{
    buffer, Chunk, LayerInfo, Mode, Model, Parallelism, Parts, PartsMut, Pass, Plan, Runner, TensorInfo, Workspace,
    CHUNK,
};
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::sample::{predicted_class, Example, Sample};
use crate::{Error, Result};

/// A network declared with `network!`: typed samples in and out, one flat parameter buffer, and the passes the
/// training loop needs.
///
/// Every method that takes a batch processes it in chunks of [`CHUNK`] samples with buffers that are kept, so
/// after the first call (which sizes them, and may size an optimizer's state) nothing allocates.
///
/// Methods on `&mut self` follow the network's [`Mode`] and use a workspace the network keeps. The `*_with`
/// methods take `&self` and a [`Workspace`] of the caller's, always evaluate in [`Mode::Eval`], and change
/// nothing, so a trained network behind an `Arc` serves any number of threads, each with its own workspace.
pub trait Network: Sized + Send + Sync {
    /// One input sample, e.g. `[[[f32; 28]; 28]; 1]`, `[[f32; 28]; 28]` for 28 steps of 28 values, or
    /// `Vec<[f32; 10]>` for a sequence of any length.
    type Input: Example;
    /// One output sample, e.g. `[f32; 10]`, or a sequence as the input's.
    type Output: Example;
    /// The state the network's recurrent layers carry from one call to the next, per sample (`[f32; 0]` for a
    /// network without them): for each recurrent layer in order, for each of its stacked layers, each direction,
    /// the hidden state (and an LSTM's cell state after it).
    type State: Sample;
    /// Total number of parameters.
    const PARAMS: usize;
    /// Total number of buffer values.
    const BUFFERS: usize = 0;
    /// The layers in order, with their output shapes and parameter counts.
    const LAYERS: &'static [LayerInfo];
    /// The parameter tensors in buffer order, with `state_dict` names.
    const TENSORS: &'static [TensorInfo];
    /// The buffer tensors — state that is saved with the weights but not trained, such as batch norm's
    /// `running_mean`, `running_var` and `num_batches_tracked` — in [`Network::buffers`] order.
    const BUFFER_TENSORS: &'static [TensorInfo] = &[];
    /// The shape of one input sample: `[features]` or `[channels, height, width]`.
    const INPUT_SHAPE: &'static [usize] = &[];
    /// Multiply-adds of one forward pass per sample (per time step for sequences of any length), counted in the
    /// products of `Linear`, `Conv2d`, `Maxout` and the recurrent layers; element-wise work is not counted. Per
    /// layer in [`LayerInfo::forward_macs`].
    const FORWARD_MACS: u64 = 0;
    /// Multiply-adds of one training step per sample: the forward pass, every weight gradient, and the input
    /// gradients of the layers after the first with parameters.
    const TRAIN_MACS: u64 = 0;
    /// Bytes of the weights (parameters and buffers, `f32`).
    const PARAM_BYTES: usize = 4 * (Self::PARAMS + Self::BUFFERS);
    /// Bytes of activations the runtime keeps per sample in inference (every layer's output).
    const INFER_ACTIVATION_BYTES: usize = 0;
    /// Bytes of activations per sample in training: layer outputs, what layers keep for backward, and the
    /// gradient buffers.
    const TRAIN_ACTIVATION_BYTES: usize = 0;
    /// Bytes of the buffer `forward_static` computes one sample in: the static memory of a `no_std` forward pass.
    const STATIC_BYTES: usize = 0;

    #[doc(hidden)]
    /// The sizes of the network's buffers and its whole-batch layers.
    const PLAN: Plan;

    /// A network with parameters initialised from `seed` (each layer by its `init` scheme).
    fn new(seed: u64) -> Self;

    /// What layer `layer` (an index into [`Network::LAYERS`]) computes, as data (for exporters such as ONNX).
    ///
    /// # Panics
    /// If there is no such layer.
    fn op(layer: usize) -> crate::layers::Op;

    /// What each layer computes, in [`Network::LAYERS`] order.
    fn ops() -> Vec<crate::layers::Op> {
        (0..Self::LAYERS.len()).map(Self::op).collect()
    }

    /// The parameters, buffers and gradient, borrowed at once.
    fn parts(&self) -> Parts<'_>;

    /// The parameters, buffers and gradient, borrowed mutably at once.
    fn parts_mut(&mut self) -> PartsMut<'_>;

    #[doc(hidden)]
    /// Forward pass of one chunk (`x` holds its flat samples, padded sequences for inputs of any length); outputs
    /// land in `chunk`. `stage` is `None` for the whole pass, or one stage of a staged training pass (see
    /// `driver`).
    fn forward_chunk(
        model: Model<'_>,
        chunk: &mut Chunk,
        x: &[f32],
        pass: &Pass<'_>,
        stats: &[f32],
        stage: Option<usize>,
    );

    #[doc(hidden)]
    /// Backward pass of the chunk last run forward: reads `chunk.deltas[0]`, writes `chunk.grads` (and the input
    /// gradient into `chunk.dx` if `dx`).
    fn backward_chunk(
        model: Model<'_>,
        chunk: &mut Chunk,
        x: &[f32],
        dx: bool,
        pass: &Pass<'_>,
        stats: &[f32],
        stage: Option<usize>,
    );

    #[doc(hidden)]
    /// Turns the summed partials of whole-batch layer `stage` into its statistics (`backward`: the gradient's).
    fn finish_stats(
        _stage: usize,
        _backward: bool,
        _sums: &[f64],
        _pass: &Pass<'_>,
        _stats: &mut [f32],
        _buffers: &mut [f32],
    ) -> std::result::Result<(), crate::layers::BatchTooSmall> {
        Ok(())
    }

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

    /// The gradient computed by the last [`Network::loss_and_grad`] or [`Network::backward`].
    fn grads(&self) -> &[f32] {
        self.parts().grads
    }

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
    /// (PyTorch refuses too): call [`Network::eval`] for inference; on a sequence of no steps.
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
    /// If `xs` and `ys` differ in length, or on the other errors of [`Network::try_forward_batch`].
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
    /// As [`Network::try_forward_batch`], and [`Error::LengthMismatch`] if `initial` or `finals` does not have
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
        run_mut(self, xs, initial, Backprop::No, false, &|_: &mut Chunk, _: &[f32], _: &Pass<'_>| Ok(0.0), &mut collect)
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
    /// As [`Network::forward_batch`].
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

    /// Backpropagates given output gradients: returns the gradient of `Σᵢ ⟨d_outputs[i], f(xs[i])⟩` with respect
    /// to every parameter (summed over the batch, laid out like [`Network::params`]) and, if `d_inputs` is given,
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
        run_mut(self, xs, None, backprop, true, &seed_gradient, &mut collect)?;
        Ok(self.grads())
    }

    /// Mean loss over the batch, and its gradient, kept for [`Network::grads`] and the next optimizer step.
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

    /// Mean loss over the batch without computing gradients.
    ///
    /// # Errors
    /// As [`Network::loss_and_grad`].
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
    /// As [`Network::loss_and_grad`], and [`Error::LengthMismatch`] for states of the wrong number.
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
        let correct = or_panic(run_mut(self, xs, None, Backprop::No, false, &hits, &mut |_, _| {}));
        (correct / xs.len() as f64) as f32
    }

    /// One training step: forward, loss, backward and an optimizer update. Returns the batch's mean loss.
    ///
    /// # Panics
    /// On the errors [`Network::try_train_step`] returns (length mismatch, empty batch, label out of range).
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

    /// [`Network::train_step`], returning bad input as an error. The parameters are unchanged on error.
    ///
    /// # Errors
    /// As [`Network::loss_and_grad`].
    fn try_train_step<L: Loss<Self::Output>, O: Optimizer>(
        &mut self,
        xs: &[Self::Input],
        targets: &[L::Target],
        loss: &L,
        optimizer: &mut O,
    ) -> Result<f32> {
        let value = self.loss_and_grad(xs, targets, loss)?;
        let parts = self.parts_mut();
        optimizer.step(parts.params, parts.grads);
        Ok(value)
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
}

/// The value of `result`, or a panic with its message at the caller's line.
#[track_caller]
fn or_panic<T>(result: Result<T>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

fn check_len(inputs: usize, other: usize, what: &'static str) -> Result<()> {
    if inputs == other {
        Ok(())
    } else {
        Err(Error::LengthMismatch { inputs, other, what })
    }
}

/// The outputs of the chunk `x` last run forward into activations `acts`: `samples × steps` rows for a
/// sequence output.
pub(super) fn output<'c, N: Network>(acts: &'c [Vec<f32>], x: &'c [f32], p: &Pass<'_>) -> &'c [f32] {
    let rows = if N::PLAN.sequence_output { p.rows() } else { p.samples };
    buffer(x, acts, N::PLAN.output_buffer, rows * N::PLAN.output)
}

/// Calls `f(sample, its rows, its padded rows)` for each sample of the chunk, as ranges of output values: one row
/// per sample for a vector output, its valid steps (then the padding to the chunk's longest) for a sequence.
fn for_each_output_row<N: Network>(
    p: &Pass<'_>,
    mut f: impl FnMut(usize, std::ops::Range<usize>, std::ops::Range<usize>) -> Result<()>,
) -> Result<()> {
    let width = N::PLAN.output;
    for j in 0..p.samples {
        if N::PLAN.sequence_output {
            let start = j * p.steps * width;
            let len = p.lengths.get(j).copied().unwrap_or(p.steps);
            f(j, start..start + len * width, start + len * width..start + p.steps * width)?;
        } else {
            f(j, j * width..(j + 1) * width, 0..0)?;
        }
    }
    Ok(())
}

/// Copies the outputs of the chunk of `p` into their places in `ys`.
fn copy_output<N: Network>(chunk: &Chunk, xs: &[N::Input], p: &Pass<'_>, ys: &mut [N::Output]) {
    let c = p.first / CHUNK;
    let x = driver_input::<N>(chunk, xs, c, p);
    let out = output::<N>(&chunk.acts, x, p);
    let ys = &mut ys[p.first..p.first + p.samples];
    if let Some(flat) = <N::Output as Example>::flat_slice_mut(ys) {
        flat.copy_from_slice(out);
        return;
    }
    let result = for_each_output_row::<N>(p, |j, rows, _| {
        ys[j].assign(&out[rows]);
        Ok(())
    });
    debug_assert!(result.is_ok());
}

/// The chunk's flat input, as the output copy needs it only for the output buffer 0 (a network without layers).
fn driver_input<'a, N: Network>(chunk: &'a Chunk, xs: &'a [N::Input], c: usize, p: &Pass<'_>) -> &'a [f32] {
    let range = c * CHUNK..(c * CHUNK + p.samples).min(xs.len());
    <N::Input as Example>::flat_slice(&xs[range]).unwrap_or(&chunk.dx[..0])
}

/// Copies the chunk's input gradients into their places in `all` (a sequence's valid steps only).
fn copy_input_gradient<N: Network>(chunk: &Chunk, p: &Pass<'_>, all: &mut [N::Input]) {
    let width = N::PLAN.input;
    let all = &mut all[p.first..p.first + p.samples];
    if let Some(flat) = <N::Input as Example>::flat_slice_mut(all) {
        flat.copy_from_slice(&chunk.dx[..flat.len()]);
        return;
    }
    for (j, d) in all.iter_mut().enumerate() {
        let len = p.lengths.get(j).copied().unwrap_or(p.steps);
        let start = j * p.steps * width;
        d.assign(&chunk.dx[start..start + len * width]);
    }
}

/// Copies the chunk's final states into their places in `finals` (`N::PLAN.state()` values per sample).
pub(super) fn copy_states<N: Network>(chunk: &Chunk, p: &Pass<'_>, finals: &mut [f32]) {
    let total = N::PLAN.state();
    let mut offset = 0;
    for (buffer, &len) in chunk.states.iter().zip(N::PLAN.states) {
        for j in 0..p.samples {
            finals[(p.first + j) * total + offset..][..len].copy_from_slice(&buffer[j * len..(j + 1) * len]);
        }
        offset += len;
    }
}

/// One state per sample, if any are given.
fn check_states<N: Network>(samples: usize, initial: Option<&[N::State]>, finals: Option<&[N::State]>) -> Result<()> {
    if let Some(i) = initial {
        check_len(samples, i.len(), "initial states")?;
    }
    if let Some(f) = finals {
        check_len(samples, f.len(), "final-state slots")?;
    }
    Ok(())
}

/// A pass on `&mut self`: in the network's mode, on its own workspace, advancing the step counter in training
/// mode; the parameter gradient into the network's gradient if `gradient`.
fn run_mut<N: Network>(
    net: &mut N,
    xs: &[N::Input],
    initial: Option<&[f32]>,
    backprop: Backprop,
    gradient: bool,
    middle: &impl Middle,
    collect: &mut impl FnMut(&Chunk, &Pass<'_>),
) -> Result<f64> {
    let PartsMut { params, buffers, grads, run } = net.parts_mut();
    let Runner { mode, seed, step, parallelism, pool, ws } = run;
    let settings = Run {
        params,
        mode: *mode,
        seed: *seed,
        step: *step,
        parallelism: *parallelism,
        pool: pool.as_deref(),
        initial,
        backprop,
    };
    let grads = gradient.then_some(grads);
    let result = driver::run::<N>(&settings, Buffers::Exclusive(buffers), ws, xs, grads, middle, collect);
    if *mode == Mode::Train {
        // A counter that only keys dropout masks: wrapping after 2⁶⁴ passes is harmless, and a checkpoint may
        // restore any value.
        *step = step.wrapping_add(1);
    }
    result
}

/// A pass on `&self`, in eval mode, on the caller's workspace.
fn run_shared<N: Network>(
    net: &N,
    ws: &mut Workspace,
    xs: &[N::Input],
    middle: &impl Middle,
    collect: &mut impl FnMut(&Chunk, &Pass<'_>),
) -> Result<f64> {
    let Parts { params, buffers, run, .. } = net.parts();
    let settings = Run {
        params,
        mode: Mode::Eval,
        seed: run.seed,
        step: run.step,
        parallelism: run.parallelism,
        pool: run.pool.as_deref(),
        initial: None,
        backprop: Backprop::No,
    };
    driver::run::<N>(&settings, Buffers::Shared(buffers), ws, xs, None, middle, collect)
}

/// The mean loss of a batch, with (`backward`) or without its gradient: the sum of every sample's terms over
/// their count (a sequence output contributes one term per step).
fn batch_loss<N: Network, L: Loss<N::Output>>(
    net: &mut N,
    xs: &[N::Input],
    initial: Option<&[f32]>,
    targets: &[L::Target],
    loss: &L,
    backward: bool,
    finals: Option<&mut [f32]>,
) -> Result<f32> {
    check_len(xs.len(), targets.len(), "targets")?;
    if xs.is_empty() {
        return Err(Error::EmptyBatch);
    }
    let terms: usize = targets.iter().map(|t| loss.terms(t)).sum();
    let scale = 1.0 / terms.max(1) as f32;
    let per_chunk = |chunk: &mut Chunk, x: &[f32], p: &Pass<'_>| -> Result<f64> {
        let Chunk { acts, deltas, .. } = chunk;
        let grad_out = &mut deltas[0];
        let out = output::<N>(acts, x, p);
        let mut total = 0.0;
        for_each_output_row::<N>(p, |j, rows, padded| {
            let index = p.first + j;
            total +=
                f64::from(loss.sample_loss(&out[rows.clone()], &targets[index], index, scale, &mut grad_out[rows])?);
            grad_out[padded].fill(0.0);
            Ok(())
        })?;
        Ok(total)
    };
    let backprop = if backward { Backprop::Params } else { Backprop::No };
    let mut finals = finals;
    let mut collect = |chunk: &Chunk, p: &Pass<'_>| {
        if let Some(finals) = finals.as_deref_mut() {
            copy_states::<N>(chunk, p, finals);
        }
    };
    let total = run_mut(net, xs, initial, backprop, backward, &per_chunk, &mut collect)?;
    Ok(total as f32)
}
