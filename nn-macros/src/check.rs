//! Stage 2: walk the chain, check every layer against the shape arriving at it (through its kind's definition in
//! `layers`), and collect every mistake with its numbers and a fix, each under the offending tokens.
//!
//! A mistake never stops the walk: each kind computes its output as well as the errors allow (an invalid option
//! keeps the shape; a misspelt layer name is followed as the layer it most likely means), so the next mistake is
//! reported in the same build.

use crate::args::Args;
use crate::ctxt::Ctxt;
use crate::layers::{self, Layer};
use crate::parse::{Item, Network, Value};
use crate::shape::{Shape, MAX_VALUES};
use crate::suggest::did_you_mean;
use proc_macro2::Ident;
use quote::format_ident;
use syn::ext::IdentExt;

/// A network whose every shape is known and consistent.
pub struct Checked {
    pub input: Shape,
    pub layers: Vec<CheckedLayer>,
}

impl Checked {
    /// Shape of the network's output.
    pub fn output(&self) -> &Shape {
        self.layers.last().map_or(&self.input, |l| &l.output)
    }
}

/// One checked layer.
pub struct CheckedLayer {
    /// Struct field name: the user's name or `layer{index}`.
    pub field: Ident,
    /// Whether the user named it (unnamed layers without parameters get no public field).
    pub named: bool,
    /// Prefix of the layer's tensor names: the user's name, or the index as in PyTorch's `nn.Sequential`.
    pub prefix: String,
    /// As declared, normalised.
    pub declaration: String,
    /// Its position in the chain (after `Input`), which names its random stream.
    pub index: usize,
    pub layer: Box<dyn Layer>,
    pub input: Shape,
    pub output: Shape,
}

impl CheckedLayer {
    /// Whether the struct gets a public field for this layer.
    pub fn has_field(&self) -> bool {
        self.named || self.layer.params() > 0 || self.layer.buffer_len() > 0
    }
}

/// What is known of a network with errors, for the placeholder that keeps the user's code free of follow-on
/// errors: the shapes, as far as known, and every field with its layer when it checked.
pub struct Partial {
    pub input: Option<Shape>,
    pub output: Option<Shape>,
    pub fields: Vec<(Ident, Option<Box<dyn Layer>>)>,
}

/// Names the generated code gives struct fields, or uses itself.
const RESERVED: &[(&str, &str)] =
    &[("params", "the network's parameter buffer"), ("buffers", "the network's running statistics")];

/// Every error of a network, combined, and what is known for its placeholder.
pub type Failed = Box<(syn::Error, Partial)>;

/// Checks `net`; on any error, returns every error combined and what is known for the placeholder.
pub fn check(net: &Network) -> Result<Checked, Failed> {
    let mut cx = Ctxt::default();
    let (first, rest) = net.items.split_first().expect("the parser requires at least one item");
    let input = if first.kind == "Input" {
        check_input(first, &mut cx)
    } else {
        cx.push(first.error(format!(
            "a network must start with its input shape, e.g. `Input<784>` or `Input<1, 28, 28>`, but it starts with \
             `{}`",
            first.declaration()
        )));
        None
    };
    let mut shape = input.clone().unwrap_or(Shape::Unknown);
    let mut layers = Vec::new();
    let mut fields: Vec<(Ident, Option<()>)> = Vec::new();
    let mut complete = input.is_some();
    let last = rest.len().saturating_sub(1);
    for (index, item) in rest.iter().enumerate() {
        let field = item.name.clone().unwrap_or_else(|| format_ident!("layer{index}"));
        if item.kind == "Input" {
            cx.push(item.error(
                "`Input` may only appear once, at the start of the network; remove it here (layers take their \
                 input shape from the previous layer)",
            ));
            complete = false;
            continue;
        }
        let (checked, ok) = check_item(item, &shape, index == last, &mut cx);
        complete &= ok && checked.layer.is_some();
        match checked.layer {
            Some(layer) => {
                let named = item.name.is_some();
                if named || layer.params() > 0 || layer.buffer_len() > 0 {
                    fields.push((field.clone(), None));
                }
                let prefix = item.name.as_ref().map_or_else(|| index.to_string(), |n| n.unraw().to_string());
                layers.push(CheckedLayer {
                    field,
                    named,
                    prefix,
                    declaration: item.declaration(),
                    index,
                    layer,
                    input: shape.clone(),
                    output: checked.output.clone(),
                });
            }
            None => {
                if item.name.is_some() {
                    fields.push((field, None));
                }
            }
        }
        shape = checked.output;
    }
    check_names(rest, &mut cx);
    check_totals(net, &layers, &mut cx);
    match (cx.into_error(), input.clone()) {
        (None, Some(input)) if complete => Ok(Checked { input, layers }),
        (error, _) => {
            let error = error.unwrap_or_else(|| syn::Error::new(net.body_span, "the network is incomplete"));
            let output = (shape != Shape::Unknown).then_some(shape);
            // Typed fields for the layers that checked, in declaration order; each name once, and none that
            // clashes with the struct's own fields (those are errors already).
            let mut typed: Vec<(Ident, Option<Box<dyn Layer>>)> = Vec::new();
            let mut checked = layers.into_iter().peekable();
            for (field, _) in fields {
                let layer = checked.next_if(|l| l.field == field).map(|l| l.layer);
                let name = field.unraw().to_string();
                if !typed.iter().any(|(f, _)| f.unraw() == name) && !is_reserved(&name) {
                    typed.push((field, layer));
                }
            }
            let input = input.or_else(|| guess_input(first));
            Err(Box::new((error, Partial { input, output, fields: typed })))
        }
    }
}

