//! Every layer kind the DSL knows, each defined once: its name, its typed arguments with defaults and checks,
//! its output-shape rule, its parameter and buffer tensors, its runtime type and constructor, and its row of the
//! documentation table. The checker, the code generator and the documentation read these definitions and
//! nothing else.
//!
//! To add a layer kind, implement [`Kind`] (and [`Layer`] for its checked form) in a file here and list it in
//! [`all`]; to add an element-wise activation, add one entry to [`activation::ALL`]. The runtime side is one
//! type implementing `nn_runtime::layers::Layer`.

mod activation;
mod attention;
mod conv;
mod conv_transpose;
mod dropout;
mod embedding;
mod gaussian;
mod layer_norm;
mod linear;
mod maxout;
mod norm;
mod pool;
mod positions;
mod prelu;
mod recurrent;
mod reduce;
mod resample;
mod reshape;

use crate::args::Args;
use crate::shape::{product, Origin, Shape};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

/// A layer kind of the DSL.
pub trait Kind: Sync {
    /// Its name in the DSL: `Linear`.
    fn name(&self) -> &'static str;

    /// Its row of the documentation table (the arguments and options come from the slots it asks for).
    fn doc(&self) -> Doc;

    /// Asks for its arguments (all of them, first, whatever the input), checks them against the input shape,
    /// and reports every problem through `args`. The output shape is as well known as the errors allow, so that
    /// checking goes on after a mistake.
    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked;
}

/// The documentation of a kind.
pub struct Doc {
    /// What its positional arguments are, in words.
    pub arguments: &'static str,
    /// Its shape rule.
    pub shape: &'static str,
}

/// What checking a layer gave: its output shape, and the layer if it is known well enough to generate code
/// (or, after an error, a typed field in the placeholder struct).
pub struct Checked {
    pub output: Shape,
    pub layer: Option<Box<dyn Layer>>,
}

impl Checked {
    /// Nothing known.
    pub fn unknown() -> Self {
        Self { output: Shape::Unknown, layer: None }
    }

    /// Only the output shape.
    pub fn output(output: Shape) -> Self {
        Self { output, layer: None }
    }

    /// A layer and its output.
    pub fn layer(output: Shape, layer: impl Layer + 'static) -> Self {
        Self { output, layer: Some(Box::new(layer)) }
    }
}

/// A named tensor of a layer: the suffix of its name (`weight`, `weight_ih_l0_reverse`) and its shape.
pub type Tensor = (String, Vec<usize>);

/// A checked layer, every size resolved.
pub trait Layer {
    /// Its parameter tensors, in buffer order.
    fn tensors(&self) -> Vec<Tensor> {
        Vec::new()
    }

    /// Its buffer tensors (saved with the weights, not trained), as PyTorch names them.
    fn buffers(&self) -> Vec<Tensor> {
        Vec::new()
    }

    /// Its runtime type, as a path under `nn::layers` with its sizes: `Linear<784, 10, true>`.
    fn runtime_type(&self) -> TokenStream;

    /// The expression building its runtime descriptor (its parameters at `at`).
    fn constructor(&self, at: &Placement) -> TokenStream;

    /// Whether its output is its input seen with another shape (`Flatten`): it emits no code and shares the
    /// input's buffer.
    fn aliases_input(&self) -> bool {
        false
    }

    /// Whether its training output depends on the whole batch, so the training pass has a stage boundary here.
    fn whole_batch(&self) -> bool {
        false
    }

    /// Values per sample of the state it carries from call to call (recurrent layers).
    fn state(&self) -> usize {
        0
    }

    /// Whether it adds a term of its own to the loss (a VAE's KL divergence), through the runtime's `Layer::loss`.
    fn adds_loss(&self) -> bool {
        false
    }

    /// Whether it can run one time step at a time with its state carried between calls, giving what it gives on
    /// the whole sequence (a bidirectional layer reads the future; a mean or maximum over time needs every step).
    fn streams(&self) -> bool {
        true
    }

    /// For a layer that counts positions in its state's first value (a table of positions, a key/value cache):
    /// the most positions it holds.
    fn position_limit(&self) -> Option<usize> {
        None
    }

    /// Its multiply-adds per row of its input (a sample, or one time step of a sequence).
    fn macs(&self) -> Macs {
        Macs::default()
    }

