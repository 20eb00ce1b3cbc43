//! What the macro computed about a network, as constants: layers, tensors, and the sizes of its buffers.

use super::pass::Extent;
use crate::layers::Layer;

/// One layer of a network, as the macro computed it (for summaries and documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerInfo {
    /// How the layer's field is reached from the network: `conv1`, `layer3` for the unnamed fourth layer,
    /// `layer2.conv1` inside a named block, `blocks[1].attn` inside a copy of a `Repeat`. An unnamed layer
    /// without parameters or buffers has no field (see [`LayerInfo::field`]); this is the name it would have.
    pub name: &'static str,
    /// Whether the network has a field for the layer: it was named, or it holds parameters or buffers.
    pub field: bool,
    /// The prefix of its tensor names: `conv1`, `3`, `layer2.conv1`, `blocks.1.attn`.
    pub prefix: &'static str,
    /// How deep in blocks it stands (0: the network's own chain).
    pub depth: usize,
    /// The blocks that begin just before it, outermost first (`layer2: Residual { … }`), for summaries.
    pub blocks: &'static [&'static str],
    /// The layer as declared, e.g. `Conv2d<1, 6, 5>`.
    pub declaration: &'static str,
    /// Shape of one sample after this layer, e.g. `[6, 24, 24]`, or `[28, 128]` for a sequence of 28 steps of 128
    /// values; a time axis of any length shows as 0 (`[0, 128]`).
    pub output_shape: &'static [usize],
    /// Number of parameters the layer owns.
    pub params: usize,
    /// Multiply-adds of its forward pass per sample (per time step for sequences of any length), counted in the
    /// products of `Linear`, `Conv2d`, `Maxout` and the recurrent layers (0 for the others).
    pub forward_macs: u64,
    /// Multiply-adds of its part of a training step per sample: forward, weight gradient and (after the first
    /// layer with parameters) input gradient.
    pub train_macs: u64,
}

/// One named tensor inside the flat parameter (or buffer) array, in PyTorch's naming and layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// `state_dict`-style name, e.g. `conv1.weight` or `3.bias`.
    pub name: &'static str,
    /// Tensor shape, e.g. `[6, 1, 5, 5]`.
    pub shape: &'static [usize],
    /// Start of the tensor in the array.
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

/// The sizes the runtime needs to run a network's passes (generated; not for users).
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Values per row of the input (per sample, or per time step of a sequence).
    pub input: usize,
    /// Values per row of the output.
    pub output: usize,
    /// Whether the input is a sequence (one row per time step).
    pub sequence_input: bool,
    /// Whether the output is a sequence.
    pub sequence_output: bool,
    /// Each activation buffer (layer outputs; `Flatten` shares its input's): values per row, and whether it
    /// holds a sequence (a row per step) or one row per sample.
    pub activations: &'static [(usize, bool)],
    /// The buffer holding the network's output (0 if it is the input itself).
    pub output_buffer: usize,
    /// Per running layer: the rules of its scratch and saved space.
    pub sizes: &'static [Sizes],
    /// Largest width, per row, of any layer's input or output.
    pub width: usize,
    /// The layers whose training output depends on the whole batch, in order.
    pub stages: &'static [Stage],
    /// Per running layer: the values per sample of the state it carries between calls (0 but for recurrent
    /// layers).
    pub states: &'static [usize],
    /// Gradient slots a chunk's backward pass uses (each `rows × width` values).
    pub slots: usize,
    /// For a network over token ids (`Input<Tokens<V>>` and its sequences), the vocabulary `V`; else 0.
    pub tokens: usize,
    /// For a network over sequences with a table of positions or a key/value cache: the most steps a sample may
    /// have (0: any number).
    pub max_steps: usize,
    /// The layer that sets [`Plan::max_steps`], as messages name it (`pos: PositionalEmbedding<9, 4>`).
    pub max_steps_layer: &'static str,
    /// The network as a graph, for exporters: every layer and merge in execution order.
    pub nodes: &'static [Node],
    /// For a network made of networks ([`Chain`](crate::Chain)), each part's plan; its chunks hold one chunk of
    /// buffers per part. Empty for a network `network!` generated.
    pub parts: &'static [Part],
}

