//! The `Network` trait that every `network!` struct implements.
//!
//! The generated code supplies only what depends on the architecture — the layer-by-layer forward and backward
//! passes over one chunk of samples, and the sizes of its buffers. Everything else (batching, losses, gradient
//! accumulation, optimizer steps) is written once here as provided methods.

use crate::driver::{self, Backprop};
use crate::layers::NormInfo;
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::pass::{Mode, Pass};
use crate::sample::{predicted_class, Sample};
use crate::workspace::{buffer, Parallelism, State, Workspace, CHUNK};
use crate::{Error, Result};

/// One layer of a network, as the macro computed it (for summaries and documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// Field name of the layer (`conv1`, or `layer3` for the unnamed fourth layer).
    pub name: &'static str,
    /// The layer as declared, e.g. `Conv2d<1, 6, 5>`.
    pub declaration: &'static str,
    /// Shape of one sample after this layer, e.g. `[6, 24, 24]`.
    pub output_shape: &'static [usize],
    /// Number of parameters the layer owns.
    pub params: usize,
}

/// One named parameter tensor inside the flat parameter buffer, in PyTorch's naming and layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// `state_dict`-style name, e.g. `conv1.weight` or `3.bias`.
    pub name: &'static str,
    /// Tensor shape, e.g. `[6, 1, 5, 5]`.
    pub shape: &'static [usize],
    /// Start of the tensor in [`Network::params`].
    pub offset: usize,
}

impl TensorInfo {
    /// Number of values in the tensor.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor holds no values (never true for tensors the macro emits).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A network declared with `network!`: typed samples in and out, one flat parameter buffer, and the passes the
/// training loop needs.
///
/// Every method that takes a batch processes it in chunks of [`CHUNK`] samples with buffers allocated when the
/// network was created, so after the first call (which may size an optimizer's state) nothing allocates.
pub trait Network: Sized + Send + Sync {
    /// One input sample, e.g. `[[[f32; 28]; 28]; 1]`.
    type Input: Sample;
    /// One output sample, e.g. `[f32; 10]`.
    type Output: Sample;
    /// Total number of parameters.
    const PARAMS: usize;
    /// The layers in order, with their output shapes and parameter counts.
    const LAYERS: &'static [LayerInfo];
    /// The parameter tensors in buffer order, with `state_dict` names.
    const TENSORS: &'static [TensorInfo];
    /// The buffer tensors — state that is saved with the weights but not trained, such as batch norm's
    /// `running_mean`, `running_var` and `num_batches_tracked` — in [`Network::buffers`] order.
    const BUFFER_TENSORS: &'static [TensorInfo] = &[];
    /// The shape of one input sample: `[features]` or `[channels, height, width]`.
    const INPUT_SHAPE: &'static [usize] = &[];
    /// The batch-norm layers, in order.
    const NORMS: &'static [NormInfo] = &[];

    #[doc(hidden)]
    /// Values per sample of each internal activation buffer.
    const ACTIVATIONS: &'static [usize];
    #[doc(hidden)]
    /// Largest per-sample scratch any layer needs.
    const SCRATCH: usize;
    #[doc(hidden)]
    /// Largest per-sample width of any layer's input or output.
    const WIDTH: usize;
    #[doc(hidden)]
    /// The buffer holding the network's output (0 if it is the input itself).
    const OUTPUT_BUFFER: usize;

    /// A network with parameters initialised from `seed` (each layer by its `init` scheme).
    fn new(seed: u64) -> Self;

    /// All parameters, as one contiguous slice in [`Network::TENSORS`] order.
    fn params(&self) -> &[f32];

    /// All parameters, mutably.
    fn params_mut(&mut self) -> &mut [f32];

    /// All buffer values (see [`Network::BUFFER_TENSORS`]); empty for networks without batch norm.
    fn buffers(&self) -> &[f32] {
        &[]
    }

    /// All buffer values, mutably.
    fn buffers_mut(&mut self) -> &mut [f32] {
        &mut []
    }

    #[doc(hidden)]
    fn state(&self) -> &State;

    #[doc(hidden)]
    fn state_mut(&mut self) -> &mut State;