/// Checks one item against the shape arriving at it: what the kind gave, and whether it was free of errors.
/// An unknown name is reported, and followed as the kind it most likely means, so checking goes on.
fn check_item(item: &Item, input: &Shape, is_last: bool, cx: &mut Ctxt) -> (layers::Checked, bool) {
    let name = item.kind.to_string();
    let Some(kind) = layers::find(&name) else {
        let names: Vec<&str> = layers::all().map(|k| k.name()).collect();
        let guess = did_you_mean(&name, &names);
        let hint = guess.map(|s| format!("did you mean `{s}`? ")).unwrap_or_default();
        cx.push(syn::Error::new(
            item.kind.span(),
            format!("unknown layer `{name}`; {hint}the layers are {}", names.join(", ")),
        ));
        // The shape the intended layer would give; its own errors are not reported (the name is wrong).
        let output = guess.and_then(layers::find).map_or(Shape::Unknown, |kind| {
            let mut args = Args::new(kind.name(), declared(kind), item, is_last);
            kind.check(&mut args, input).output
        });
        return (layers::Checked::output(output), false);
    };
    let mut args = Args::new(kind.name(), declared(kind), item, is_last);
    let checked = kind.check(&mut args, input);
    let (errors, bound) = args.finish();
    let ok = errors.is_empty();
    for error in errors {
        cx.push(error);
    }
    // A misspelt option or an ill-typed value may be one the shape depends on (`strid = 2`): the output is not
    // trusted then, so no later layer is blamed for it.
    let checked = if bound { checked } else { layers::Checked::unknown() };
    (checked, ok)
}

/// The slots of `kind`, from describing it.
pub fn declared(kind: &dyn layers::Kind) -> Vec<crate::args::Slot> {
    let mut args = Args::describe(kind.name());
    kind.check(&mut args, &Shape::Unknown);
    args.slots().to_vec()
}

/// `Input<N>`, `Input<C, H, W>`, `Input<Seq, F>` or `Input<Seq<T>, F>`.
fn check_input(item: &Item, cx: &mut Ctxt) -> Option<Shape> {
    let mut dims = Vec::new();
    let mut steps = None;
    for (position, arg) in item.args.iter().enumerate() {
        match (&arg.key, &arg.value) {
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

/// Whether the generated code uses the field name `name` itself.
fn is_reserved(name: &str) -> bool {
    RESERVED.iter().any(|(r, _)| *r == name) || name.starts_with("__")
}

/// Field names must be unique — counting the `layer{index}` names given to unnamed layers — and must not be a
/// name the generated code uses.
fn check_names(items: &[Item], cx: &mut Ctxt) {
    let fields: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(index, item)| item.name.as_ref().map_or_else(|| format!("layer{index}"), |n| n.unraw().to_string()))
        .collect();
    for (index, item) in items.iter().enumerate() {
        let Some(name) = &item.name else { continue };
        let text = &fields[index];
        if let Some((_, what)) = RESERVED.iter().find(|(r, _)| r == text) {
            cx.push(syn::Error::new(
                name.span(),
                format!("`{text}` is reserved for {what}; choose another layer name"),
            ));
            continue;
        }
        if text.starts_with("__") {
            cx.push(syn::Error::new(
                name.span(),
                format!("`{text}`: names starting with `__` are reserved for the code `network!` generates; choose another layer name"),
            ));
            continue;
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

/// The network's parameters and buffers must fit the limit of one tensor too.
fn check_totals(net: &Network, layers: &[CheckedLayer], cx: &mut Ctxt) {
    for (what, total) in [
        ("parameters", layers.iter().map(|l| l.layer.params()).sum::<usize>()),
        ("buffer values", layers.iter().map(|l| l.layer.buffer_len()).sum()),
    ] {
        if total > MAX_VALUES {
            let message = format!("`{}` has {total} {what}, more than `nn` allows ({MAX_VALUES})", net.name);
            cx.push(syn::Error::new(net.name.span(), message));
        }
    }
}
