//! Stage 2: walk the chain, compute every layer's output shape, and collect every mistake with its numbers and
//! a fix, each under the offending layer's tokens.

use crate::catalog::{self, bind, Args, LAYER_NAMES};
use crate::ctxt::Ctxt;
use crate::parse::{Item, Network};
use crate::shape::Shape;
use crate::suggest::did_you_mean;
use proc_macro2::Ident;
use quote::format_ident;

/// A network whose every shape is known and consistent.
pub struct Checked {
    pub input: Shape,
    pub layers: Vec<Layer>,
}

impl Checked {
    /// Shape of the network's output.
    pub fn output(&self) -> &Shape {
        self.layers.last().map_or(&self.input, |l| &l.output)
    }
}

/// One checked layer.
pub struct Layer {
    /// Struct field name: the user's name or `layer{index}`.
    pub field: Ident,
    /// Prefix of the layer's tensor names: the user's name, or the index as in PyTorch's `nn.Sequential`.
    pub prefix: String,
    /// As declared, normalised.
    pub declaration: String,
    pub kind: Kind,
    pub input: Shape,
    pub output: Shape,
}

/// Named tensors of a layer with their shapes: `("weight", [out, in])`, ...
pub type Tensors = Vec<(&'static str, Vec<usize>)>;

/// A layer with every size resolved.
#[derive(Clone, Debug)]
pub enum Kind {
    Linear {
        i: usize,
        o: usize,
        bias: bool,
        init: &'static str,
    },
    Conv2d {
        c: usize,
        h: usize,
        w: usize,
        o: usize,
        k: usize,
        s: usize,
        p: usize,
        bias: bool,
        init: &'static str,
    },
    MaxPool {
        c: usize,
        h: usize,
        w: usize,
        k: usize,
        s: usize,
    },
    AvgPool {
        c: usize,
        h: usize,
        w: usize,
        k: usize,
        s: usize,
    },
    Flatten,
    ReLU,
    LeakyReLU(f64),
    Elu(f64),
    Sigmoid,
    Tanh,
    Softmax,
    Dropout {
        p: f64,
    },
    /// `c` channels of `s` values each.
    BatchNorm {
        c: usize,
        s: usize,
        eps: f64,
        momentum: f64,
    },
    Maxout {
        i: usize,
        o: usize,
        k: usize,
        init: &'static str,
    },
    PReLU {
        slopes: usize,
        init: f64,
    },
}

impl Kind {
    /// Named parameter tensors and their shapes.
    pub fn tensors(&self) -> Tensors {
        match *self {
            Kind::Linear { i, o, bias, .. } => with_bias(vec![o, i], o, bias),
            Kind::Conv2d { c, o, k, bias, .. } => with_bias(vec![o, c, k, k], o, bias),
            Kind::BatchNorm { c, .. } => with_bias(vec![c], c, true),
            Kind::Maxout { i, o, k, .. } => with_bias(vec![o * k, i], o * k, true),
            Kind::PReLU { slopes, .. } => vec![("weight", vec![slopes])],
            _ => vec![],
        }
    }

    /// Named buffer tensors (saved with the weights, not trained) and their shapes, as PyTorch names them.
    pub fn buffers(&self) -> Tensors {
        match *self {
            Kind::BatchNorm { c, .. } => {
                vec![("running_mean", vec![c]), ("running_var", vec![c]), ("num_batches_tracked", vec![])]
            }
            _ => vec![],
        }
    }

    /// Number of buffer values.
    pub fn buffer_len(&self) -> usize {
        self.buffers().iter().map(|(_, s)| s.iter().product::<usize>()).sum()
    }

    /// Number of parameters.
    pub fn params(&self) -> usize {
        self.tensors().iter().map(|(_, s)| s.iter().product::<usize>()).sum()
    }
}

fn with_bias(weight: Vec<usize>, o: usize, bias: bool) -> Tensors {
    let mut t = vec![("weight", weight)];
    if bias {
        t.push(("bias", vec![o]));
    }
    t
}

/// What survives a failed check, so the macro can still emit a placeholder with the right sample types.
pub struct Partial {
    pub input: Option<Shape>,
    pub output: Option<Shape>,
}

/// Checks `net`, returning the checked network or all errors.
pub fn check(net: &Network) -> Result<Checked, (syn::Error, Partial)> {
    let mut cx = Ctxt::default();
    let Some((first, rest)) = net.items.split_first() else {
        let error = syn::Error::new(net.body_span, "a network needs at least an input: `{ Input<784> -> ... }`");
        return Err((error, Partial { input: None, output: None }));
    };
    let input = if first.kind == "Input" {
        check_input(first, &mut cx)
    } else {
        cx.push(first.error(format!(
            "a network must start with its input shape, e.g. `Input<784>` or `Input<1, 28, 28>`, but it starts \
             with `{}`",
            first.declaration()
        )));
        None
    };
    let mut shape = input.clone().unwrap_or(Shape::Unknown);
    let mut layers = Vec::new();
    let mut complete = input.is_some();
    let last = rest.len().saturating_sub(1);
    for (index, item) in rest.iter().enumerate() {
        if item.kind == "Input" {
            cx.push(item.error(
                "`Input` may only appear once, at the start of the network; remove it here (layers take their \
                 input shape from the previous layer)",
            ));
            complete = false;
            continue;
        }
        match check_layer(item, &shape, index == last, &mut cx) {
            Some((kind, ok)) => {
                complete &= ok;
                let output = output_shape(&kind, &shape);
                let field = item.name.clone().unwrap_or_else(|| format_ident!("layer{}", index));
                let prefix = item.name.as_ref().map_or_else(|| index.to_string(), Ident::to_string);
                layers.push(Layer {
                    field,
                    prefix,
                    declaration: item.declaration(),
                    kind,
                    input: shape.clone(),
                    output: output.clone(),
                });
                shape = output;
            }
            None => {
                complete = false;
                shape = declared_output(item).unwrap_or(Shape::Unknown);
            }
        }
    }
    check_names(rest, &mut cx);
    match (cx.into_error(), input.clone()) {
        (None, Some(input)) if complete => Ok(Checked { input, layers }),
        (error, _) => {
            let error = error.unwrap_or_else(|| syn::Error::new(net.body_span, "the network is incomplete"));
            let output = (shape != Shape::Unknown).then_some(shape);
            Err((error, Partial { input, output }))
        }
    }
}

/// `Input<N>` or `Input<C, H, W>`.
fn check_input(item: &Item, cx: &mut Ctxt) -> Option<Shape> {
    let mut dims = Vec::new();
    for arg in &item.args {
        match (&arg.key, &arg.value) {
            (None, crate::parse::Value::Int(0)) => {
                cx.push(
                    item.error(format!("`{}` has a zero size; every dimension must be at least 1", item.declaration())),
                );
                return None;
            }
            (None, crate::parse::Value::Int(v)) => dims.push(*v as usize),
            (None, crate::parse::Value::Ident(i)) if i == "Seq" => {
                cx.push(arg.error(
                    "sequence inputs (`Input<Seq, N>`) need recurrent layers, which this version of `nn` does not \
                     have yet",
                ));
                return None;
            }
            _ => {
                cx.push(arg.error(format!("`Input` takes sizes (positive integers), found `{}`", arg.text())));
                return None;
            }
        }
    }
    match dims[..] {
        [len] => Some(Shape::Flat { len, from: None }),
        [c, h, w] => Some(Shape::Image([c, h, w])),
        _ => {
            cx.push(item.error(format!(
                "`{}` has {} dimensions; write `Input<FEATURES>` for vectors or `Input<CHANNELS, HEIGHT, WIDTH>` for \
                 images",
                item.declaration(),
                dims.len()
            )));
            None
        }
    }
}

/// Checks one layer against the shape arriving at it. Returns its resolved kind and whether it was free of
/// errors, or `None` when an error leaves its output unknown.
fn check_layer(item: &Item, input: &Shape, is_last: bool, cx: &mut Ctxt) -> Option<(Kind, bool)> {
    let name = item.kind.to_string();
    let Some(spec) = catalog::spec(&name) else {
        let hint = did_you_mean(&name, LAYER_NAMES).map(|s| format!("did you mean `{s}`? ")).unwrap_or_default();
        let known: Vec<&str> = LAYER_NAMES.iter().copied().filter(|n| *n != "Input").collect();
        cx.push(syn::Error::new(
            item.kind.span(),
            format!("unknown layer `{name}`; {hint}the layers are {}", known.join(", ")),
        ));
        return None;
    };
    let args = bind(&spec, item, &mut |e| cx.push(e))?;
    let misplaced = name == "Softmax" && !is_last;
    if misplaced {
        cx.push(item.error(
            "`Softmax` must be the last layer; to train a classifier, end the network with its logits and use \
             `CrossEntropy`, which applies log-softmax itself",
        ));
    }
    if *input == Shape::Unknown {
        return None;
    }
    let decl = item.declaration();
    // Mismatches after which the layer's output shape is still known: reported, and checking goes on with it.
    let mut soft = Vec::new();
    let kind = match name.as_str() {
        "Linear" => linear(&decl, &args, input, &mut soft).map_err(|m| item.error(m)),
        "Conv2d" => conv(&decl, &args, input, &mut soft).map_err(|m| item.error(m)),
        "MaxPool" | "AvgPool" => pool(&name, &decl, &args, input).map_err(|m| item.error(m)),
        "Flatten" => Ok(Kind::Flatten),
        "ReLU" => Ok(Kind::ReLU),
        "LeakyReLU" => Ok(Kind::LeakyReLU(args.float("SLOPE"))),
        "ELU" => Ok(Kind::Elu(args.float("ALPHA"))),
        "Sigmoid" => Ok(Kind::Sigmoid),
        "Tanh" => Ok(Kind::Tanh),
        "Dropout" => dropout(&decl, &args).map_err(|m| item.error(m)),
        "BatchNorm" => batch_norm(&decl, &args, input, &mut soft).map_err(|m| item.error(m)),
        "Maxout" => maxout(&decl, &args, input, &mut soft).map_err(|m| item.error(m)),
        "PReLU" => prelu(&decl, &args, input).map_err(|m| item.error(m)),
        "Softmax" => match input {
            Shape::Flat { .. } => Ok(Kind::Softmax),
            _ => Err(item.error(format!(
                "`Softmax` normalises a vector, but the previous layer produces a {} tensor; insert `-> Flatten` \
                 before it",
                input.describe()
            ))),
        },
        _ => Err(item.error(format!("`{name}` has no shape rule (a bug in `nn-macros`; please report it)"))),
    };
    for message in &soft {
        cx.push(item.error(message));
    }
    kind.map_err(|e| cx.push(e)).ok().map(|k| (k, soft.is_empty() && !misplaced))
}

fn linear(decl: &str, args: &Args, input: &Shape, soft: &mut Vec<String>) -> Result<Kind, String> {
    let i = flat_features(decl, args.int("IN"), input, soft)?;
    Ok(Kind::Linear { i, o: args.int("OUT"), bias: args.bool("bias"), init: args.init("init") })
}

/// The features arriving at a layer that takes `[IN]` (`Linear`, `Maxout`): an image is an error (a `Flatten` is
/// missing); a different count is a soft error, and checking goes on with the count that arrives.
fn flat_features(decl: &str, i: usize, input: &Shape, soft: &mut Vec<String>) -> Result<usize, String> {
    match input {
        Shape::Image(_) => Err(format!(
            "`{decl}` needs a flat input, but the previous layer produces a {} tensor; insert `-> Flatten` before \
             this layer (it then receives {} features)",
            input.describe(),
            input.len()
        )),
        Shape::Flat { len, .. } if *len != i => {
            soft.push(format!(
                "`{decl}` expects {i} input features, but the previous layer produces {}; did you mean `{}`?",
                input.describe(),
                decl.replacen(&format!("<{i}"), &format!("<{len}"), 1)
            ));
            Ok(*len)
        }
        _ => Ok(i),
    }
}

fn conv(decl: &str, args: &Args, input: &Shape, soft: &mut Vec<String>) -> Result<Kind, String> {
    let (ci, o, k) = (args.int("IN_CHANNELS"), args.int("OUT_CHANNELS"), args.int("KERNEL"));
    let (s, p) = (args.int("stride"), args.int("padding"));
    let [c, h, w] = image(decl, input)?;
    if c != ci {
        soft.push(format!(
            "`{decl}` expects {ci} input channel{}, but the previous layer produces {} ({c} channel{}); did you \
             mean `{}`?",
            plural(ci),
            input.describe(),
            plural(c),
            decl.replacen(&format!("<{ci}"), &format!("<{c}"), 1)
        ));
    }
    let (ph, pw) = (h + 2 * p, w + 2 * p);
    if k > ph || k > pw {
        let need = (k - h.min(w)).div_ceil(2);
        return Err(format!(
            "`{decl}` has a {k}×{k} kernel, larger than its {h}×{w} input{}; use a kernel of at most {} or \
             `padding = {need}`",
            if p > 0 { format!(" padded to {ph}×{pw}") } else { String::new() },
            ph.min(pw)
        ));
    }
    Ok(Kind::Conv2d { c, h, w, o, k, s, p, bias: args.bool("bias"), init: args.init("init") })
}

fn pool(name: &str, decl: &str, args: &Args, input: &Shape) -> Result<Kind, String> {
    let k = args.int("KERNEL");
    let s = match args.int("STRIDE") {
        0 => k,
        s => s,
    };
    let [c, h, w] = image(decl, input)?;
    if k > h || k > w {
        return Err(format!(
            "`{decl}` has a {k}×{k} window, larger than its {h}×{w} input; use a window of at most {} or remove \
             this layer",
            h.min(w)
        ));
    }
    Ok(if name == "MaxPool" { Kind::MaxPool { c, h, w, k, s } } else { Kind::AvgPool { c, h, w, k, s } })
}

fn dropout(decl: &str, args: &Args) -> Result<Kind, String> {
    let p = args.float("P");
    if !(0.0..1.0).contains(&p) {
        return Err(format!(
            "`{decl}` has drop probability {}, but it must be at least 0 and below 1 (PyTorch's `p`: 0.5 drops half \
             the values)",
            crate::parse::format_float(p)
        ));
    }
    Ok(Kind::Dropout { p })
}

fn batch_norm(decl: &str, args: &Args, input: &Shape, soft: &mut Vec<String>) -> Result<Kind, String> {
    let (c, s, what) = match input {
        Shape::Image([c, h, w]) => (*c, h * w, "channel"),
        _ => (input.len(), 1, "feature"),
    };
    let given = args.int("FEATURES");
    if given != 0 && given != c {
        soft.push(format!(
            "`{decl}` normalises {given} {what}{}, but the previous layer produces {} ({c} {what}{}); write \
             `BatchNorm<{c}>`, or just `BatchNorm`",
            plural(given),
            input.describe(),
            plural(c)
        ));
    }
    let (eps, momentum) = (args.float("eps"), args.float("momentum"));
    if eps <= 0.0 {
        return Err(format!("`{decl}` needs `eps` > 0 (PyTorch's default is 1e-5)"));
    }
    if !(0.0..=1.0).contains(&momentum) {
        return Err(format!("`{decl}` needs `momentum` between 0 and 1 (PyTorch's default is 0.1)"));
    }
    Ok(Kind::BatchNorm { c, s, eps, momentum })
}

fn maxout(decl: &str, args: &Args, input: &Shape, soft: &mut Vec<String>) -> Result<Kind, String> {
    let i = flat_features(decl, args.int("IN"), input, soft)?;
    Ok(Kind::Maxout { i, o: args.int("OUT"), k: args.int("PIECES"), init: args.init("init") })
}

fn prelu(decl: &str, args: &Args, input: &Shape) -> Result<Kind, String> {
    let slopes = args.int("SLOPES");
    let (c, what) = match input {
        Shape::Image([c, ..]) => (*c, "channel"),
        _ => (input.len(), "feature"),
    };
    if slopes != 1 && slopes != c {
        return Err(format!(
            "`{decl}` has {slopes} slopes, but the previous layer produces {} ({c} {what}{}); write `PReLU` for one \
             shared slope or `PReLU<{c}>` for one per {what}",
            input.describe(),
            plural(c)
        ));
    }
    Ok(Kind::PReLU { slopes, init: args.float("init") })
}

fn image(decl: &str, input: &Shape) -> Result<[usize; 3], String> {
    match input {
        Shape::Image(d) => Ok(*d),
        _ => Err(format!(
            "`{decl}` needs a CHANNELS×HEIGHT×WIDTH input, but the previous layer produces {} features; image \
             layers must come before `Flatten`",
            input.describe()
        )),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The shape after a checked layer.
fn output_shape(kind: &Kind, input: &Shape) -> Shape {
    match *kind {
        Kind::Linear { o, .. } => Shape::Flat { len: o, from: None },
        Kind::Conv2d { h, w, o, k, s, p, .. } => Shape::Image([o, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1]),
        Kind::MaxPool { c, h, w, k, s } | Kind::AvgPool { c, h, w, k, s } => {
            Shape::Image([c, (h - k) / s + 1, (w - k) / s + 1])
        }
        Kind::Maxout { o, .. } => Shape::Flat { len: o, from: None },
        Kind::Flatten => match input {
            Shape::Image(d) => Shape::Flat { len: input.len(), from: Some(*d) },
            other => other.clone(),
        },
        _ => input.clone(),
    }
}

/// The output shape a layer declares by itself (for `Linear`), so checking can go on after an error in it.
fn declared_output(item: &Item) -> Option<Shape> {
    if item.kind != "Linear" && item.kind != "Maxout" {
        return None;
    }
    match item.args.get(1).map(|a| (&a.key, &a.value)) {
        Some((None, crate::parse::Value::Int(o))) if *o > 0 => Some(Shape::Flat { len: *o as usize, from: None }),
        _ => None,
    }
}

/// Field names must be unique — counting the `layer{index}` names given to unnamed layers — and must not be
/// `params` (the parameter buffer's field).
fn check_names(items: &[Item], cx: &mut Ctxt) {
    let fields: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(index, item)| item.name.as_ref().map_or_else(|| format!("layer{index}"), Ident::to_string))
        .collect();
    for (index, item) in items.iter().enumerate() {
        let Some(name) = &item.name else { continue };
        let text = &fields[index];
        if text == "params" {
            cx.push(syn::Error::new(
                name.span(),
                "`params` is reserved for the network's parameter buffer; choose another layer name",
            ));
        }
        if text == "buffers" {
            cx.push(syn::Error::new(
                name.span(),
                "`buffers` is reserved for the network's running statistics; choose another layer name",
            ));
        }
        let clash = fields.iter().enumerate().find(|(other, f)| *other != index && *f == text);
        match clash {
            Some((other, _)) if items[other].name.is_none() => cx.push(syn::Error::new(
                name.span(),
                format!(
                    "layer name `{text}` is already the generated name of the unnamed `{}` at index {other}; choose \
                     another name",
                    items[other].declaration()
                ),
            )),
            Some((other, _)) if other < index => cx.push(syn::Error::new(
                name.span(),
                format!(
                    "duplicate layer name `{text}`: the earlier `{}` already has it; layer names become struct \
                     fields and must be unique",
                    items[other].declaration()
                ),
            )),
            _ => {}
        }
    }
}
