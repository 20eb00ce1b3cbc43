//! Stage 2: walk the network — its chain, and the chains inside its blocks — check every layer against the
//! shape arriving at it (through its kind's definition in `layers`) and every block against its chains' shapes,
//! and collect every mistake with its numbers and a fix, each under the offending tokens.
//!
//! A mistake never stops the walk: each kind computes its output as well as the errors allow (an invalid option
//! keeps the shape; a misspelt layer name is followed as the layer it most likely means), and a block whose
//! chains disagree still gives the shape it would have had, so the next mistake is reported in the same build.
//! The result is a tree of the network's elements ([`Node`]), complete or not: a complete one is lowered to the
//! graph the generators read (`graph`), an incomplete one gives the placeholder its fields.

mod blocks;
mod names;

use crate::args::Args;
use crate::ctxt::Ctxt;
use crate::layers::{self, Layer};
use crate::parse::{Element, Item, Network, Value};
use crate::shape::{Shape, MAX_VALUES};
use crate::suggest::did_you_mean;
use proc_macro2::Ident;
use quote::format_ident;
use syn::ext::IdentExt;

/// A network's elements as checked: the input shape and the tree of the chain, with every error found.
pub struct Tree {
    /// The input shape, or the one a wrong `Input` most likely means (`None` if no guess).
    pub input: Option<Shape>,
    pub chain: Vec<Node>,
    /// The output shape, as far as known.
    pub output: Shape,
}

/// One element of a chain, checked.
pub enum Node {
    Layer(LayerNode),
    Block(BlockNode),
}

/// A layer, checked.
pub struct LayerNode {
    /// Its field in the struct of the chain it stands in: the user's name, or `layer{index}`.
    pub field: Ident,
    /// Whether the user named it.
    pub named: bool,
    /// Whether the struct gets a field for it: named, or holding parameters or buffers.
    pub has_field: bool,
    /// The prefix of its tensor names: `fc1`, `layer2.conv1`, `blocks.0.attn`, or for an unnamed layer its index
    /// as in PyTorch's `nn.Sequential` (`3`, `layer2.1`).
    pub prefix: String,
    /// As declared, normalised.
    pub declaration: String,
    /// Its random stream: its place among all the network's layers, in order (copies of a `Repeat` included).
    pub stream: usize,
    /// The layer, if it checked.
    pub layer: Option<Box<dyn Layer>>,
    pub output: Shape,
    /// Its index in its chain, and where it was written (its name, else its kind), for messages about names.
    pub index: usize,
    pub span: proc_macro2::Span,
}

/// A block, checked.
pub struct BlockNode {
    /// The field holding it in the struct of the chain it stands in, and the struct type generated for it
    /// (named blocks only: unnamed ones add their fields to the enclosing struct).
    pub named: Option<(Ident, Ident)>,
    /// As declared: `Residual { … }`.
    pub declaration: String,
    pub kind: BlockNodeKind,
    pub output: Shape,
    /// Its index in its chain, and where it was written (its name, else its keyword).
    pub index: usize,
    pub span: proc_macro2::Span,
}

/// What a checked block holds.
pub enum BlockNodeKind {
    /// `body(x) + x`, or `body(x) + shortcut(x)`: the shortcut's chain, its field (`shortcut`) and struct type.
    Residual { body: Vec<Node>, shortcut: Option<(Ident, Ident, Vec<Node>)> },
    /// Every branch reads the input; their outputs are concatenated along channels or features.
    Concat { branches: Vec<Vec<Node>> },
    /// Copies of one chain, one after the other, each with its own weights.
    Repeat { copies: Vec<Vec<Node>> },
}

/// Names the generated code gives struct fields, or uses itself.
const RESERVED: &[(&str, &str)] =
    &[("params", "the network's parameter buffer"), ("buffers", "the network's running statistics")];

/// A network whose every shape is known and consistent, as a tree, or its errors combined with the tree as far
/// as it checked (for the placeholder).
pub type Checked = Result<Tree, Box<(syn::Error, Tree)>>;

