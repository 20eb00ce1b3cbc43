//! Networks made of networks: [`Chain<A, B>`] runs `A` then `B` as one network.

mod tables;

use super::driver::load_states;
use super::{buffer, Chunk, LayerInfo, Model, Network, Parts, PartsMut, Pass, Plan, State, TensorInfo};
use crate::net::info::Part;
use crate::params::Params;
use crate::sample::Example;
use core::marker::PhantomData;
use tables::{Names, Source, Table};

/// Two networks run one after the other as one network: `A`'s output is `B`'s input. An encoder and its decoder,
/// a generator and its discriminator, a feature extractor and its head.
///
/// ```ignore
/// // Runs as `a_chain_trains_end_to_end_and_its_parts_run_alone` in the facade's tests/chain.rs.
/// use nn::prelude::*;
///
/// network! {
///     pub struct Encoder { Input<8> -> fc: Linear<8, 3> -> Tanh }
///     pub struct Decoder { Input<3> -> fc: Linear<3, 8> -> Sigmoid }
/// }
/// type Autoencoder = nn::Chain<Encoder, Decoder>;
///
/// let mut ae = Autoencoder::new(0);
/// let xs: Vec<[f32; 8]> = (0..64).map(|i| core::array::from_fn(|k| ((i + k) % 3) as f32 / 2.0)).collect();
/// let mut adam = Adam::new(AdamConfig { lr: 0.01, ..Default::default() });
/// for _ in 0..200 {
///     ae.train_step(&xs, &xs, &Mse, &mut adam); // the targets are the inputs
/// }
/// assert_eq!(Autoencoder::TENSORS[0].name, "encoder.fc.weight");
/// let (mut encoder, mut decoder) = ae.into_parts();
/// let code: [f32; 3] = encoder.forward(&xs[0]);
/// let reconstruction: [f32; 8] = decoder.forward(&code);
/// ```
///
/// A chain is a [`Network`] like any other: every method of [`Training`](super::Training),
/// [`Inference`](super::Inference) and [`Introspection`](super::Introspection), `fit`, `evaluate`, checkpoints and
/// weight files work on it, and chains nest (`Chain<Chain<A, B>, C>`). It holds `A`'s parameters then `B`'s in one
/// array, so one optimizer trains both, and passes run both parts chunk by chunk with the usual guarantees: the
/// same bits for every thread count, nothing allocated per step, batch norm in either part reducing over the whole
/// batch.
///
/// **Names.** Tensors and layers are named after the part they belong to, as a PyTorch module with fields named
/// after the two networks' types would name them: the part's struct name in snake case, a dot, then the part's own
/// name (`encoder.c1.weight`, `decoder.fc.bias` for a `Chain<Encoder, Decoder>`). When the two parts have the same
/// type, or one is itself a chain, the parts are numbered `0` and `1` as `torch.nn.Sequential` numbers its modules
/// (`0.encoder.fc.weight` in a `Chain<Chain<Encoder, Decoder>, Head>`).
///
/// **Types.** `A::Output` must be `B::Input`, the same sample type: a chain of parts whose shapes differ does not
/// compile, and the error names both types (`the output of the first network, [f32; 16], is not the input of the
/// second, [f32; 32]`).
///
/// **The parts alone.** [`Chain::first`] and [`Chain::second`] return copies of the parts with the chain's weights
/// (the encoder for codes, the decoder for generation), [`Chain::into_parts`] both, and [`Chain::from_parts`] puts
/// two trained networks together.
///
/// **Limits.** Recurrent layers in a chain's parts start every call from zero states: a chain carries no state from
/// one call to the next (its [`Network::State`] is empty). The parts may hold 512 tensors, 256 layers and 64 batch
/// norms together; a chain over more does not compile, with a message saying so.
pub struct Chain<A, B>
where
    A: Network,
    B: Network,
    A::Output: Feeds<B::Input>,
{
    params: Params,
    buffers: Params,
    state: State,
    parts: PhantomData<fn() -> (A, B)>,
}

