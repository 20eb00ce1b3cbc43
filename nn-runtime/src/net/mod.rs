//! The `Network` trait that every `network!` struct implements, and the machinery that runs its passes.
//!
//! The generated code supplies only what depends on the architecture — the layer-by-layer forward and backward
//! passes over one chunk of samples, the sizes of its buffers, and the reductions of its whole-batch layers.
//! Everything else (batching, threads, losses, gradient sums, optimizer steps) is written once here.

mod driver;
mod info;
mod pass;
mod state;
mod summary;
mod workspace;

pub use driver::Model;
pub use info::{LayerInfo, Plan, Stage, TensorInfo};
pub use pass::{Mode, Pass};
pub use state::{Parts, PartsMut, Runner, State};
pub use workspace::{buffer, layer_io, Chunk, Parallelism, Workspace, CHUNK};

use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::sample::{predicted_class, Sample};
use crate::{Error, Result};
use driver::{Backprop, Buffers, Run};

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
    /// One input sample, e.g. `[[[f32; 28]; 28]; 1]`.
    type Input: Sample;
    /// One output sample, e.g. `[f32; 10]`.
    type Output: Sample;
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

    #[doc(hidden)]
    /// The sizes of the network's buffers and its whole-batch layers.
    const PLAN: Plan;

    /// A network with parameters initialised from `seed` (each layer by its `init` scheme).
    fn new(seed: u64) -> Self;

    /// The parameters, buffers and gradient, borrowed at once.
    fn parts(&self) -> Parts<'_>;

    /// The parameters, buffers and gradient, borrowed mutably at once.
    fn parts_mut(&mut self) -> PartsMut<'_>;

    #[doc(hidden)]
    /// Forward pass of one chunk (`x` holds its flat samples); outputs land in `chunk`. `stage` is `None` for
    /// the whole pass, or one stage of a staged training pass (see `driver`).
    fn forward_chunk(
        model: Model<'_>,
        chunk: &mut Chunk,
        x: &[f32],
        pass: &Pass<'_>,
        stats: &[f32],
        stage: Option<usize>,
    );

    #[doc(hidden)]
    /// Backward pass of the chunk last run forward: reads `chunk.grad_out`, writes `chunk.grads` (and the input
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
    ) -> Result<()> {
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

    /// The output for one sample, following the mode. Allocates nothing after the first call.
    ///
    /// # Panics
    /// In [`Mode::Train`] through a batch-norm layer, whose statistics need more than one value per channel
    /// (PyTorch refuses too): call [`Network::eval`] for inference.
    #[track_caller]
    fn forward(&mut self, x: &Self::Input) -> Self::Output {
        let mut y = Self::Output::zeroed();
        self.forward_batch(std::slice::from_ref(x), std::slice::from_mut(&mut y));
        y
    }

    /// The output for one sample in eval mode, on a shared network with the caller's workspace. Allocates
    /// nothing once `ws` has been used.
    fn forward_with(&self, ws: &mut Workspace, x: &Self::Input) -> Self::Output {
        let mut y = Self::Output::zeroed();
        let done = self.forward_batch_with(ws, std::slice::from_ref(x), std::slice::from_mut(&mut y));
        debug_assert!(done.is_ok(), "one slot per sample");
        y
    }

    /// Outputs for a batch, written into `ys`.
    ///
    /// # Panics
    /// If `xs` and `ys` differ in length, or on a batch of one sample in training mode through batch norm;
    /// [`Network::try_forward_batch`] returns the error instead.
    #[track_caller]
    fn forward_batch(&mut self, xs: &[Self::Input], ys: &mut [Self::Output]) {
        or_panic(self.try_forward_batch(xs, ys));
    }

    /// Outputs for a batch, or an error if `ys` does not have one slot per input (or a batch-norm layer in
    /// training mode gets one value per channel).
    ///
    /// # Errors
    /// [`Error::LengthMismatch`], [`Error::BatchTooSmall`].
    fn try_forward_batch(&mut self, xs: &[Self::Input], ys: &mut [Self::Output]) -> Result<()> {
        check_len(xs.len(), ys.len(), "output slots")?;
        let out = Self::Output::flat_mut(ys);
        run_mut(self, xs, Backprop::No, false, &|_, _, _| Ok(0.0), &mut |chunk, c| {
            copy_output::<Self>(chunk, xs, c, out)
        })
        .map(drop)
    }

    /// Outputs for a batch in eval mode, on a shared network with the caller's workspace.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if `ys` does not have one slot per input.
    fn forward_batch_with(&self, ws: &mut Workspace, xs: &[Self::Input], ys: &mut [Self::Output]) -> Result<()> {
        check_len(xs.len(), ys.len(), "output slots")?;
        let out = Self::Output::flat_mut(ys);
        run_shared(self, ws, xs, &|_, _, _| Ok(0.0), &mut |chunk, c| copy_output::<Self>(chunk, xs, c, out)).map(drop)
    }

    /// Outputs for a batch, in a new vector.
    #[track_caller]
    fn predict(&mut self, xs: &[Self::Input]) -> Vec<Self::Output> {
        let mut ys = vec![Self::Output::zeroed(); xs.len()];
        self.forward_batch(xs, &mut ys);
        ys
    }

    /// Outputs for a batch in eval mode, in a new vector, on a shared network with the caller's workspace.
    fn predict_with(&self, ws: &mut Workspace, xs: &[Self::Input]) -> Vec<Self::Output> {
        let mut ys = vec![Self::Output::zeroed(); xs.len()];
        let done = self.forward_batch_with(ws, xs, &mut ys);
        debug_assert!(done.is_ok(), "one slot per sample");
        ys
    }

    /// Backpropagates given output gradients: returns the gradient of `Σᵢ ⟨d_outputs[i], f(xs[i])⟩` with respect
    /// to every parameter (summed over the batch, laid out like [`Network::params`]) and, if `d_inputs` is given,
    /// writes the gradient with respect to each input.
    ///
    /// # Errors
    /// [`Error::LengthMismatch`] if the slices differ in length; [`Error::BatchTooSmall`].
    fn backward(
        &mut self,
        xs: &[Self::Input],
        d_outputs: &[Self::Output],
        d_inputs: Option<&mut [Self::Input]>,
    ) -> Result<&[f32]> {
        check_len(xs.len(), d_outputs.len(), "output gradients")?;
        if let Some(d) = &d_inputs {
            check_len(xs.len(), d.len(), "input-gradient slots")?;
        }
        let backprop = if d_inputs.is_some() { Backprop::ParamsAndInput } else { Backprop::Params };
        let mut dx_all = d_inputs.map(Self::Input::flat_mut);
        if xs.is_empty() {
            self.parts_mut().grads.fill(0.0);
        }
        let seed_gradient = |chunk: &mut Chunk, _: &[f32], c: usize| {
            let d = Self::Output::flat(&d_outputs[c * CHUNK..(c * CHUNK + CHUNK).min(xs.len())]);
            chunk.grad_out[..d.len()].copy_from_slice(d);
            Ok(0.0)
        };
        let mut collect = |chunk: &Chunk, c: usize| {
            if let Some(all) = dx_all.as_deref_mut() {
                let start = c * CHUNK * Self::Input::LEN;
                let len = (all.len() - start).min(CHUNK * Self::Input::LEN);
                all[start..start + len].copy_from_slice(&chunk.dx[..len]);
            }
        };
        run_mut(self, xs, backprop, true, &seed_gradient, &mut collect)?;
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
        batch_loss(self, xs, targets, loss, true)
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
        batch_loss(self, xs, targets, loss, false)
    }

    /// Fraction of samples whose largest output is at the labelled class (0 for an empty batch). A sample whose
    /// output holds a NaN is a miss.
    ///
    /// # Panics
    /// If `xs` and `labels` differ in length, or on a batch of one sample in training mode through batch norm.
    #[track_caller]
    fn accuracy(&mut self, xs: &[Self::Input], labels: &[usize]) -> f32 {
        or_panic(check_len(xs.len(), labels.len(), "labels"));
        if xs.is_empty() {
            return 0.0;
        }
        let hits = |chunk: &mut Chunk, x: &[f32], c: usize| {
            let out = output::<Self>(chunk, x);
            let labels = &labels[c * CHUNK..];
            Ok(out.chunks_exact(Self::Output::LEN).zip(labels).filter(|(y, &l)| predicted_class(y) == Some(l)).count()
                as f64)
        };
        let correct = or_panic(run_mut(self, xs, Backprop::No, false, &hits, &mut |_, _| {}));
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

    /// A table of the layers with output shapes and parameter counts.
    fn summary() -> String {
        summary::table(Self::LAYERS, Self::PARAMS)
    }
}

/// The type of a field of a network whose declaration has errors (generated code; not for users): its views
/// take any type, so code using the field raises no error beyond the declaration's own.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Unchecked;

impl Unchecked {
    /// Never called: the network does not compile.
    pub fn weight<T>(&self, _: &[f32]) -> T {
        unreachable!("a network with errors does not compile")
    }

    /// Never called: the network does not compile.
    pub fn weight_mut<T>(&self, _: &mut [f32]) -> T {
        unreachable!("a network with errors does not compile")
    }

    /// Never called: the network does not compile.
    pub fn bias<T>(&self, _: &[f32]) -> T {
        unreachable!("a network with errors does not compile")
    }

    /// Never called: the network does not compile.
    pub fn bias_mut<T>(&self, _: &mut [f32]) -> T {
        unreachable!("a network with errors does not compile")
    }

    /// Never called: the network does not compile.
    pub fn running_mean<T>(&self, _: &[f32]) -> T {
        unreachable!("a network with errors does not compile")
    }

    /// Never called: the network does not compile.
    pub fn running_var<T>(&self, _: &[f32]) -> T {
        unreachable!("a network with errors does not compile")
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

/// The outputs of the chunk `x` last run forward in `chunk`.
fn output<'c, N: Network>(chunk: &'c Chunk, x: &'c [f32]) -> &'c [f32] {
    buffer(x, &chunk.acts, N::PLAN.output_buffer, x.len() / N::Input::LEN * N::Output::LEN)
}

/// Copies chunk `c`'s outputs into its place in `out`.
fn copy_output<N: Network>(chunk: &Chunk, xs: &[N::Input], c: usize, out: &mut [f32]) {
    let x = driver::chunk_input::<N>(xs, c);
    let y = output::<N>(chunk, x);
    let start = c * CHUNK * N::Output::LEN;
    out[start..start + y.len()].copy_from_slice(y);
}

/// A pass on `&mut self`: in the network's mode, on its own workspace, advancing the step counter in training
/// mode; the parameter gradient into the network's gradient if `gradient`.
fn run_mut<N: Network>(
    net: &mut N,
    xs: &[N::Input],
    backprop: Backprop,
    gradient: bool,
    middle: &(impl Fn(&mut Chunk, &[f32], usize) -> Result<f64> + Sync),
    collect: &mut impl FnMut(&Chunk, usize),
) -> Result<f64> {
    let PartsMut { params, buffers, grads, run } = net.parts_mut();
    let Runner { mode, seed, step, parallelism, pool, ws } = run;
    let settings =
        Run { params, mode: *mode, seed: *seed, step: *step, parallelism: *parallelism, pool: pool.as_deref() };
    let grads = gradient.then_some(grads);
    let result = driver::run::<N>(&settings, Buffers::Exclusive(buffers), ws, xs, backprop, grads, middle, collect);
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
    middle: &(impl Fn(&mut Chunk, &[f32], usize) -> Result<f64> + Sync),
    collect: &mut impl FnMut(&Chunk, usize),
) -> Result<f64> {
    let Parts { params, buffers, run, .. } = net.parts();
    let settings = Run {
        params,
        mode: Mode::Eval,
        seed: run.seed,
        step: run.step,
        parallelism: run.parallelism,
        pool: run.pool.as_deref(),
    };
    driver::run::<N>(&settings, Buffers::Shared(buffers), ws, xs, Backprop::No, None, middle, collect)
}

/// The mean loss of a batch, with (`backward`) or without its gradient.
fn batch_loss<N: Network, L: Loss<N::Output>>(
    net: &mut N,
    xs: &[N::Input],
    targets: &[L::Target],
    loss: &L,
    backward: bool,
) -> Result<f32> {
    check_len(xs.len(), targets.len(), "targets")?;
    if xs.is_empty() {
        return Err(Error::EmptyBatch);
    }
    let scale = 1.0 / xs.len() as f32;
    let width = N::Output::LEN;
    let per_chunk = |chunk: &mut Chunk, x: &[f32], c: usize| -> Result<f64> {
        let Chunk { acts, grad_out, .. } = chunk;
        let out = buffer(x, acts, N::PLAN.output_buffer, x.len() / N::Input::LEN * width);
        let targets = &targets[c * CHUNK..];
        let mut total = 0.0;
        for (i, ((y, t), g)) in out.chunks_exact(width).zip(targets).zip(grad_out.chunks_exact_mut(width)).enumerate() {
            total += f64::from(loss.sample_loss(y, t, c * CHUNK + i, scale, g)?);
        }
        Ok(total)
    };
    let backprop = if backward { Backprop::Params } else { Backprop::No };
    let total = run_mut(net, xs, backprop, backward, &per_chunk, &mut |_, _| {})?;
    Ok(total as f32)
}