/// Checks `net`: the tree of its elements, or every error combined and the tree as far as it is known.
pub fn check(net: &Network) -> Checked {
    let mut walk = Walk { cx: Ctxt::default(), streams: 0, complete: true, quiet: 0 };
    let (first, rest) = net.chain.elements.split_first().expect("the parser requires at least one element");
    let input = match first {
        Element::Layer(item) if item.kind == "Input" => check_input(item, &mut walk.cx),
        other => {
            walk.cx.push(other.error(format!(
                "a network must start with its input shape, e.g. `Input<784>` or `Input<1, 28, 28>`, but it starts \
                 with `{}`",
                other.declaration()
            )));
            None
        }
    };
    walk.complete &= input.is_some();
    let scope = Scope { prefix: String::new(), type_name: net.name.to_string(), top: true, branch: None };
    let (chain, output) = walk.chain(rest, input.clone().unwrap_or(Shape::Unknown), &scope);
    names::check(&chain, &mut walk.cx);
    check_totals(net, &chain, &mut walk.cx);
    if let Some(input) = &input {
        check_time_axes(net, input, &chain, &output, &mut walk.cx);
    }
    let guessed = || match first {
        Element::Layer(item) => guess_input(item),
        Element::Block(_) => None,
    };
    match walk.cx.into_error() {
        None if walk.complete => Ok(Tree { input, chain, output }),
        error => {
            let error = error.unwrap_or_else(|| syn::Error::new(net.chain.span, "the network is incomplete"));
            Err(Box::new((error, Tree { input: input.or_else(guessed), chain, output })))
        }
    }
}

/// Where a chain stands: the prefix of its tensor names and the name of the struct its fields go in.
pub(crate) struct Scope {
    /// `""` at the top, `layer2`, `blocks.1`, `layer2.shortcut`.
    prefix: String,
    /// The struct the chain's fields go in: the network's, or a named block's (`ResNet8Layer2`).
    type_name: String,
    /// Whether this is the network's own chain (whose last layer is the network's last).
    top: bool,
    /// In a branch of a `Concat`, its index: unnamed layers are numbered `{branch}.{index}`.
    branch: Option<usize>,
}

impl Scope {
    /// `name` inside this scope: `name`, or `prefix.name`.
    fn join(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.prefix)
        }
    }

    /// The scope of a named block `name` inside this one (its struct type `{type}{Name}`), or of an unnamed one
    /// (the same fields, another chain).
    fn inner(&self, name: Option<&str>) -> Scope {
        match name {
            Some(name) => Scope {
                prefix: self.join(name),
                type_name: self.type_name.clone() + &camel(name),
                top: false,
                branch: None,
            },
            None => Scope { prefix: self.prefix.clone(), type_name: self.type_name.clone(), top: false, branch: None },
        }
    }
}

/// `layer_2` → `Layer2`, for the names of generated struct types.
fn camel(name: &str) -> String {
    name.trim_start_matches("r#")
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
        })
        .collect()
}

/// The state of a walk over the network.
pub(crate) struct Walk {
    cx: Ctxt,
    /// Layers seen so far: the next layer's random stream.
    streams: usize,
    /// Whether every element so far checked without error.
    complete: bool,
    /// Above 0 while checking the later copies of a `Repeat`, whose errors are those of the first.
    quiet: usize,
}

impl Walk {
    /// Records an error (unless it repeats one of a `Repeat`'s first copy).
    fn error(&mut self, error: syn::Error) {
        self.complete = false;
        if self.quiet == 0 {
            self.cx.push(error);
        }
    }

