//! What each layer computes, as data: its kind and settings, for exporters (ONNX) that rebuild a network outside
//! `nn`. Every runtime layer says what it is through [`Layer::op`](super::Layer::op).

/// A layer's kind and settings (its tensors are the network's `TENSORS` and `BUFFER_TENSORS`, in order).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// `y = W·x + b`, per step on a sequence.
    Linear {
        /// Input features.
        inputs: usize,
        /// Output features.
        outputs: usize,
        /// Whether it has a bias.
        bias: bool,
    },
    /// 2-D cross-correlation with square kernels.
    Conv2d {
        /// Input channels, height and width.
        input: [usize; 3],
        /// Output channels.
        outputs: usize,
        /// Kernel size.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Zero padding on each side.
        padding: usize,
        /// Whether it has a bias.
        bias: bool,
    },
    /// Max (`average: false`) or average pooling, without padding.
    Pool {
        /// Average rather than maximum.
        average: bool,
        /// Window size.
        kernel: usize,
        /// Stride.
        stride: usize,
    },
    /// The input seen as a flat vector.
    Flatten,
    /// The input, unchanged.
    Identity,
    /// Flat features seen as a `C×H×W` image.
    Unflatten {
        /// Channels, height and width.
        shape: [usize; 3],
    },
    /// An element-wise activation: its DSL name (`ReLU`, `LeakyReLU`, …) and its settings in declaration order.
    Activation {
        /// Its name, as in the DSL.
        name: &'static str,
        /// Its settings (`slope`, `alpha`, `beta` and `threshold`, …), zero-padded.
        settings: [f32; 2],
    },
    /// Softmax over each row.
    Softmax,
    /// Log-softmax over each row.
    LogSoftmax,
    /// Dropout with probability `p` (the identity in inference).
    Dropout {
        /// Probability of dropping a value.
        p: f32,
    },
    /// Batch normalisation of `channels` channels of `spatial` values each.
    BatchNorm {
        /// Channels.
        channels: usize,
        /// Values per channel and sample (1 for flat inputs).
        spatial: usize,
        /// Added to the variance.
        eps: f32,
        /// Running-statistics momentum.
        momentum: f32,
    },
    /// Parametric ReLU with `slopes` slopes over `values` values (channel blocks).
    PReLU {
        /// Values per sample.
        values: usize,
        /// Learned slopes.
        slopes: usize,
    },
    /// Maxout: `outputs` units, each the maximum of `pieces` affine pieces.
    Maxout {
        /// Input features.
        inputs: usize,
        /// Units.
        outputs: usize,
        /// Pieces per unit.
        pieces: usize,
    },
    /// A stack of recurrent layers.
    Recurrent {
        /// `RNN_TANH`, `RNN_RELU`, `LSTM` or `GRU`.
        cell: &'static str,
        /// Input features per step.
        inputs: usize,
        /// Hidden units.
        hidden: usize,
        /// Stacked layers.
        layers: usize,
        /// 1, or 2 for a bidirectional stack.
        directions: usize,
        /// Whether it has biases.
        bias: bool,
    },
    /// A reduction over time: `Last`, `FinalState`, `MeanOverTime` or `MaxOverTime`.
    Reduce {
        /// Its name, as in the DSL.
        name: &'static str,
    },
}
