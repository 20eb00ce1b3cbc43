//! The built-in layers: the arguments each accepts, bound from what the user wrote.

use crate::parse::{format_float, Arg, Item, Value};
use crate::suggest::did_you_mean;

/// What kind of value an argument takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// An integer ≥ 1 (sizes, strides).
    Size,
    /// An integer ≥ 0 (padding).
    Count,
    /// Any number.
    Float,
    /// `true` or `false`.
    Bool,
    /// An initialisation scheme name.
    Init,
}

impl Type {
    fn expects(self) -> &'static str {
        match self {
            Type::Size => "a positive integer",
            Type::Count => "a non-negative integer",
            Type::Float => "a number",
            Type::Bool => "`true` or `false`",
            Type::Init => "one of `pytorch`, `xavier_uniform`, `xavier_normal`, `he_uniform`, `he_normal`",
        }
    }
}

/// The initialisation schemes `init = ...` accepts, with the runtime's variant names.
pub const INITS: &[(&str, &str)] = &[
    ("pytorch", "PyTorch"),
    ("xavier_uniform", "XavierUniform"),
    ("xavier_normal", "XavierNormal"),
    ("he_uniform", "HeUniform"),
    ("he_normal", "HeNormal"),
];

/// A bound argument value.
#[derive(Clone, Debug, PartialEq)]
pub enum Bound {
    Int(usize),
    Float(f64),
    Bool(bool),
    Init(&'static str),
}

/// One argument slot of a layer.
pub struct Param {
    pub name: &'static str,
    pub ty: Type,
    /// `None`: required.
    pub default: Option<Bound>,
}

const fn req(name: &'static str, ty: Type) -> Param {
    Param { name, ty, default: None }
}

/// A layer kind: its positional arguments and its `key = value` options.
pub struct Spec {
    pub name: &'static str,
    pub positional: Vec<Param>,
    pub options: Vec<Param>,
}

impl Spec {
    /// How the layer is written with all its positional arguments: `Linear<IN, OUT>`.
    pub fn usage(&self) -> String {
        if self.positional.is_empty() {
            return self.name.to_string();
        }
        let names: Vec<&str> = self.positional.iter().map(|p| p.name).collect();
        format!("{}<{}>", self.name, names.join(", "))
    }
}

/// Every layer name the DSL knows (including `Input`), for did-you-mean.
pub const LAYER_NAMES: &[&str] = &[
    "Input",
    "Linear",
    "Conv2d",
    "MaxPool",
    "AvgPool",
    "Flatten",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "Dropout",
    "BatchNorm",
    "Maxout",
    "PReLU",
];

/// The specification of layer `name`, if it is one.
pub fn spec(name: &str) -> Option<Spec> {
    let common = || {
        vec![
            Param { name: "bias", ty: Type::Bool, default: Some(Bound::Bool(true)) },
            Param { name: "init", ty: Type::Init, default: Some(Bound::Init("PyTorch")) },
        ]
    };
    let (positional, options) = match name {
        "Linear" => (vec![req("IN", Type::Size), req("OUT", Type::Size)], common()),
        "Conv2d" => {
            let mut options = vec![
                Param { name: "stride", ty: Type::Size, default: Some(Bound::Int(1)) },
                Param { name: "padding", ty: Type::Count, default: Some(Bound::Int(0)) },
            ];
            options.extend(common());
            (vec![req("IN_CHANNELS", Type::Size), req("OUT_CHANNELS", Type::Size), req("KERNEL", Type::Size)], options)
        }
        // STRIDE defaults to KERNEL, as in PyTorch; `bind` fills it in.
        "MaxPool" | "AvgPool" => (
            vec![req("KERNEL", Type::Size), Param { name: "STRIDE", ty: Type::Size, default: Some(Bound::Int(0)) }],
            vec![],
        ),
        "LeakyReLU" => (vec![Param { name: "SLOPE", ty: Type::Float, default: Some(Bound::Float(0.01)) }], vec![]),
        "ELU" => (vec![Param { name: "ALPHA", ty: Type::Float, default: Some(Bound::Float(1.0)) }], vec![]),
        "Flatten" | "ReLU" | "Sigmoid" | "Tanh" | "Softmax" => (vec![], vec![]),
        "Dropout" => (vec![Param { name: "P", ty: Type::Float, default: Some(Bound::Float(0.5)) }], vec![]),
        // FEATURES defaults to the incoming channels (0 stands for "not given"); `check` compares it when given.
        "BatchNorm" => (
            vec![Param { name: "FEATURES", ty: Type::Size, default: Some(Bound::Int(0)) }],
            vec![
                Param { name: "eps", ty: Type::Float, default: Some(Bound::Float(1e-5)) },
                Param { name: "momentum", ty: Type::Float, default: Some(Bound::Float(0.1)) },
            ],
        ),
        "Maxout" => (
            vec![req("IN", Type::Size), req("OUT", Type::Size), req("PIECES", Type::Size)],
            vec![Param { name: "init", ty: Type::Init, default: Some(Bound::Init("PyTorch")) }],
        ),
        "PReLU" => (
            vec![Param { name: "SLOPES", ty: Type::Size, default: Some(Bound::Int(1)) }],
            vec![Param { name: "init", ty: Type::Float, default: Some(Bound::Float(0.25)) }],
        ),
        _ => return None,
    };
    Some(Spec { name: LAYER_NAMES.iter().find(|n| **n == name)?, positional, options })
}

/// The arguments of one layer, bound to their slots.
pub struct Args {
    values: Vec<(&'static str, Bound)>,
}

impl Args {
    /// An integer argument (sizes, counts).
    pub fn int(&self, name: &str) -> usize {
        match self.get(name) {
            Bound::Int(v) => *v,
            _ => 0,
        }
    }