    /// Checks the elements of a chain from `input`; returns their nodes and the chain's output.
    fn chain(&mut self, elements: &[Element], input: Shape, scope: &Scope) -> (Vec<Node>, Shape) {
        let mut shape = input;
        let mut nodes = Vec::new();
        let last = elements.len().saturating_sub(1);
        for (index, element) in elements.iter().enumerate() {
            let node = match element {
                Element::Layer(item) => self.layer(item, index, &shape, scope.top && index == last, scope),
                Element::Block(block) => Node::Block(self.block(block, index, &shape, scope)),
            };
            shape = match &node {
                Node::Layer(l) => l.output.clone(),
                Node::Block(b) => b.output.clone(),
            };
            nodes.push(node);
        }
        (nodes, shape)
    }

    /// Checks the layer `item` at `index` of its chain.
    fn layer(&mut self, item: &Item, index: usize, input: &Shape, is_last: bool, scope: &Scope) -> Node {
        let (field, own) = match (&item.name, scope.branch) {
            (Some(name), _) => (name.clone(), name.unraw().to_string()),
            (None, None) => (format_ident!("layer{index}"), index.to_string()),
            (None, Some(branch)) => (format_ident!("layer{branch}_{index}"), format!("{branch}.{index}")),
        };
        let stream = self.streams;
        self.streams += 1;
        let (output, layer) = if item.kind == "Input" {
            self.error(item.error(
                "`Input` may only appear once, at the start of the network; remove it here (layers take their \
                 input shape from the previous layer)",
            ));
            (input.clone(), None)
        } else {
            let mut errors = Vec::new();
            let (checked, ok) = check_item(item, input, is_last, &mut errors);
            for error in errors {
                self.error(error);
            }
            self.complete &= ok && checked.layer.is_some();
            (checked.output, checked.layer)
        };
        let has_field = item.name.is_some() || layer.as_ref().is_some_and(|l| l.params() > 0 || l.buffer_len() > 0);
        let span = item.name.as_ref().map_or(item.kind.span(), Ident::span);
        Node::Layer(LayerNode {
            index,
            span,
            named: item.name.is_some(),
            field,
            has_field,
            prefix: scope.join(&own),
            declaration: item.declaration(),
            stream,
            layer,
            output,
        })
    }
}

/// Checks one item against the shape arriving at it: what the kind gave, and whether it was free of errors
/// (pushed onto `cx`). An unknown name is reported, and followed as the kind it most likely means, so checking
/// goes on.
fn check_item(item: &Item, input: &Shape, is_last: bool, cx: &mut Vec<syn::Error>) -> (layers::Checked, bool) {
    let name = item.kind.to_string();
    if let (Shape::Tokens { vocab, .. }, false) = (input, name == "Embedding") {
        cx.push(item.error(format!(
            "`{}` reads numbers, but it gets token ids (below {vocab}); put an `Embedding<{vocab}, DIM>` first, to \
             turn each id into a vector of DIM values",
            item.declaration()
        )));
        return (layers::Checked::unknown(), false);
    }
    let Some(kind) = layers::find(&name) else {
        let names: Vec<&str> = layers::all().map(|k| k.name()).collect();
        let guess = did_you_mean(&name, &names);
        let hint = guess.map(|s| format!("did you mean `{s}`? ")).unwrap_or_default();
        cx.push(syn::Error::new(
            item.kind.span(),
            format!("unknown layer `{name}`; {hint}the layers are {}", names.join(", ")),
        ));
        // The shape (and, for the placeholder's field, the layer) the intended kind would give; its own errors are
        // not reported (the name is wrong).
        let checked = guess.and_then(layers::find).map_or_else(layers::Checked::unknown, |kind| {
            let mut args = Args::new(kind.name(), declared(kind), item, is_last);
            kind.check(&mut args, input)
        });
        return (checked, false);
    };
    let mut args = Args::new(kind.name(), declared(kind), item, is_last);
    let checked = kind.check(&mut args, input);
    let (errors, bound) = args.finish();
    let ok = errors.is_empty();
    for error in errors {
        cx.push(error);
    }
    // A misspelt option or an ill-typed value may be one the shape depends on (`strid = 2`): the output is not
    // trusted then, so no later layer is blamed for it; the layer, bound with the defaults, still types the
    // placeholder's field.
    let checked = if bound { checked } else { layers::Checked { output: Shape::Unknown, ..checked } };
    (checked, ok)
}