    /// Number of parameters.
    fn params(&self) -> usize {
        self.tensors().iter().map(|(_, s)| s.iter().product::<usize>()).sum()
    }

    /// Number of buffer values.
    fn buffer_len(&self) -> usize {
        self.buffers().iter().map(|(_, s)| s.iter().product::<usize>()).sum()
    }
}

/// The multiply-adds of a layer's products per row of its input. Element-wise work (activations, pooling, batch
/// norm, a recurrent cell's gate non-linearities) is not counted, as in the usual MAC counts.
#[derive(Clone, Copy, Default)]
pub struct Macs {
    /// Of the forward pass.
    pub forward: u64,
    /// Of the backward pass without the gradient with respect to the layer's input: the weight gradient (and
    /// what a recurrent layer backpropagates through time and between its stacked layers).
    pub backward: u64,
    /// Of the gradient with respect to its input, which the first layer of a training step skips.
    pub input_grad: u64,
}

impl Macs {
    /// A weight product of `inputs × outputs` per row: its gradients cost as much again each.
    pub fn product(inputs: usize, outputs: usize) -> Self {
        let n = (inputs * outputs) as u64;
        Self { forward: n, backward: n, input_grad: n }
    }
}

/// Where a layer's numbers live, for its constructor.
pub struct Placement {
    /// Start of its parameters in the network's parameter buffer.
    pub params: usize,
    /// Start of its buffers in the network's buffer array.
    pub buffers: usize,
    /// Its index in the network, which names its random stream.
    pub index: usize,
}

/// Every layer kind, in the order messages and documentation list them.
pub fn all() -> impl Iterator<Item = &'static dyn Kind> {
    const BEFORE: &[&dyn Kind] = &[
        &linear::Linear,
        &conv::Conv2d,
        &conv_transpose::ConvTranspose2d,
        &pool::MAX_POOL,
        &pool::AVG_POOL,
        &resample::GlobalAvgPool,
        &resample::Upsample,
        &reshape::Flatten,
        &reshape::Unflatten,
        &reshape::ToSeq,
    ];
    const AFTER: &[&dyn Kind] = &[
        &dropout::Dropout,
        &gaussian::GaussianSample,
        &norm::BatchNorm,
        &layer_norm::LayerNorm,
        &embedding::Embedding,
        &positions::PositionalEmbedding,
        &positions::PositionalEncoding,
        &attention::MultiheadAttention,
        &maxout::Maxout,
        &prelu::PReLU,
        &recurrent::RNN,
        &recurrent::LSTM,
        &recurrent::GRU,
        &reduce::LAST,
        &reduce::FINAL_STATE,
        &reduce::MEAN_OVER_TIME,
        &reduce::MAX_OVER_TIME,
        &reshape::Identity,
    ];
    BEFORE.iter().copied().chain(activation::ALL.iter().map(|a| a as &dyn Kind)).chain(AFTER.iter().copied())
}

/// The kind called `name`.
pub fn find(name: &str) -> Option<&'static dyn Kind> {
    all().find(|k| k.name() == name)
}

/// An unsuffixed integer literal, so generated types read `Linear<784, 10, true>`.
pub fn lit(value: usize) -> Literal {
    Literal::usize_unsuffixed(value)
}

/// An `f32` literal of a DSL number.
pub fn f32_lit(value: f64) -> Literal {
    Literal::f32_unsuffixed(value as f32)
}