/// `Self`, one network's output sample, is `Input`, the next network's input sample: what a [`Chain`] asks of its
/// parts.
#[diagnostic::on_unimplemented(
    message = "the output of the first network, `{Self}`, is not the input of the second, `{Input}`",
    label = "a chain's first network must output what its second network takes",
    note = "change the first network's last layer or the second's `Input<…>` so that the two shapes agree"
)]
pub trait Feeds<Input> {}

impl<T: Example> Feeds<T> for T {}

/// The seed of part `k` of a chain seeded with `seed`: distinct for each part, and for parts of nested chains.
fn part_seed(seed: u64, k: u64) -> u64 {
    crate::layers::dropout::mix(seed ^ (0xC4A1_0000 + k))
}

impl<A, B> Chain<A, B>
where
    A: Network,
    B: Network,
    A::Output: Feeds<B::Input>,
{
    /// Puts two networks together, copying their parameters and buffers; the chain takes `first`'s mode.
    pub fn from_parts(first: A, second: B) -> Self {
        let (a, b) = (first.parts(), second.parts());
        let mut params = Params::zeros(Self::PARAMS);
        params[..A::PARAMS].copy_from_slice(a.params);
        params[A::PARAMS..].copy_from_slice(b.params);
        let mut buffers = Params::zeros(Self::BUFFERS);
        buffers[..A::BUFFERS].copy_from_slice(a.buffers);
        buffers[A::BUFFERS..].copy_from_slice(b.buffers);
        let mut state = State::new::<Self>(a.run.seed);
        state.runner_mut().mode = a.run.mode;
        Self { params, buffers, state, parts: PhantomData }
    }

    /// A copy of the first network, with the chain's weights and mode.
    pub fn first(&self) -> A {
        self.part(0, ..A::PARAMS, ..A::BUFFERS)
    }

    /// A copy of the second network, with the chain's weights and mode.
    pub fn second(&self) -> B {
        self.part(1, A::PARAMS.., A::BUFFERS..)
    }

    /// Part `k` (a network `N`) with the chain's `params` and `buffers` in those ranges, and the chain's mode.
    fn part<N: Network>(
        &self,
        k: u64,
        params: impl core::slice::SliceIndex<[f32], Output = [f32]>,
        buffers: impl core::slice::SliceIndex<[f32], Output = [f32]>,
    ) -> N {
        let mut net = N::new(part_seed(self.state.runner().seed, k));
        let parts = net.parts_mut();
        parts.params.copy_from_slice(&self.params[params]);
        parts.buffers.copy_from_slice(&self.buffers[buffers]);
        parts.run.mode = self.state.runner().mode;
        net
    }

    /// Both networks, with the chain's weights and mode.
    pub fn into_parts(self) -> (A, B) {
        (self.first(), self.second())
    }

    /// Steps per sample of `B`'s input: `None` when they are the chain's own (the chain's input is the same
    /// sequence), one for a vector, the fixed length of a sequence made inside `A`.
    const SECOND_STEPS: Option<usize> = match (B::PLAN.sequence_input, <B::Input as Example>::FIXED_LEN) {
        (false, _) => Some(1),
        (true, Some(len)) => Some(len / if B::PLAN.input == 0 { 1 } else { B::PLAN.input }),
        (true, None) => None,
    };

    /// Whether the chain's output is a sequence of its input's steps (else one row per sample).
    const SEQUENCE_OUTPUT: bool = B::PLAN.sequence_output
        && match Self::SECOND_STEPS {
            None => true,
            Some(steps) => {
                A::PLAN.sequence_input
                    && matches!(<A::Input as Example>::FIXED_LEN, Some(len) if len == steps * A::PLAN.input)
            }
        };

    /// Values per row of the chain's output.
    const OUTPUT: usize = match (Self::SEQUENCE_OUTPUT, B::PLAN.sequence_output, Self::SECOND_STEPS) {
        (false, true, Some(steps)) => B::PLAN.output * steps,
        _ => B::PLAN.output,
    };

    /// The most steps a sample may have, and the layer that says so: the tighter of the parts' limits (the second
    /// part's counts only when its steps are the chain's).
    const MAX_STEPS: (usize, &'static str) = {
        let (a, b) = (A::PLAN.max_steps, if Self::SECOND_STEPS.is_none() { B::PLAN.max_steps } else { 0 });
        if b > 0 && (a == 0 || b < a) {
            (b, B::PLAN.max_steps_layer)
        } else {
            (a, A::PLAN.max_steps_layer)
        }
    };

    const PREFIXES: [&'static str; 2] = tables::prefixes(A::NAME, B::NAME);
    const TENSOR_NAMES: &'static Names<{ tables::TENSORS }> =
        &tables::names(Self::PREFIXES, Source::Tensors(A::TENSORS), Source::Tensors(B::TENSORS));
    const TENSOR_TABLE: &'static Table<TensorInfo, { tables::TENSORS }> =
        &tables::tensors(Self::TENSOR_NAMES, A::TENSORS, B::TENSORS, A::PARAMS);
    const BUFFER_NAMES: &'static Names<{ tables::TENSORS }> =
        &tables::names(Self::PREFIXES, Source::Tensors(A::BUFFER_TENSORS), Source::Tensors(B::BUFFER_TENSORS));
    const BUFFER_TABLE: &'static Table<TensorInfo, { tables::TENSORS }> =
        &tables::tensors(Self::BUFFER_NAMES, A::BUFFER_TENSORS, B::BUFFER_TENSORS, A::BUFFERS);
    const LAYER_NAMES: &'static Names<{ tables::LAYERS }> =
        &tables::names(Self::PREFIXES, Source::LayerNames(A::LAYERS), Source::LayerNames(B::LAYERS));
    const LAYER_PREFIXES: &'static Names<{ tables::LAYERS }> =
        &tables::names(Self::PREFIXES, Source::LayerPrefixes(A::LAYERS), Source::LayerPrefixes(B::LAYERS));
    const LAYER_TABLE: &'static Table<LayerInfo, { tables::LAYERS }> =
        &tables::layers(Self::LAYER_NAMES, Self::LAYER_PREFIXES, A::LAYERS, B::LAYERS);
    const STAGE_TABLE: &'static Table<super::Stage, { tables::STAGES }> =
        &tables::stages(&A::PLAN, &B::PLAN, A::BUFFERS);
    const CONCATS: &'static Table<usize, { tables::NODES }> = &tables::concat_parts(&A::PLAN, &B::PLAN);
    const NODE_TABLE: &'static Table<super::Node, { tables::NODES }> =
        &tables::nodes(Self::CONCATS, &A::PLAN, &B::PLAN, A::LAYERS.len());

    /// The input-gradient multiply-adds `B`'s first layer with parameters adds in a chain (alone, a network
    /// computes no gradient for its input).
    const SECOND_INPUT_GRADIENT_MACS: u64 = {
        let mut i = 0;
        let mut macs = 0;
        while i < B::LAYERS.len() {
            if B::LAYERS[i].params > 0 {
                macs = B::LAYERS[i].forward_macs;
                break;
            }
            i += 1;
        }
        macs
    };

    /// The parts' passes: `first`'s and `second`'s, each with its own seed for dropout and noise, the second's
    /// steps those of its input.
    fn part_passes<'p>(pass: &Pass<'p>) -> (Pass<'p>, Pass<'p>) {
        let first = Pass { seed: part_seed(pass.seed, 0), ..*pass };
        let (steps, lengths) = match Self::SECOND_STEPS {
            Some(steps) => (steps, &[][..]),
            None => (pass.steps, pass.lengths),
        };
        (first, Pass { seed: part_seed(pass.seed, 1), steps, lengths, ..*pass })
    }

    /// Which stage of each part chain stage `stage` runs: `(first's, second's)`, each `None` for none, else
    /// `Some(None)` for the whole part or `Some(Some(s))` for its stage `s`.
    #[allow(clippy::type_complexity)]
    fn stages(stage: Option<usize>) -> (Option<Option<usize>>, Option<Option<usize>>) {
        let before = A::PLAN.stages.len();
        match stage {
            None => (Some(None), Some(None)),
            Some(s) if s < before => (Some(Some(s)), None),
            Some(s) if s == before => (Some(Some(s)), Some(Some(0))),
            Some(s) => (None, Some(Some(s - before))),
        }
    }

    /// What each part runs with in chain stage `stage` of a pass: its share of the parameters, buffers and
    /// statistics, its own pass, and its stage.
    fn runs<'a, 'p>(model: Model<'a>, pass: &Pass<'p>, stats: &'a [f32], stage: Option<usize>) -> [PartRun<'a, 'p>; 2] {
        let (pa, pb) = Self::part_passes(pass);
        let (ma, mb) = split_model::<A>(model);
        let (sa, sb) = stats.split_at(A::PLAN.stats().min(stats.len()));
        let (first, second) = Self::stages(stage);
        [
            PartRun { model: ma, pass: pa, stats: sa, stage: first },
            PartRun { model: mb, pass: pb, stats: sb, stage: second },
        ]
    }

    /// Whether `second`'s stage is its last (or the whole part): the chain's output is ready after it.
    fn last(second: Option<usize>) -> bool {
        second.is_none_or(|s| s == B::PLAN.stages.len())
    }
}