/// The slots of `kind`, from describing it.
pub fn declared(kind: &dyn layers::Kind) -> Vec<crate::args::Slot> {
    let mut args = Args::describe(kind.name());
    kind.check(&mut args, &Shape::Unknown);
    args.slots().to_vec()
}

/// `Input<N>`, `Input<C, H, W>`, `Input<Seq, F>`, `Input<Seq<T>, F>`, or token ids: `Input<Tokens<V>>`,
/// `Input<Seq, Tokens<V>>`, `Input<Seq<T>, Tokens<V>>`.
fn check_input(item: &Item, cx: &mut Ctxt) -> Option<Shape> {
    let mut dims = Vec::new();
    let mut steps = None;
    let mut tokens = None;
    for (position, arg) in item.args.iter().enumerate() {
        match (&arg.key, &arg.value) {
            (None, Value::Tokens(0)) => {
                cx.push(arg.error("`Tokens<0>` has no ids; a vocabulary has at least one token"));
                return None;
            }
            (None, Value::Tokens(v)) if position + 1 == item.args.len() && dims.is_empty() => {
                tokens = Some(usize::try_from(*v).unwrap_or(usize::MAX));
            }
            (None, Value::Tokens(_)) => {
                cx.push(arg.error(
                    "token ids are the whole sample or each step of a sequence: `Input<Tokens<VOCAB>>`, \
                     `Input<Seq, Tokens<VOCAB>>` or `Input<Seq<STEPS>, Tokens<VOCAB>>`",
                ));
                return None;
            }
            (None, Value::Int(0)) => {
                cx.push(
                    item.error(format!("`{}` has a zero size; every dimension must be at least 1", item.declaration())),
                );
                return None;
            }
            (None, Value::Int(v)) => dims.push(usize::try_from(*v).unwrap_or(usize::MAX)),
            (None, Value::Seq(t)) if position == 0 => {
                if *t == Some(0) {
                    cx.push(arg.error("`Seq<0>` has no steps; a sequence has at least one (`Seq` takes any length)"));
                    return None;
                }
                steps = Some(t.map(|t| usize::try_from(t).unwrap_or(usize::MAX)));
            }
            (None, Value::Seq(_)) => {
                cx.push(
                    arg.error("the time axis comes first: `Input<Seq, FEATURES>` or `Input<Seq<STEPS>, FEATURES>`"),
                );
                return None;
            }
            _ => {
                cx.push(arg.error(format!("`Input` takes sizes (positive integers), found `{}`", arg.text())));
                return None;
            }
        }
    }
    if let Some(vocab) = tokens {
        if vocab > MAX_VALUES {
            cx.push(item.error(format!("`{}`: a vocabulary of more than {MAX_VALUES} tokens", item.declaration())));
            return None;
        }
        return Some(Shape::Tokens { vocab, steps });
    }
    let shape = match (steps, &dims[..]) {
        (Some(steps), [len]) => Shape::sequence(steps, *len),
        (Some(_), _) => {
            cx.push(item.error(format!(
                "`{}`: a sequence input has one size after its time axis, the features per step: \
                 `Input<Seq, FEATURES>`",
                item.declaration()
            )));
            return None;
        }
        (None, [len]) => Shape::flat(*len),
        (None, [c, h, w]) => Shape::image(*c, *h, *w),
        (None, _) => {
            let lead = dims.len().saturating_sub(3);
            let hint = if lead > 0 && dims[..lead].iter().all(|&d| d == 1) {
                let shape: Vec<String> = dims[lead..].iter().map(ToString::to_string).collect();
                format!("; the batch size is not part of a sample's shape: did you mean `Input<{}>`?", shape.join(", "))
            } else {
                String::new()
            };
            cx.push(item.error(format!(
                "`{}` has {} dimensions; write `Input<FEATURES>` for vectors, `Input<CHANNELS, HEIGHT, WIDTH>` for \
                 images, or `Input<Seq, FEATURES>` for sequences{hint}",
                item.declaration(),
                dims.len()
            )));
            return None;
        }
    };
    shape.map_err(|message| cx.push(item.error(format!("`{}`: {message}", item.declaration())))).ok()
}

