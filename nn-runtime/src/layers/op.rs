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
    /// 2-D transposed convolution with square kernels (weight `[input channels, outputs, K, K]`).
    ConvTranspose2d {
        /// Input channels, height and width.
        input: [usize; 3],
        /// Output channels.
        outputs: usize,
        /// Kernel size.
        kernel: usize,
        /// Stride.
        stride: usize,
        /// Zero padding removed from each side of the output.
        padding: usize,
        /// Added to the bottom and right of the output.
        output_padding: usize,
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
    /// Nearest-neighbour upsampling by an integer factor.
    Upsample {
        /// The factor, along both axes.
        scale: usize,
    },
    /// The mean of each channel.
    GlobalAvgPool,
    /// The input seen as a flat vector.
    Flatten,
    /// The input, unchanged.
    Identity,
    /// Flat features seen as a `C×H×W` image.
    Unflatten {
        /// Channels, height and width.
        shape: [usize; 3],
    },
    /// An image as the sequence of its positions, each a step of its channels (`x.flatten(2).transpose(1, 2)`).
    ToSeq {
        /// Channels: values per step.
        channels: usize,
        /// Positions (height × width): steps.
        positions: usize,
    },
    /// An element-wise activation.
    Activation(Activation),
    /// Softmax over each row.
    Softmax,
    /// Log-softmax over each row.
    LogSoftmax,
    /// The reparameterisation trick of a VAE over `2·latent` values (μ, log σ²): `μ` in inference.
    GaussianSample {
        /// Latent values out.
        latent: usize,
    },
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
    /// A table of `vocab` vectors of `dim` values, looked up by token id.
    Embedding {
        /// Tokens.
        vocab: usize,
        /// Values per token.
        dim: usize,
    },
    /// Multi-head self-attention over a sequence, as PyTorch's `nn.MultiheadAttention` (batch first): tensors
    /// `in_proj_weight`, `in_proj_bias`, `out_proj.weight`, `out_proj.bias`.
    MultiheadAttention {
        /// Features per step.
        embed: usize,
        /// Heads (each `embed / heads` wide).
        heads: usize,
        /// Whether a step attends to itself and earlier steps only.
        causal: bool,
        /// Whether it has the two biases.
        bias: bool,
        /// Dropout of the attention weights while training.
        dropout: f32,
    },
    /// Learned positions added to a sequence's steps (`weight` `[max_len, dim]`).
    PositionalEmbedding {
        /// Positions in the table.
        max_len: usize,
        /// Values per step.
        dim: usize,
    },
    /// Fixed sinusoidal positions added to a sequence's steps.
    PositionalEncoding {
        /// Positions a sequence may have.
        max_len: usize,
        /// Values per step.
        dim: usize,
    },
    /// Layer normalisation over groups of `features` values.
    LayerNorm {
        /// Values per group (the normalised axis).
        features: usize,
        /// Added to the variance.
        eps: f32,
        /// Whether it scales (`weight`).
        affine: bool,
        /// Whether it shifts (`bias`).
        bias: bool,
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
        /// Its cell.
        cell: CellKind,
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
    /// A reduction over time.
    Reduce(Reduction),
}

/// An element-wise activation and its settings, as PyTorch names them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `max(x, 0)`.
    ReLU,
    /// `x`, or `slope·x` below 0.
    LeakyReLU {
        /// PyTorch's `negative_slope`.
        slope: f32,
    },
    /// `x`, or `α(eˣ − 1)` below 0.
    ELU {
        /// α.
        alpha: f32,
    },
    /// The logistic function.
    Sigmoid,
    /// The hyperbolic tangent.
    Tanh,
    /// `x·Φ(x)`, exactly or with PyTorch's tanh approximation.
    GELU {
        /// Whether it is the tanh approximation.
        tanh: bool,
    },
    /// `x·σ(x)`.
    SiLU,
    /// `ln(1 + e^(βx))/β`, the identity above `threshold`.
    Softplus {
        /// β.
        beta: f32,
        /// Where it becomes the identity (in `βx`).
        threshold: f32,
    },
    /// `x` clamped to `[min, max]`.
    Hardtanh {
        /// The lower bound.
        min: f32,
        /// The upper bound.
        max: f32,
    },
    /// `x·tanh(softplus(x))`.
    Mish,
}

/// The cell of a recurrent layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellKind {
    /// An Elman RNN with `tanh`.
    RnnTanh,
    /// An Elman RNN with ReLU.
    RnnRelu,
    /// A long short-term memory.
    Lstm,
    /// A gated recurrent unit.
    Gru,
}

/// A reduction of a sequence to one vector per sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// The last step.
    Last,
    /// The recurrent layer's final hidden state.
    FinalState,
    /// The mean over the steps.
    MeanOverTime,
    /// The maximum over the steps.
    MaxOverTime,
}