    /// A numeric argument.
    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            Bound::Float(v) => *v,
            Bound::Int(v) => *v as f64,
            _ => 0.0,
        }
    }

    /// A boolean argument.
    pub fn bool(&self, name: &str) -> bool {
        matches!(self.get(name), Bound::Bool(true))
    }

    /// An initialisation scheme (the runtime's variant name).
    pub fn init(&self, name: &str) -> &'static str {
        match self.get(name) {
            Bound::Init(v) => v,
            _ => "PyTorch",
        }
    }

    fn get(&self, name: &str) -> &Bound {
        self.values.iter().find(|(n, _)| *n == name).map_or(&Bound::Bool(false), |(_, v)| v)
    }
}

/// Binds `item`'s arguments to `spec`'s slots, reporting every problem through `report`. Returns `None` if any
/// argument was wrong (the layer's shape cannot be trusted then).
pub fn bind(spec: &Spec, item: &Item, report: &mut dyn FnMut(syn::Error)) -> Option<Args> {
    let mut values: Vec<(&'static str, Bound)> = Vec::new();
    let mut ok = true;
    let mut positional = spec.positional.iter();
    for arg in &item.args {
        let slot = match &arg.key {
            None => match positional.next() {
                Some(p) => p,
                None => {
                    report(arg.error(too_many(spec, item)));
                    ok = false;
                    continue;
                }
            },
            Some(key) => {
                let key = key.to_string();
                match spec.options.iter().find(|o| o.name == key) {
                    Some(o) if values.iter().any(|(n, _)| *n == o.name) => {
                        report(arg.error(format!("option `{key}` is given twice")));
                        ok = false;
                        continue;
                    }
                    Some(o) => o,
                    None => {
                        report(arg.error(unknown_option(spec, &key)));
                        ok = false;
                        continue;
                    }
                }
            }
        };
        match convert(slot, arg, spec, item) {
            Ok(v) => values.push((slot.name, v)),
            Err(e) => {
                report(e);
                ok = false;
            }
        }
    }
    let missing: Vec<&str> = positional.clone().filter(|p| p.default.is_none()).map(|p| p.name).collect();
    if !missing.is_empty() {
        report(item.error(format!(
            "`{}` is missing {}: write it as `{}`",
            item.declaration(),
            missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(" and "),
            spec.usage()
        )));
        return None;
    }
    if !ok {
        return None;
    }
    for p in spec.positional.iter().chain(&spec.options) {
        if !values.iter().any(|(n, _)| *n == p.name) {
            values.push((p.name, p.default.clone()?));
        }
    }
    Some(Args { values })
}

fn too_many(spec: &Spec, item: &Item) -> String {
    let options = if spec.options.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = spec.options.iter().map(|o| format!("`{} = ...`", o.name)).collect();
        format!(", then options such as {}", names.join(", "))
    };
    match spec.positional.len() {
        0 => format!("`{}` takes no arguments: write `{}`", item.kind, spec.name),
        n => format!(
            "too many arguments: `{}` takes {n} positional argument{} (`{}`){options}",
            item.kind,
            if n == 1 { "" } else { "s" },
            spec.usage()
        ),
    }
}

fn unknown_option(spec: &Spec, key: &str) -> String {
    if spec.options.is_empty() {
        return format!("`{}` has no option `{key}`; it takes no options", spec.name);
    }
    let names: Vec<&str> = spec.options.iter().map(|o| o.name).collect();
    let hint = did_you_mean(key, &names).map(|s| format!("did you mean `{s}`? ")).unwrap_or_default();
    let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    format!("unknown option `{key}` for `{}`; {hint}its options are {}", spec.name, list.join(", "))
}

fn convert(slot: &Param, arg: &Arg, spec: &Spec, item: &Item) -> syn::Result<Bound> {
    let what = match &arg.key {
        Some(_) => format!("option `{}` of `{}`", slot.name, spec.name),
        None => format!("`{}` of `{}`", slot.name, spec.usage()),
    };
    let wrong = || arg.error(format!("{what} expects {}, found `{}`", slot.ty.expects(), arg.value.text()));
    let bound = match (slot.ty, &arg.value) {
        (Type::Size | Type::Count, Value::Int(v)) => Bound::Int(usize::try_from(*v).map_err(|_| wrong())?),
        (Type::Float, Value::Int(v)) => Bound::Float(*v as f64),
        (Type::Float, Value::NegativeInt(v)) => Bound::Float(-(*v as f64)),
        (Type::Float, Value::Float(v)) => Bound::Float(*v),
        (Type::Bool, Value::Bool(v)) => Bound::Bool(*v),
        (Type::Init, Value::Ident(i)) => {
            let name = i.to_string();
            match INITS.iter().find(|(n, _)| *n == name) {
                Some((_, variant)) => Bound::Init(variant),
                None => {
                    let names: Vec<&str> = INITS.iter().map(|(n, _)| *n).collect();
                    let hint =
                        did_you_mean(&name, &names).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
                    return Err(arg.error(format!(
                        "unknown initialisation `{name}`: expected {}{hint}",
                        Type::Init.expects().trim_start_matches("one of ")
                    )));
                }
            }
        }
        _ => return Err(wrong()),
    };
    if slot.ty == Type::Size && bound == Bound::Int(0) {
        let decl = item.declaration();
        return Err(item.error(format!("`{decl}` has {} = 0, but it must be at least 1", slot.name)));
    }
    if let Bound::Float(v) = bound {
        if !v.is_finite() {
            return Err(arg.error(format!("{what} must be finite, found `{}`", format_float(v))));
        }
    }
    Ok(bound)
}
