#![cfg_attr(not(feature = "std"), no_std)]
//! # nn — neural networks checked by the compiler
//!
//! Declare a network once with [`network!`]; the macro computes every tensor shape while it expands, reports any
//! mismatch as a compile error under the offending layer, and generates a plain struct with straight-line forward
//! and backward passes over fixed-size arrays.
//!
//! ```
//! use nn::prelude::*;
//!
//! network! {
//!     /// A small classifier for 8×8 digits.
//!     pub struct Digits {
//!         Input<64> -> fc1: Linear<64, 32> -> ReLU -> fc2: Linear<32, 10>
//!     }
//! }
//!
//! let mut net = Digits::new(42);
//! let logits: [f32; 10] = net.forward(&[0.5; 64]);
//! assert!(logits.iter().all(|v| v.is_finite()));
//!
//! let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() });
//! let loss = net.train_step(&[[0.5; 64]], &[3], &CrossEntropy, &mut sgd);
//! assert!(loss > 0.0);
//! ```
//!
//! # The grammar
//!
//! ```text
//! network! {
//!     #[attributes] /// doc comments
//!     VISIBILITY struct NAME {
//!         Input<FEATURES> | Input<CHANNELS, HEIGHT, WIDTH>
//!         -> [field_name:] Layer<POSITIONAL, ..., option = value, ...>
//!         -> ...
//!     }
//! }
//! ```
//!
//! <!-- layers -->
//! | layer | arguments | options (default) | shape |
//! |---|---|---|---|
//! | `Linear<IN, OUT>` | input and output features | `bias = true`, `init = pytorch` | `[IN] → [OUT]`; per step on a sequence |
//! | `Conv2d<IN_CHANNELS, OUT_CHANNELS, KERNEL>` | input channels, output channels, kernel size | `stride = 1`, `padding = 0`, `bias = true`, `init = pytorch` | `[C, H, W] → [C_OUT, (H+2P−K)/S+1, (W+2P−K)/S+1]` |
//! | `ConvTranspose2d<IN_CHANNELS, OUT_CHANNELS, KERNEL>` | input channels, output channels, kernel size | `stride = 1`, `padding = 0`, `output_padding = 0`, `bias = true`, `init = pytorch` | `[C, H, W] → [C_OUT, (H−1)·S−2P+K+OP, (W−1)·S−2P+K+OP]` (OP: `output_padding`, below S) |
//! | `MaxPool<KERNEL, STRIDE>` | window, stride (`STRIDE` = KERNEL) |  | `[C, H, W] → [C, (H−K)/S+1, (W−K)/S+1]` |
//! | `AvgPool<KERNEL, STRIDE>` | window, stride (`STRIDE` = KERNEL) |  | `[C, H, W] → [C, (H−K)/S+1, (W−K)/S+1]` |
//! | `GlobalAvgPool` |  |  | `[C, H, W] → [C]`: each channel's mean (PyTorch's `AdaptiveAvgPool2d(1)` + flatten) |
//! | `Upsample<SCALE>` | the factor |  | `[C, H, W] → [C, H·SCALE, W·SCALE]`, each pixel repeated (nearest) |
//! | `Flatten` |  |  | `[C, H, W] → [C·H·W]` (free: no copy) |
//! | `Unflatten<C, H, W>` | channels, height, width |  | `[C·H·W] → [C, H, W]` (free: no copy) |
//! | `ToSeq` |  |  | `[C, H, W] → [H·W, C]`: each position of an image a step of its C channels, row by row (as `x.flatten(2).transpose(1, 2)`) |
//! | `ReLU` |  |  | unchanged |
//! | `LeakyReLU<SLOPE>` | negative slope (`SLOPE` = 0.01) |  | unchanged |
//! | `ELU<ALPHA>` | α (`ALPHA` = 1.0) |  | unchanged |
//! | `Sigmoid` |  |  | unchanged |
//! | `Tanh` |  |  | unchanged |
//! | `GELU` | exact (with erf), or `approximate = "tanh"` as PyTorch | `approximate = none` | unchanged |
//! | `SiLU` | (also called Swish) |  | unchanged |
//! | `Softplus<BETA>` | β; the identity where `βx > threshold` (`BETA` = 1.0) | `threshold = 20.0` | unchanged |
//! | `Hardtanh<MIN, MAX>` | the bounds (`MIN` = -1.0, `MAX` = 1.0) |  | unchanged |
//! | `Mish` |  |  | unchanged |
//! | `Softmax` |  |  | unchanged (per row); last layer only |
//! | `LogSoftmax` |  |  | unchanged (per row); last layer only |
//! | `Dropout<P>` | drop probability, `0 ≤ P < 1` (`P` = 0.5) |  | unchanged |
//! | `GaussianSample<Z>` | latent size; reads μ and log σ² side by side | `beta = 1.0` | `[2Z] → [Z]`: μ + σ·ε in training (ε ~ N(0, I)), μ in eval; adds β·KL(N(μ, σ²) ‖ N(0, I)) to the loss |
//! | `BatchNorm<FEATURES>` | channels or features (checked if given) (`FEATURES` = the input's) | `eps = 0.00001`, `momentum = 0.1` | unchanged; per feature after `[N]` (PyTorch's `BatchNorm1d`), per channel after `[C, H, W]` (`BatchNorm2d`) |
//! | `LayerNorm<F>` | the size of the last axis (checked if given) (`F` = the input's) | `eps = 0.00001`, `elementwise_affine = true`, `bias = true` | unchanged; each vector, each step of a sequence, each row of an image normalised on its own |
//! | `Embedding<VOCAB, DIM>` | tokens, values per token | `padding_idx = none` | token ids (`Input<Tokens<V>>`, per step on `Input<Seq, Tokens<V>>`) → `[DIM]`; `padding_idx`'s row starts at zeros and gets no gradient |
//! | `PositionalEmbedding<MAX_LEN, E>` | positions, features per step |  | unchanged: step `t` gets row `t` of a learned `[MAX_LEN, E]` table added; longer sequences are refused |
//! | `PositionalEncoding<MAX_LEN>` | positions |  | unchanged: step `t` gets Vaswani's sinusoids `PE(t)` added (no parameters); longer sequences are refused |
//! | `MultiheadAttention<E, HEADS>` | features per step, heads (`E / HEADS` values each) | `causal = false`, `bias = true`, `dropout = 0.0` | `[T, E]` → `[T, E]`: each step a mix of the values of the steps it attends to (with `causal`, itself and earlier ones); padded steps are never attended to |
//! | `Maxout<IN, OUT, PIECES>` | input features, units, pieces per unit | `init = pytorch` | `[IN] → [OUT]`, each unit the max of `PIECES` affine pieces |
//! | `PReLU<SLOPES>` | 1 (shared) or one per channel / feature (`SLOPES` = 1) | `init = 0.25` | unchanged |
//! | `RNN<IN, HIDDEN>` | input features per step, hidden units | `layers = 1`, `bidirectional = false`, `bias = true`, `dropout = 0.0`, `init = pytorch`, `nonlinearity = tanh` | `[T, IN] → [T, HIDDEN·D]` (D = 2 if bidirectional); `init` is `pytorch` or `orthogonal`, `nonlinearity` `tanh` or `relu` |
//! | `LSTM<IN, HIDDEN>` | input features per step, hidden units | `layers = 1`, `bidirectional = false`, `bias = true`, `dropout = 0.0`, `init = pytorch` | `[T, IN] → [T, HIDDEN·D]` (D = 2 if bidirectional); `init` is `pytorch` or `orthogonal` |
//! | `GRU<IN, HIDDEN>` | input features per step, hidden units | `layers = 1`, `bidirectional = false`, `bias = true`, `dropout = 0.0`, `init = pytorch` | `[T, IN] → [T, HIDDEN·D]` (D = 2 if bidirectional); `init` is `pytorch` or `orthogonal` |
//! | `Last` |  |  | `[T, F] → [F]`: each sample's last step (PyTorch's `output[:, -1]`) |
//! | `FinalState` |  |  | `[T, H·D] → [H·D]`: the recurrent layer's final hidden state, directions concatenated (`h_n[-D:]`); after element-wise layers, their values there |
//! | `MeanOverTime` |  |  | `[T, F] → [F]`: the mean over each sample's steps |
//! | `MaxOverTime` |  |  | `[T, F] → [F]`: the maximum over each sample's steps |
//! | `Identity` |  |  | unchanged (a branch of `Concat` that passes the input through) |
//! <!-- /layers -->
//!
//! `init` is one of `pytorch` (the default: PyTorch's own initialisation of that layer), `xavier_uniform`,
//! `xavier_normal`, `he_uniform`, `he_normal`.
//!
//! Named layers (`conv1: Conv2d<...>`) become public fields of that name and prefix their tensors' names
//! (`conv1.weight`, `conv1.bias`); an unnamed layer at index `i` (counting from 0 after `Input`) becomes field
//! `layer{i}` and its tensors are named `{i}.weight`, as in a PyTorch `nn.Sequential`.
//!
//! # Deployment
//!
//! `#[weights = "file.safetensors"]` (a path relative to the crate's `Cargo.toml`) makes the macro read the file,
//! check every tensor's name, shape, element type and values against the declaration (each problem a compile
//! error under the attribute) and embed it; `pretrained()` builds the network from it without touching the disk.
//! Every network carries a compile-time cost model (`FORWARD_MACS`, `TRAIN_MACS`, `PARAM_BYTES`, the activation
//! and static memory), and `forward_static` runs one sample in a buffer of the caller's:
//!
//! ```
//! use nn::prelude::*;
//!
//! network! {
//!     #[weights = "models/lenet5.safetensors"]
//!     pub struct LeNet5 {
//!         Input<1, 28, 28>
//!         -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
//!         -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
//!         -> Flatten -> fc1: Linear<256, 120> -> ReLU -> fc2: Linear<120, 84> -> ReLU -> fc3: Linear<84, 10>
//!     }
//! }
//!
//! const _: () = assert!(LeNet5::FORWARD_MACS < 500_000); // a budget the compiler holds
//! let net = LeNet5::pretrained();
//! let mut buffer = vec![0.0; LeNet5::STATIC_FLOATS];
//! let buffer: &mut [f32; LeNet5::STATIC_FLOATS] = buffer.as_mut_slice().try_into().unwrap();
//! let logits = net.forward_static(&[[[0.0; 28]; 28]], buffer);
//! assert!(logits.iter().all(|v| v.is_finite()));
//! ```
//!
//! Features (all on by default): `std` (the [`Network`] trait, batches, threads, losses, optimizers), `io` (weight
//! files), `onnx` (`io::save_onnx`, ONNX export), `data` (data sets), `train` (the training loop). Without `std`
//! the crate is `#![no_std]` without `alloc`: `network!`, the layers and kernels, `forward_static`, the cost model
//! and `pretrained()` over weights that stay in statics (`examples/embedded` in the repository is such a crate).
//!
//! # What the macro generates
//!
//! A struct with one public field per layer (a small descriptor with typed views of that layer's parameters),
//! `pub params: Params` (every parameter in one contiguous buffer), `pub buffers: Params` (batch norm's running
//! statistics), an inherent `new(seed)`, and an implementation of [`Network`]: `Input`/`Output` array types,
//! `PARAMS`, `forward`, `forward_batch`, `backward`, `loss_and_grad`, `train_step`, the train/eval [`Mode`]
//! (`set_mode`, `train()`, `eval()`) and more. Its rustdoc lists every layer with its output shape and parameter
//! count.
//!
//! ```
//! use nn::prelude::*;
//!
//! network! {
//!     struct Regularized {
//!         Input<16> -> fc1: Linear<16, 32> -> bn: BatchNorm -> ReLU -> Dropout<0.5> -> fc2: Linear<32, 4>
//!     }
//! }
//!
//! let mut net = Regularized::new(0);
//! assert_eq!(net.mode(), Mode::Train);
//! let xs = [[0.1; 16], [0.2; 16], [0.3; 16]];
//! let mut adam = Adam::new(AdamConfig::default());
//! net.train_step(&xs, &[0, 1, 2], &CrossEntropy, &mut adam); // batch statistics, random masks
//! net.eval(); // running statistics, no dropout: deterministic
//! assert_eq!(net.forward(&xs[0]), net.forward(&xs[0]));
//! assert_eq!(net.bn.running_mean(&net.buffers).len(), 32);
//! ```
//!
//! # Networks made of networks
//!
//! [`Chain<A, B>`](Chain) runs `A` then `B` as one [`Network`]: an encoder and its decoder, a generator and its
//! discriminator. `A`'s output type must be `B`'s input type, or the chain does not compile. Its tensors take the
//! parts' struct names as prefixes (`encoder.fc.weight`), and its parts come out usable alone.
//!
//! ```
//! use nn::prelude::*;
//!
//! network! {
//!     pub struct Encoder { Input<6> -> fc: Linear<6, 2> -> Tanh }
//!     pub struct Decoder { Input<2> -> fc: Linear<2, 6> -> Sigmoid }
//! }
//!
//! let mut ae = nn::Chain::<Encoder, Decoder>::new(0);
//! let images = nn::data::Reconstruction::new(vec![[0.0, 1.0, 0.0, 1.0, 0.0, 1.0]; 8]); // targets: the inputs
//! let config = TrainConfig { epochs: 2, batch_size: 4, verbose: false, progress: false, ..Default::default() };
//! fit(&mut ae, &mut Adam::new(AdamConfig::default()), &Mse, &images, None, &config).unwrap();
//! assert_eq!(nn::Chain::<Encoder, Decoder>::TENSORS[2].name, "decoder.fc.weight");
//! let (mut encoder, _decoder) = ae.into_parts();
//! let code: [f32; 2] = encoder.forward(&images.inputs[0]);
//! # assert!(code.iter().all(|v| v.is_finite()));
//! ```
//!
//! # Dependency names
//!
//! The package is `nn-dsl` on crates.io and its library is `nn`: after `cargo add nn-dsl`, code says
//! `use nn::prelude::*`. Generated code names the runtime through this crate as the using crate's `Cargo.toml`
//! calls it (found when the macro expands, as serde's macros find serde): `::nn` by default, `::engine` after
//! `engine = { package = "nn-dsl", … }`. A crate that reaches it through a re-export instead of a dependency of
//! its own gives the path with `#[network(crate = "path")]` above each network:
//!
//! ```ignore
//! // In a crate that depends on `my_models`, which has `pub use nn as engine;`.
//! my_models::engine::network! {
//!     #[network(crate = "my_models::engine")]
//!     pub struct Tiny { Input<4> -> fc: Linear<4, 2> }
//! }
//! ```