/// For the placeholder of a network whose `Input` is wrong: the shape it most likely means (`Input<1, 1, 28, 28>`
/// with a batch dimension means `Input<1, 28, 28>`), so the user's `forward` calls raise no follow-on error.
fn guess_input(item: &Item) -> Option<Shape> {
    let dims: Vec<usize> = item
        .args
        .iter()
        .map(|a| match (&a.key, &a.value) {
            (None, Value::Int(v)) => usize::try_from(*v).ok(),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let mut dims = &dims[..];
    while dims.len() > 3 && dims[0] == 1 {
        dims = &dims[1..];
    }
    match *dims {
        [len] => Shape::flat(len).ok(),
        [c, h, w] => Shape::image(c, h, w).ok(),
        _ => None,
    }
}

/// Whether names starting like `name` are the generated code's own (`__nn`, `__NN_LAYER_3`).
pub(crate) fn is_reserved_name(name: &str) -> bool {
    name.starts_with("__")
}

/// The network's parameters and buffers must fit the limit of one tensor too.
fn check_totals(net: &Network, chain: &[Node], cx: &mut Ctxt) {
    let (mut params, mut buffers) = (0usize, 0usize);
    for_each_layer(chain, &mut |l| {
        if let Some(layer) = &l.layer {
            params = params.saturating_add(layer.params());
            buffers = buffers.saturating_add(layer.buffer_len());
        }
    });
    for (what, total) in [("parameters", params), ("buffer values", buffers)] {
        if total > MAX_VALUES {
            let message = format!("`{}` has {total} {what}, more than `nn` allows ({MAX_VALUES})", net.name);
            cx.push(syn::Error::new(net.name.span(), message));
        }
    }
}

/// Calls `f` on every layer of `chain` and of the blocks in it, in order.
/// A time axis made inside the network (`ToSeq`'s) must end inside it, and cannot stand beside the input's own.
fn check_time_axes(net: &Network, input: &Shape, chain: &[Node], output: &Shape, cx: &mut Ctxt) {
    if input.is_sequence() {
        for_each_layer(chain, &mut |l| {
            if l.declaration == "ToSeq" {
                cx.push(syn::Error::new(
                    l.span,
                    "`ToSeq` makes a time axis of an image's positions, but this network's input is a sequence \
                     already, with its own time axis; `ToSeq` works in networks whose input is an image",
                ));
            }
        });
    } else if output.is_sequence() {
        cx.push(syn::Error::new(
            net.chain.span,
            format!(
                "`{}` ends with {}, made by `ToSeq` from an image; end it with a reduction over the steps \
                 (`MeanOverTime`, `MaxOverTime` or `Last`) so that each image gives one output",
                net.name,
                output.describe()
            ),
        ));
    }
}

pub fn for_each_layer<'a>(chain: &'a [Node], f: &mut dyn FnMut(&'a LayerNode)) {
    for node in chain {
        match node {
            Node::Layer(l) => f(l),
            Node::Block(b) => b.chains().for_each(|c| for_each_layer(c, f)),
        }
    }
}

impl BlockNode {
    /// The block's chains, in order: a residual's body then its shortcut, a concatenation's branches, a
    /// repetition's copies.
    pub fn chains(&self) -> Box<dyn Iterator<Item = &Vec<Node>> + '_> {
        match &self.kind {
            BlockNodeKind::Residual { body, shortcut } => {
                Box::new(std::iter::once(body).chain(shortcut.as_ref().map(|(_, _, c)| c)))
            }
            BlockNodeKind::Concat { branches } => Box::new(branches.iter()),
            BlockNodeKind::Repeat { copies } => Box::new(copies.iter()),
        }
    }
}
