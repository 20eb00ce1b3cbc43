//! The `Network` trait that every `network!` struct implements.
//!
//! The generated code supplies only what depends on the architecture — the layer-by-layer forward and backward
//! passes over one chunk of samples, and the sizes of its buffers. Everything else (batching, losses, gradient
//! accumulation, optimizer steps) is written once here as provided methods.

use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::sample::{argmax, Sample};
use crate::workspace::{buffer, State, Workspace, CHUNK};
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

    #[doc(hidden)]
    /// Values per sample of each internal activation buffer.
    const BUFFERS: &'static [usize];
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

    #[doc(hidden)]
    fn state(&self) -> &State;

    #[doc(hidden)]
    fn state_mut(&mut self) -> &mut State;

    #[doc(hidden)]
    /// Forward pass of one chunk: `x` holds `n ≤ CHUNK` flat samples; outputs land in `ws`.
    fn forward_chunk(&self, x: &[f32], ws: &mut Workspace);

    #[doc(hidden)]
    /// Backward pass of the chunk last run forward: reads `ws.grad_out`, adds into `ws.grads`.
    fn backward_chunk(&self, x: &[f32], ws: &mut Workspace, dx: Option<&mut [f32]>);

    /// The output for one sample. Allocates nothing.
    fn forward(&mut self, x: &Self::Input) -> Self::Output {
        let mut y = Self::Output::zeroed();
        self.forward_batch(std::slice::from_ref(x), std::slice::from_mut(&mut y));
        y
    }

    /// Outputs for a batch, written into `ys`.
    ///
    /// # Panics
    /// If `xs` and `ys` differ in length; [`Network::try_forward_batch`] returns the error instead.
    fn forward_batch(&mut self, xs: &[Self::Input], ys: &mut [Self::Output]) {
        self.try_forward_batch(xs, ys).unwrap_or_else(|e| panic!("{e}"));
    }

    /// Outputs for a batch, or an error if `ys` does not have one slot per input.
    fn try_forward_batch(&mut self, xs: &[Self::Input], ys: &mut [Self::Output]) -> Result<()> {
        check_len(xs.len(), ys.len(), "output slots")?;
        with_state(self, |net, st| {
            let ws = &mut st.workspace;
            for (xc, yc) in xs.chunks(CHUNK).zip(ys.chunks_mut(CHUNK)) {
                let x = Self::Input::flat(xc);
                net.forward_chunk(x, ws);
                let out = Self::Output::flat_mut(yc);
                out.copy_from_slice(buffer(x, &ws.acts, Self::OUTPUT_BUFFER, out.len()));
            }
        });
        Ok(())
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
        mut d_inputs: Option<&mut [Self::Input]>,
    ) -> Result<&[f32]> {
        check_len(xs.len(), d_outputs.len(), "output gradients")?;
        if let Some(d) = &d_inputs {
            check_len(xs.len(), d.len(), "input-gradient slots")?;
        }
        with_state(self, |net, st| {
            st.grads.fill(0.0);
            for (c, (xc, dc)) in xs.chunks(CHUNK).zip(d_outputs.chunks(CHUNK)).enumerate() {
                let x = Self::Input::flat(xc);
                let ws = &mut st.workspace;
                net.forward_chunk(x, ws);
                let d = Self::Output::flat(dc);
                ws.grad_out[..d.len()].copy_from_slice(d);
                let dx = d_inputs.as_deref_mut().map(|all| {
                    let start = c * CHUNK * Self::Input::LEN;
                    &mut Self::Input::flat_mut(all)[start..start + x.len()]
                });
                accumulate_chunk(net, x, ws, dx, &mut st.grads);
            }
        });
        Ok(self.grads())
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

    /// Fraction of samples whose largest output is at the labelled class (0 for an empty batch).
    ///
    /// # Panics
    /// If `xs` and `labels` differ in length.
    fn accuracy(&mut self, xs: &[Self::Input], labels: &[usize]) -> f32 {
        check_len(xs.len(), labels.len(), "labels").unwrap_or_else(|e| panic!("{e}"));
        if xs.is_empty() {
            return 0.0;
        }
        let correct: usize = with_state(self, |net, st| {
            let mut correct = 0;
            for (xc, lc) in xs.chunks(CHUNK).zip(labels.chunks(CHUNK)) {
                let x = Self::Input::flat(xc);
                net.forward_chunk(x, &mut st.workspace);
                let out = buffer(x, &st.workspace.acts, Self::OUTPUT_BUFFER, xc.len() * Self::Output::LEN);
                for (y, &label) in out.chunks_exact(Self::Output::LEN).zip(lc) {
                    correct += usize::from(argmax(y) == label);
                }
            }
            correct
        });
        correct as f32 / xs.len() as f32
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

/// Runs `f` with the network's state moved out, so that `f` can read the network (`&N`) while writing the
/// state. Moving a `State` moves a few pointers; nothing is allocated unless the state was lost to a panic.
fn with_state<N: Network, R>(net: &mut N, f: impl FnOnce(&N, &mut State) -> R) -> R {
    let mut st = std::mem::take(net.state_mut());
    st.ensure::<N>();
    let result = f(net, &mut st);
    *net.state_mut() = st;
    result
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
    with_state(net, |net, st| {
        if backward {
            st.grads.fill(0.0);
        }
        let mut total = 0.0f64;
        for (c, (xc, tc)) in xs.chunks(CHUNK).zip(targets.chunks(CHUNK)).enumerate() {
            let x = N::Input::flat(xc);
            let ws = &mut st.workspace;
            net.forward_chunk(x, ws);
            let out = buffer(x, &ws.acts, N::OUTPUT_BUFFER, xc.len() * width);
            let grads = ws.grad_out.chunks_exact_mut(width);
            for (i, ((y, t), g)) in out.chunks_exact(width).zip(tc).zip(grads).enumerate() {
                total += f64::from(loss.sample_loss(y, t, c * CHUNK + i, scale, g)?);
            }
            if backward {
                accumulate_chunk(net, x, ws, None, &mut st.grads);
            }
        }
        Ok(total as f32)
    })
}

/// Backward over one chunk into its own gradient buffer, then adds that into the batch gradient — in chunk
/// order, so the sum is the same however chunks are scheduled.
fn accumulate_chunk<N: Network>(net: &N, x: &[f32], ws: &mut Workspace, dx: Option<&mut [f32]>, total: &mut [f32]) {
    ws.grads.fill(0.0);
    net.backward_chunk(x, ws, dx);
    crate::kernels::add_assign(total, &ws.grads);
}