    #[doc(hidden)]
    /// Forward pass of one chunk: `x` holds `n ≤ CHUNK` flat samples; outputs land in `ws`. `stage` is `None`
    /// for the whole pass, or one stage of a staged training pass (see `driver`).
    fn forward_chunk(&self, x: &[f32], ws: &mut Workspace, pass: &Pass<'_>, stage: Option<usize>);

    #[doc(hidden)]
    /// Backward pass of the chunk last run forward: reads `ws.grad_out`, writes `ws.grads`.
    fn backward_chunk(
        &self,
        x: &[f32],
        ws: &mut Workspace,
        dx: Option<&mut [f32]>,
        pass: &Pass<'_>,
        stage: Option<usize>,
    );

    /// The current mode: [`Mode::Train`] (the default for a new network) or [`Mode::Eval`].
    fn mode(&self) -> Mode {
        self.state().mode
    }

    /// Switches between training and evaluation behaviour of dropout and batch norm. Every method that runs the
    /// network follows the mode; switching is cheap.
    fn set_mode(&mut self, mode: Mode) {
        self.state_mut().mode = mode;
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
        (self.state().seed, self.state().step)
    }

    /// Sets the seed and pass counter that dropout masks are drawn from (a checkpoint restores them).
    fn set_random_state(&mut self, seed: u64, step: u64) {
        let state = self.state_mut();
        (state.seed, state.step) = (seed, step);
    }

    /// Spreads the chunks of each batch over a pool of threads (or not). Results are bit-identical for every
    /// setting; only the speed changes. The pool is built here, once.
    ///
    /// # Errors
    /// `Parallelism::Threads(0)`, or threads that cannot be started.
    fn set_parallelism(&mut self, parallelism: Parallelism) -> Result<()> {
        self.state_mut().set_parallelism::<Self>(parallelism)
    }

    /// The output for one sample. Allocates nothing.
    ///
    /// # Panics
    /// In [`Mode::Train`] through a batch-norm layer, whose statistics need more than one value per channel
    /// (PyTorch refuses too): call [`Network::eval`] for inference.
    fn forward(&mut self, x: &Self::Input) -> Self::Output {
        let mut y = Self::Output::zeroed();
        self.forward_batch(std::slice::from_ref(x), std::slice::from_mut(&mut y));
        y
    }

    /// Outputs for a batch, written into `ys`.
    ///
    /// # Panics
    /// If `xs` and `ys` differ in length, or on a batch of one sample in training mode through batch norm;
    /// [`Network::try_forward_batch`] returns the error instead.
    fn forward_batch(&mut self, xs: &[Self::Input], ys: &mut [Self::Output]) {
        self.try_forward_batch(xs, ys).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Outputs for a batch, or an error if `ys` does not have one slot per input.
    fn try_forward_batch(&mut self, xs: &[Self::Input], ys: &mut [Self::Output]) -> Result<()> {
        check_len(xs.len(), ys.len(), "output slots")?;
        let out = Self::Output::flat_mut(ys);
        driver::run(
            self,
            xs,
            |_, _, _, _| {},
            Backprop::No,
            &mut [],
            |ws, c| {
                let x = driver::chunk_input::<Self>(xs, c);
                let y = output(x, &ws.acts, Self::OUTPUT_BUFFER, Self::Input::LEN, Self::Output::LEN);
                let start = c * CHUNK * Self::Output::LEN;
                out[start..start + y.len()].copy_from_slice(y);
                Ok(())
            },
        )
    }

    /// Outputs for a batch, in a new vector.
    fn predict(&mut self, xs: &[Self::Input]) -> Vec<Self::Output> {
        let mut ys = vec![Self::Output::zeroed(); xs.len()];
        self.forward_batch(xs, &mut ys);
        ys
    }

    /// Backpropagates given output gradients: returns the gradient of `Σᵢ ⟨d_outputs[i], f(xs[i])⟩` with respect
    /// to every parameter (summed over the batch, laid out like [`Network::params`]) and, if `d_inputs` is given,
    /// writes the gradient with respect to each input.
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
        let mut grads = std::mem::take(&mut self.state_mut().grads);
        grads.resize(Self::PARAMS, 0.0);
        if xs.is_empty() {
            grads.fill(0.0);
        }
        let result = driver::run(
            self,
            xs,
            |_, ws, _, c| {
                let d = Self::Output::flat(&d_outputs[c * CHUNK..(c * CHUNK + CHUNK).min(xs.len())]);
                ws.grad_out[..d.len()].copy_from_slice(d);
            },
            backprop,
            &mut grads,
            |ws, c| {
                if let Some(all) = dx_all.as_deref_mut() {
                    let start = c * CHUNK * Self::Input::LEN;
                    let len = (all.len() - start).min(CHUNK * Self::Input::LEN);
                    all[start..start + len].copy_from_slice(&ws.dx[..len]);
                }
                Ok(())
            },
        );
        self.state_mut().grads = grads;
        result.map(|()| self.grads())
    }

    /// Mean loss over the batch, and its gradient, kept for [`Network::grads`] and the next optimizer step.
    fn loss_and_grad<L: Loss<Self::Output>>(
        &mut self,
        xs: &[Self::Input],
        targets: &[L::Target],
        loss: &L,
    ) -> Result<f32> {
        batch_loss(self, xs, targets, loss, true)
    }

    /// Mean loss over the batch without computing gradients.
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
    fn accuracy(&mut self, xs: &[Self::Input], labels: &[usize]) -> f32 {
        check_len(xs.len(), labels.len(), "labels").unwrap_or_else(|e| panic!("{e}"));
        if xs.is_empty() {
            return 0.0;
        }
        let mut correct = 0.0;
        let result = driver::run(
            self,
            xs,
            |_, ws, x, c| {
                let out = output(x, &ws.acts, Self::OUTPUT_BUFFER, Self::Input::LEN, Self::Output::LEN);
                let lc = &labels[c * CHUNK..];
                let hits =
                    out.chunks_exact(Self::Output::LEN).zip(lc).filter(|(y, &l)| predicted_class(y) == Some(l)).count();
                ws.total = hits as f64;
            },
            Backprop::No,
            &mut [],
            |ws, _| {
                correct += ws.total;
                Ok(())
            },
        );
        result.unwrap_or_else(|e| panic!("{e}"));
        (correct / xs.len() as f64) as f32
    }

    /// The gradient computed by the last [`Network::loss_and_grad`] or [`Network::backward`].
    fn grads(&self) -> &[f32] {
        &self.state().grads
    }

    /// One training step: forward, loss, backward and an optimizer update. Returns the batch's mean loss.
    ///
    /// # Panics
    /// On the errors [`Network::try_train_step`] returns (length mismatch, empty batch, label out of range).
    fn train_step<L: Loss<Self::Output>, O: Optimizer>(
        &mut self,
        xs: &[Self::Input],
        targets: &[L::Target],
        loss: &L,
        optimizer: &mut O,
    ) -> f32 {
        self.try_train_step(xs, targets, loss, optimizer).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Network::train_step`], returning bad input as an error. The parameters are unchanged on error.
    fn try_train_step<L: Loss<Self::Output>, O: Optimizer>(
        &mut self,
        xs: &[Self::Input],
        targets: &[L::Target],
        loss: &L,
        optimizer: &mut O,
    ) -> Result<f32> {
        let value = self.loss_and_grad(xs, targets, loss)?;
        let mut st = std::mem::take(self.state_mut());
        optimizer.step(self.params_mut(), &st.grads);
        std::mem::swap(self.state_mut(), &mut st);
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
        crate::summary::table(Self::LAYERS, Self::PARAMS)
    }
}

fn check_len(inputs: usize, other: usize, what: &'static str) -> Result<()> {
    if inputs == other {
        Ok(())
    } else {
        Err(Error::LengthMismatch { inputs, other, what })
    }
}

/// The outputs of the chunk `x` last run forward in `ws`.
fn output<'w>(x: &'w [f32], acts: &'w [Vec<f32>], k: usize, in_len: usize, out_len: usize) -> &'w [f32] {
    buffer(x, acts, k, x.len() / in_len * out_len)
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
    let mut grads = std::mem::take(&mut net.state_mut().grads);
    if backward {
        grads.resize(N::PARAMS, 0.0);
    }
    let mut total = 0.0f64;
    let result = driver::run(
        net,
        xs,
        |_, ws, x, c| {
            let out = output(x, &ws.acts, N::OUTPUT_BUFFER, N::Input::LEN, width);
            let tc = &targets[c * CHUNK..];
            ws.total = 0.0;
            for (i, ((y, t), g)) in out.chunks_exact(width).zip(tc).zip(ws.grad_out.chunks_exact_mut(width)).enumerate()
            {
                match loss.sample_loss(y, t, c * CHUNK + i, scale, g) {
                    Ok(v) => ws.total += f64::from(v),
                    Err(e) => {
                        ws.error = Some(e);
                        return;
                    }
                }
            }
        },
        if backward { Backprop::Params } else { Backprop::No },
        &mut grads,
        |ws, _| {
            total += ws.total;
            Ok(())
        },
    );
    net.state_mut().grads = grads;
    result.map(|()| total as f32)
}