/// The initialisation schemes `init = ...` accepts, and the runtime's variants.
const INITS: &[&str] = &["pytorch", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal"];
const INIT_VARIANTS: &[&str] = &["PyTorch", "XavierUniform", "XavierNormal", "HeUniform", "HeNormal"];

/// The `init = ...` option of a layer with weights: the runtime's `Init` expression.
pub fn init_option(args: &mut Args<'_>) -> TokenStream {
    let variant = quote::format_ident!("{}", INIT_VARIANTS[args.option_choice("init", INITS, 0)]);
    let rt = crate::krate::private();
    quote!(#rt::layers::Init::#variant)
}

/// The features arriving at a layer that takes `[IN]` (`Linear`, `Maxout`) — per step on a sequence: the declared
/// count if the input is unknown (after an earlier mistake: nothing to check it against, and the declaration
/// still types the layer), `None` if an image arrives (a `Flatten` is missing: reported). A different count is
/// reported, with the fix, and the count that arrives is returned, so checking goes on with it.
pub fn flat_features(args: &mut Args<'_>, input: &Shape, declared: usize) -> Option<usize> {
    let decl = args.declaration();
    match input {
        Shape::Unknown => Some(declared),
        Shape::Tokens { .. } => None,
        Shape::Image(_) => {
            args.error(format!(
                "`{decl}` needs a flat input, but the previous layer produces a {} tensor; insert `-> Flatten` \
                 before this layer (it then receives {} features)",
                input.describe(),
                input.len()
            ));
            None
        }
        Shape::Flat { len, .. } | Shape::Sequence { len, .. } => {
            if *len != declared {
                let per_step = if input.is_sequence() { " per step" } else { "" };
                let doubled = match input {
                    Shape::Sequence { from: Some((2, _)), .. }
                    | Shape::Flat { from: Some(Origin::Directions(2, _)), .. } => {
                        " (a bidirectional layer concatenates its two directions)"
                    }
                    _ => "",
                };
                args.error(format!(
                    "`{decl}` expects {declared} input features{per_step}, but the previous layer produces {}{doubled}; \
                     did you mean `{}`?",
                    match input {
                        Shape::Sequence { from: Some((2, hidden)), .. } => format!("2×{hidden} = {len}"),
                        _ => input.describe(),
                    },
                    decl.replacen(&format!("<{declared}"), &format!("<{len}"), 1)
                ));
            }
            Some(*len)
        }
    }
}

/// The `[C, H, W]` arriving at an image layer: `None` if unknown, or if a flat shape or a sequence arrives
/// (reported).
pub fn image_input(args: &mut Args<'_>, input: &Shape) -> Option<[usize; 3]> {
    match input {
        Shape::Image(d) => Some(*d),
        Shape::Unknown | Shape::Tokens { .. } => None,
        Shape::Flat { .. } => {
            args.error(format!(
                "`{}` needs a CHANNELS×HEIGHT×WIDTH input, but the previous layer produces {} features; image \
                 layers must come before `Flatten`",
                args.declaration(),
                input.describe()
            ));
            None
        }
        Shape::Sequence { .. } => {
            args.error(format!(
                "`{}` needs a CHANNELS×HEIGHT×WIDTH input, but the previous layer produces {}; image layers do not \
                 run on sequences (per-step layers such as `Linear` and activations do)",
                args.declaration(),
                input.describe()
            ));
            None
        }
    }
}

/// The `(steps, values per step)` arriving at a layer that needs a sequence (recurrent layers, reductions over
/// time): `None` if unknown, or if something else arrives (reported, with how to declare a sequence input).
pub fn sequence_input(args: &mut Args<'_>, input: &Shape) -> Option<(Option<usize>, usize)> {
    match input {
        Shape::Sequence { steps, len, .. } => Some((*steps, *len)),
        Shape::Unknown => None,
        _ => {
            args.error(format!(
                "`{}` needs a sequence, but the previous layer produces {}; declare the input as a sequence, \
                 `Input<Seq, FEATURES>` (any length) or `Input<Seq<STEPS>, FEATURES>`, and keep the layers before \
                 this one per step",
                args.declaration(),
                if let Shape::Image(_) = input {
                    format!("a {} image", input.describe())
                } else {
                    format!("{} features", input.describe())
                }
            ));
            None
        }
    }
}

/// `value`, or an error under the layer if the sizes of a tensor of `dims` exceed what `nn` allows.
pub fn sized<T>(args: &mut Args<'_>, dims: &[usize], value: impl FnOnce() -> T) -> Option<T> {
    match product(dims) {
        Ok(_) => Some(value()),
        Err(message) => {
            args.error(format!("`{}`: {message}", args.declaration()));
            None
        }
    }
}

/// `s` for plurals.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Parameter tensors `weight` then, if `bias`, `bias` of `out` values.
pub fn with_bias(weight: Vec<usize>, out: usize, bias: bool) -> Vec<Tensor> {
    let mut t = vec![("weight".into(), weight)];
    if bias {
        t.push(("bias".into(), vec![out]));
    }
    t
}

/// Emits the runtime type path of a layer: the facade's `__private::layers::` + the layer's type.
pub fn runtime_path(layer: &dyn Layer) -> TokenStream {
    let ty = layer.runtime_type();
    let rt = crate::krate::private();
    quote!(#rt::layers::#ty)
}