// Code the macro generates inside this crate names it `::nn` too.
extern crate self as nn;

pub use nn_macros::network;
#[cfg(feature = "data")]
pub use nn_runtime::data;
#[cfg(feature = "io")]
pub use nn_runtime::io;
/// The runtime's SIMD kernels: not a stable API (see `nn_runtime::kernels`).
#[doc(hidden)]
pub use nn_runtime::kernels;
#[cfg(feature = "train")]
pub use nn_runtime::train;
pub use nn_runtime::{
    argmax, layers, predicted_class, view, view_mut, Example, LayerInfo, Mode, Rng, Sample, TensorInfo,
};
#[cfg(feature = "std")]
pub use nn_runtime::{
    loss, optim, regularize, Chain, Error, Feeds, Inference, Introspection, Network, Parallelism, Params, Parts,
    PartsMut, Result, Training, WeightProblem, Workspace, CHUNK,
};

/// What nearly every program that declares and trains networks names: `use nn::prelude::*;`.
///
/// It holds the macro; the traits whose methods programs call (`Network` and its extensions `Inference`, `Training`
/// and `Introspection`, `Loss`, `Optimizer`, `Sample`, `Example`); the
/// losses, optimizers and their configurations; and the data, training and weight-file entry points a training
/// program calls by name (`load_mnist`, `fit`, `evaluate`, `save_weights`, …) — names chosen to read as what
/// they do at the call site, and kept here because the examples and most programs use them all. Everything else
/// is in its module (`nn::data`, `nn::train`, `nn::io`, `nn::layers`, …). Each group is there when its feature
/// is (see the crate's features); without `std`, the prelude holds the macro, `Mode`, `Sample` and `Example`.
pub mod prelude {
    pub use crate::network;
    #[cfg(feature = "data")]
    pub use nn_runtime::data::{load_cifar10, load_digits, load_idx, load_mnist, Augment, Dataset, Loader};
    #[cfg(feature = "io")]
    pub use nn_runtime::io::{load_weights, save_weights};
    pub use nn_runtime::layers::Init;
    #[cfg(feature = "std")]
    pub use nn_runtime::loss::{
        BinaryCrossEntropy, BinaryCrossEntropyWithLogits, CategoricalCrossEntropy, CrossEntropy, Loss, Mse, Nll, Sum,
    };
    #[cfg(feature = "std")]
    pub use nn_runtime::optim::{
        Adam, AdamConfig, AdamW, AdamWConfig, Lbfgs, LbfgsConfig, Optimizer, RmsProp, RmsPropConfig, Sgd, SgdConfig,
    };
    #[cfg(feature = "std")]
    pub use nn_runtime::regularize::Regularization;
    #[cfg(feature = "train")]
    pub use nn_runtime::train::{evaluate, fit, EarlyStopping, Monitor, Schedule, TrainConfig};
    pub use nn_runtime::{Example, Mode, Sample};
    #[cfg(feature = "std")]
    pub use nn_runtime::{Inference, Introspection, Network, Parallelism, Training, Workspace};
}

/// Items the generated code names; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use nn_runtime::__private::*;
    pub use nn_runtime::{layers, LayerInfo, Mode, Rng, Sample, TensorInfo};
    #[cfg(feature = "std")]
    pub use nn_runtime::{Network, Params, Parts, PartsMut, Workspace};
}