/// One network inside a network made of networks: its plan, its parameter count and the steps of its input
/// (generated; not for users).
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Part {
    /// The part's own plan.
    pub plan: Plan,
    /// Its parameters.
    pub params: usize,
    /// Steps per sample of its input when it is a sequence of fixed length not tied to the whole network's input
    /// (`None`: the whole network's rows per sample).
    pub steps: Option<usize>,
}

impl Part {
    /// The part's extent in a chunk of `extent` (the whole network's).
    pub fn extent(&self, extent: Extent) -> Extent {
        match self.steps {
            Some(steps) => Extent { steps, ..extent },
            None => extent,
        }
    }
}

/// One node of a network's graph as exporters see it: a layer (those that only reshape their input included)
/// or a merge of branches, in execution order. Node `i`'s output is numbered `i + 1`; 0 is the network's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    /// Layer `LAYERS[layer]` (and its operation `ops()[layer]`), reading the output numbered `input`.
    Layer {
        /// Its index among the network's layers.
        layer: usize,
        /// What it reads.
        input: usize,
    },
    /// The sum of two outputs (a residual block).
    Add {
        /// The block's body's output.
        a: usize,
        /// Its shortcut's output, or its input.
        b: usize,
    },
    /// Outputs side by side along channels (images) or features (vectors, sequences per step): a concatenation.
    Concat {
        /// The branches' outputs, in order.
        parts: &'static [usize],
    },
}

/// A layer whose statistics span the whole batch: where its numbers live (generated; not for users).
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Stage {
    /// The layer's field name (for error messages).
    pub name: &'static str,
    /// Start of its partial sums in a chunk's partials.
    pub partials: usize,
    /// Number of partial sums.
    pub partials_len: usize,
    /// Start of its statistics in a pass's statistics.
    pub stats: usize,
    /// Number of statistics.
    pub stats_len: usize,
    /// Start of its buffers in the network's buffer array.
    pub buffers: usize,
    /// Number of buffer values.
    pub buffers_len: usize,
    /// The fewest samples a training batch may hold for the layer's statistics.
    pub min_batch: usize,
}

impl Plan {
    /// Partial sums a chunk holds (the sum over the stages). `const`, for the tables of a [`Chain`](crate::Chain).
    pub const fn partials(&self) -> usize {
        self.stages_end(true)
    }

    /// Statistics a pass holds.
    pub const fn stats(&self) -> usize {
        self.stages_end(false)
    }

    /// The end of the stages' partial sums (`partials`) or statistics: the most any stage reaches.
    const fn stages_end(&self, partials: bool) -> usize {
        let mut most = 0;
        let mut i = 0;
        while i < self.stages.len() {
            let s = &self.stages[i];
            let end = if partials { s.partials + s.partials_len } else { s.stats + s.stats_len };
            if end > most {
                most = end;
            }
            i += 1;
        }
        most
    }

    /// Values per sample the network's recurrent layers carry from one call to the next (their states).
    pub fn state(&self) -> usize {
        self.states.iter().sum()
    }

    /// Scratch values for a chunk of `extent` (its steps those of the input): the largest need of any layer.
    pub fn scratch_for(&self, extent: Extent) -> usize {
        self.sizes.iter().map(|s| (s.scratch)(s.extent(extent))).max().unwrap_or(0)
    }
}

/// A running layer's buffer sizes, as rules in the extent of its input (generated; not for users).
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// [`Layer::scratch_len`] of the layer's type.
    pub scratch: fn(Extent) -> usize,
    /// [`Layer::saved_len`] of the layer's type.
    pub saved: fn(Extent) -> usize,
    /// What a row of the layer's input is.
    pub rows: Rows,
}

/// What a row of a layer's input is (generated; not for users).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// A sample.
    Sample,
    /// A time step of the network's input sequence.
    Step,
    /// One of the given number of steps per sample of a sequence made inside the network (`ToSeq`'s positions).
    Fixed(usize),
}

impl Sizes {
    /// The rules of layer type `L`, whose input's rows are `rows`.
    pub const fn of<L: Layer>(rows: Rows) -> Self {
        Self { scratch: L::scratch_len, saved: L::saved_len, rows }
    }

    /// The layer's extent in a chunk of `extent` (the network input's): its rows per sample.
    pub fn extent(&self, extent: Extent) -> Extent {
        match self.rows {
            Rows::Step => extent,
            Rows::Sample => Extent { steps: 1, ..extent },
            Rows::Fixed(steps) => Extent { steps, ..extent },
        }
    }
}