/// What one part of a chain runs with in a stage of a pass (see `Chain::runs`).
struct PartRun<'a, 'p> {
    model: Model<'a>,
    pass: Pass<'p>,
    stats: &'a [f32],
    /// `None`: the part does not run in this stage; `Some(None)`: all of it; `Some(Some(s))`: its stage `s`.
    stage: Option<Option<usize>>,
}

/// Values of a part's output for a chunk of `pass`.
fn output_len(plan: &Plan, pass: &Pass<'_>) -> usize {
    let rows = if plan.sequence_output { pass.rows() } else { pass.samples };
    rows * plan.output
}

/// The output of a part's chunk run forward on `x` with `pass`.
fn part_output<'c>(plan: &Plan, chunk: &'c Chunk, x: &'c [f32], pass: &Pass<'_>) -> &'c [f32] {
    buffer(x, &chunk.acts, plan.output_buffer, output_len(plan, pass))
}

/// Copies a part's partial sums for the whole-batch layers to their place in the chain's chunk.
fn copy_partials(plan: &Plan, from: &Chunk, to: &mut [f64]) {
    let len = plan.partials();
    to[..len].copy_from_slice(&from.partials[..len]);
}

impl<A, B> Network for Chain<A, B>
where
    A: Network,
    B: Network,
    A::Output: Feeds<B::Input>,
{
    type Input = A::Input;
    type Output = B::Output;
    type State = [f32; 0];
    const NAME: &'static str = "";
    const PARAMS: usize = A::PARAMS + B::PARAMS;
    const BUFFERS: usize = A::BUFFERS + B::BUFFERS;
    const LAYERS: &'static [LayerInfo] = Self::LAYER_TABLE.slice();
    const TENSORS: &'static [TensorInfo] = Self::TENSOR_TABLE.slice();
    const BUFFER_TENSORS: &'static [TensorInfo] = Self::BUFFER_TABLE.slice();
    const INPUT_SHAPE: &'static [usize] = A::INPUT_SHAPE;
    const FORWARD_MACS: u64 = A::FORWARD_MACS + B::FORWARD_MACS;
    const TRAIN_MACS: u64 = A::TRAIN_MACS + B::TRAIN_MACS + Self::SECOND_INPUT_GRADIENT_MACS;
    const INFER_ACTIVATION_BYTES: usize = A::INFER_ACTIVATION_BYTES + B::INFER_ACTIVATION_BYTES;
    const TRAIN_ACTIVATION_BYTES: usize = A::TRAIN_ACTIVATION_BYTES + B::TRAIN_ACTIVATION_BYTES;
    const PLAN: Plan = Plan {
        input: A::PLAN.input,
        output: Self::OUTPUT,
        sequence_input: A::PLAN.sequence_input,
        sequence_output: Self::SEQUENCE_OUTPUT,
        activations: &[(Self::OUTPUT, Self::SEQUENCE_OUTPUT)],
        output_buffer: 1,
        sizes: &[],
        width: Self::OUTPUT,
        stages: Self::STAGE_TABLE.slice(),
        states: &[],
        slots: 1,
        tokens: A::PLAN.tokens,
        max_steps: Self::MAX_STEPS.0,
        max_steps_layer: Self::MAX_STEPS.1,
        nodes: Self::NODE_TABLE.slice(),
        parts: &[
            Part { plan: A::PLAN, params: A::PARAMS, steps: None },
            Part { plan: B::PLAN, params: B::PARAMS, steps: Self::SECOND_STEPS },
        ],
    };
    const LAYER_LOSS: bool = A::LAYER_LOSS || B::LAYER_LOSS;

    /// Parameters and buffers as `A::new` and `B::new` initialise them, each part from its own seed derived from
    /// `seed`.
    fn new(seed: u64) -> Self {
        let mut chain = Self::from_parts(A::new(part_seed(seed, 0)), B::new(part_seed(seed, 1)));
        chain.state.runner_mut().seed = seed;
        chain
    }

    fn op(layer: usize) -> crate::layers::Op {
        match layer.checked_sub(A::LAYERS.len()) {
            None => A::op(layer),
            Some(second) => B::op(second),
        }
    }

    fn parts(&self) -> Parts<'_> {
        Parts::new(&self.params, &self.buffers, &self.state)
    }

    fn parts_mut(&mut self) -> PartsMut<'_> {
        PartsMut::new(&mut self.params, &mut self.buffers, &mut self.state)
    }

    fn forward_chunk(
        model: Model<'_>,
        chunk: &mut Chunk,
        x: &[f32],
        pass: &Pass<'_>,
        stats: &[f32],
        stage: Option<usize>,
    ) {
        let [a, b] = Self::runs(model, pass, stats, stage);
        let Chunk { parts, acts, partials, .. } = chunk;
        let [ca, cb] = &mut parts[..] else { unreachable!("a chain's chunk holds one chunk per part") };
        if let Some(s) = a.stage {
            if s.is_none_or(|s| s == 0) {
                load_states(&A::PLAN, &mut ca.states, a.pass.samples, None);
            }
            A::forward_chunk(a.model, ca, x, &a.pass, a.stats, s);
            copy_partials(&A::PLAN, ca, partials);
        }
        if let Some(s) = b.stage {
            if s.is_none_or(|s| s == 0) {
                load_states(&B::PLAN, &mut cb.states, b.pass.samples, None);
            }
            let z = part_output(&A::PLAN, ca, x, &a.pass);
            B::forward_chunk(b.model, cb, z, &b.pass, b.stats, s);
            copy_partials(&B::PLAN, cb, &mut partials[A::PLAN.partials()..]);
            if Self::last(s) {
                let y = part_output(&B::PLAN, cb, z, &b.pass);
                acts[0][..y.len()].copy_from_slice(y);
            }
        }
    }

    /// A chain carries no state between calls ([`Chain`]'s limits): one step is a forward pass from zero states.
    fn forward_in_place(
        model: Model<'_>,
        chunk: &mut Chunk,
        x: &[f32],
        pass: &Pass<'_>,
        stats: &[f32],
        _state: &mut [f32],
    ) {
        Self::forward_chunk(model, chunk, x, pass, stats, None);
    }

    fn backward_chunk(
        model: Model<'_>,
        chunk: &mut Chunk,
        x: &[f32],
        dx: bool,
        pass: &Pass<'_>,
        stats: &[f32],
        stage: Option<usize>,
    ) {
        let [a, b] = Self::runs(model, pass, stats, stage);
        let Chunk { parts, deltas, grads, partials, dx: chain_dx, .. } = chunk;
        let [ca, cb] = &mut parts[..] else { unreachable!("a chain's chunk holds one chunk per part") };
        if let Some(s) = b.stage {
            let z = part_output(&A::PLAN, ca, x, &a.pass);
            if Self::last(s) {
                let len = output_len(&B::PLAN, &b.pass);
                cb.deltas[0][..len].copy_from_slice(&deltas[0][..len]);
            }
            B::backward_chunk(b.model, cb, z, true, &b.pass, b.stats, s);
            copy_partials(&B::PLAN, cb, &mut partials[A::PLAN.partials()..]);
            if pass.param_grads {
                grads[A::PARAMS..Self::PARAMS].copy_from_slice(&cb.grads[..B::PARAMS]);
            }
        }
        if let Some(s) = a.stage {
            if s.is_none_or(|s| s == A::PLAN.stages.len()) {
                // The gradient of `A`'s output is that of `B`'s input.
                let len = output_len(&A::PLAN, &a.pass);
                ca.deltas[0][..len].copy_from_slice(&cb.dx[..len]);
            }
            // `A` writes its parameter gradient into the first `A::PARAMS` values of the chain's, in place.
            core::mem::swap(grads, &mut ca.grads);
            A::backward_chunk(a.model, ca, x, dx, &a.pass, a.stats, s);
            core::mem::swap(grads, &mut ca.grads);
            copy_partials(&A::PLAN, ca, partials);
            if dx && s.is_none_or(|s| s == 0) {
                let len = a.pass.rows() * A::PLAN.input;
                chain_dx[..len].copy_from_slice(&ca.dx[..len]);
            }
        }
    }

    fn layer_loss(chunk: &Chunk, pass: &Pass<'_>) -> f64 {
        let (pa, pb) = Self::part_passes(pass);
        A::layer_loss(&chunk.parts[0], &pa) + B::layer_loss(&chunk.parts[1], &pb)
    }

    fn finish_stats(
        stage: usize,
        backward: bool,
        sums: &[f64],
        pass: &Pass<'_>,
        stats: &mut [f32],
        buffers: &mut [f32],
    ) -> Result<(), crate::layers::BatchTooSmall> {
        match stage.checked_sub(A::PLAN.stages.len()) {
            None => A::finish_stats(stage, backward, sums, pass, stats, buffers),
            Some(second) => B::finish_stats(second, backward, sums, pass, stats, buffers),
        }
    }
}

/// The parameters and buffers of a chain whose first part is `A`, split between its parts.
fn split_model<A: Network>(model: Model<'_>) -> (Model<'_>, Model<'_>) {
    let (pa, pb) = model.params.split_at(A::PARAMS);
    let (ba, bb) = model.buffers.split_at(A::BUFFERS.min(model.buffers.len()));
    (Model { params: pa, buffers: ba }, Model { params: pb, buffers: bb })
}

impl<A, B> Clone for Chain<A, B>
where
    A: Network,
    B: Network,
    A::Output: Feeds<B::Input>,
{
    fn clone(&self) -> Self {
        let (params, buffers, state) = (self.params.clone(), self.buffers.clone(), self.state.clone());
        Self { params, buffers, state, parts: PhantomData }
    }
}

impl<A, B> core::fmt::Debug for Chain<A, B>
where
    A: Network,
    B: Network,
    A::Output: Feeds<B::Input>,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Chain")
            .field("first", &core::any::type_name::<A>())
            .field("second", &core::any::type_name::<B>())
            .field("params", &self.params.len())
            .field("buffers", &self.buffers.len())
            .finish()
    }
}
