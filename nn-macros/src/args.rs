//! Binding a layer's arguments: each layer kind declares its arguments by asking for them, in order, and gets
//! typed values back — there is no table to look names up in later, so a misspelt argument is a misspelt Rust
//! variable, which does not compile.
//!
//! ```text
//! let inputs = args.size("IN");                        // required positional, ≥ 1
//! let stride = args.option_size("stride", 1);          // `stride = ...`, default 1
//! ```
//!
//! Every problem (a wrong type, a zero size, an unknown option, too many or too few arguments) is recorded
//! under the offending tokens; optional arguments fall back to their defaults so that the layer can still
//! compute its output shape and checking goes on. The same calls, made on [`Args::describe`], list the
//! arguments for the documentation table.

use crate::parse::{format_float, Arg, Item, Value};
use crate::suggest::did_you_mean;

/// What kind of value an argument takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// An integer ≥ 1 (sizes, strides).
    Size,
    /// An integer ≥ 0 (padding).
    Count,
    /// Any finite number.
    Float,
    /// `true` or `false`.
    Bool,
    /// One of a list of names (`init = he_normal`, `approximate = "tanh"`).
    Choice(&'static [&'static str]),
}

impl Ty {
    fn expects(self) -> String {
        match self {
            Ty::Size => "a positive integer".into(),
            Ty::Count => "a non-negative integer".into(),
            Ty::Float => "a number".into(),
            Ty::Bool => "`true` or `false`".into(),
            Ty::Choice(names) => format!("one of {}", quoted(names)),
        }
    }
}

/// One argument a layer takes, as declared by asking for it.
#[derive(Clone)]
pub struct Slot {
    pub name: &'static str,
    /// Whether it is written by position (`Linear<784, 10>`) rather than as `name = value`.
    pub positional: bool,
    /// Its default as documentation shows it, or `None` if it is required.
    pub default: Option<String>,
}

/// A bound value: the number for sizes, counts and floats, the index into the names for a choice.
#[derive(Clone, Copy)]
enum Bound {
    Int(usize),
    Float(f64),
    Bool(bool),
    Choice(usize),
}

/// The arguments of one item, bound as the layer kind asks for them, and where the kind reports its errors.
pub struct Args<'a> {
    /// The item being bound; `None` when only describing the kind.
    item: Option<&'a Item>,
    kind: &'static str,
    /// Every slot of the kind (from describing it first), so messages can show its whole usage.
    declared: Vec<Slot>,
    /// The slots asked for so far.
    slots: Vec<Slot>,
    /// Whether the item is the network's last layer.
    pub is_last: bool,
    /// Which of the item's arguments some request took.
    used: Vec<bool>,
    /// Required positional arguments that are missing.
    missing: Vec<&'static str>,
    errors: Vec<syn::Error>,
    /// How many of `errors` are about binding (a wrong type, a zero size) rather than the kind's own checks.
    binding_errors: usize,
}

impl<'a> Args<'a> {
    /// The arguments of `item`, a layer of kind `kind` whose slots are `declared` (see [`Args::describe`]).
    pub fn new(kind: &'static str, declared: Vec<Slot>, item: &'a Item, is_last: bool) -> Self {
        let used = vec![false; item.args.len()];
        let (slots, missing, errors) = (Vec::new(), Vec::new(), Vec::new());
        Self { item: Some(item), kind, declared, slots, is_last, used, missing, errors, binding_errors: 0 }
    }

    /// No item: the requests only record the slots (for documentation, and for messages that show a kind's
    /// whole usage).
    pub fn describe(kind: &'static str) -> Self {
        let (slots, used, missing, errors) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        Self { item: None, kind, declared: Vec::new(), slots, is_last: false, used, missing, errors, binding_errors: 0 }
    }

    /// The slots asked for so far.
    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The item as written, normalised: `Conv2d<3, 16, 3, stride = 2>`.
    pub fn declaration(&self) -> String {
        self.item.map(Item::declaration).unwrap_or_default()
    }

    /// Reports an error under the whole item.
    pub fn error(&mut self, message: impl std::fmt::Display) {
        if let Some(item) = self.item {
            self.errors.push(item.error(message));
        }
    }

    /// A required positional size (≥ 1); `None` if missing (reported by [`Args::finish`]) or wrong.
    pub fn size(&mut self, name: &'static str) -> Option<usize> {
        match self.positional(name, Ty::Size, None) {
            Some(Some(Bound::Int(v))) => Some(v),
            Some(_) => None,
            None => {
                if self.item.is_some() {
                    self.missing.push(name);
                }
                None
            }
        }
    }

    /// An optional positional size whose default documentation calls `default` (e.g. "KERNEL"); `None` if
    /// absent or wrong.
    pub fn optional_size(&mut self, name: &'static str, default: &str) -> Option<usize> {
        match self.positional(name, Ty::Size, Some(default.into())) {
            Some(Some(Bound::Int(v))) => Some(v),
            _ => None,
        }
    }

    /// An optional positional number with a default.
    pub fn float(&mut self, name: &'static str, default: f64) -> f64 {
        match self.positional(name, Ty::Float, Some(format_float(default))) {
            Some(Some(Bound::Float(v))) => v,
            _ => default,
        }
    }

    /// `name = true | false`.
    pub fn option_bool(&mut self, name: &'static str, default: bool) -> bool {
        match self.option(name, Ty::Bool, default.to_string()) {
            Some(Bound::Bool(v)) => v,
            _ => default,
        }
    }

    /// `name = N`, N ≥ 1.
    pub fn option_size(&mut self, name: &'static str, default: usize) -> usize {
        match self.option(name, Ty::Size, default.to_string()) {
            Some(Bound::Int(v)) => v,
            _ => default,
        }
    }

    /// `name = N`, N ≥ 0.
    pub fn option_count(&mut self, name: &'static str, default: usize) -> usize {
        match self.option(name, Ty::Count, default.to_string()) {
            Some(Bound::Int(v)) => v,
            _ => default,
        }
    }

    /// `name = N`, N ≥ 0, or `None` if not given (documented as "none").
    pub fn option_optional_count(&mut self, name: &'static str) -> Option<usize> {
        match self.option(name, Ty::Count, "none".into()) {
            Some(Bound::Int(v)) => Some(v),
            _ => None,
        }
    }

    /// `name = x`, any finite number.
    pub fn option_float(&mut self, name: &'static str, default: f64) -> f64 {
        match self.option(name, Ty::Float, format_float(default)) {
            Some(Bound::Float(v)) => v,
            _ => default,
        }
    }

    /// `name = one_of_choices`; returns the index of the choice (`default` if absent or wrong).
    pub fn option_choice(&mut self, name: &'static str, choices: &'static [&'static str], default: usize) -> usize {
        match self.option(name, Ty::Choice(choices), format!("`{}`", choices[default])) {
            Some(Bound::Choice(i)) => i,
            _ => default,
        }
    }

    /// Reports what no request took (too many positional arguments, unknown options) and the missing
    /// required arguments; returns every error, and whether the arguments themselves were bound without one.
    /// (Errors the kind reported about values it understood, such as a probability out of range, leave the
    /// binding sound; a misspelt option or an ill-typed value does not, since it may have changed the shape.)
    pub fn finish(mut self) -> (Vec<syn::Error>, bool) {
        let Some(item) = self.item else { return (Vec::new(), true) };
        let mut ok = self.binding_errors == 0;
        for (arg, used) in item.args.iter().zip(&self.used) {
            if *used {
                continue;
            }
            ok = false;
            let message = match &arg.key {
                None => self.too_many(item),
                Some(key) => self.unknown_option(&key.to_string()),
            };
            self.errors.push(arg.error(message));
        }
        if !self.missing.is_empty() {
            ok = false;
            self.errors.push(item.error(format!(
                "`{}` is missing {}: write it as `{}`",
                item.declaration(),
                self.missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(" and "),
                usage(self.kind, &self.slots)
            )));
        }
        (self.errors, ok)
    }

    /// The next positional argument, recorded as slot `name`: `None` if absent, `Some(None)` if wrong.
    fn positional(&mut self, name: &'static str, ty: Ty, default: Option<String>) -> Option<Option<Bound>> {
        let index = self.slots.iter().filter(|s| s.positional).count();
        self.slots.push(Slot { name, positional: true, default });
        let item = self.item?;
        let (at, arg) = item.args.iter().enumerate().filter(|(_, a)| a.key.is_none()).nth(index)?;
        self.used[at] = true;
        let what = format!("`{name}` of `{}`", usage(self.kind, &self.declared));
        Some(self.convert(arg, ty, name, &what))
    }

    /// The option `name`: `None` if absent or wrong.
    fn option(&mut self, name: &'static str, ty: Ty, default: String) -> Option<Bound> {
        self.slots.push(Slot { name, positional: false, default: Some(default) });
        let item = self.item?;
        let mut found = None;
        for (at, arg) in item.args.iter().enumerate() {
            if arg.key.as_ref().is_none_or(|k| k != name) {
                continue;
            }
            self.used[at] = true;
            if found.is_some() {
                self.bind_error(arg.error(format!("option `{name}` is given twice")));
                return None;
            }
            found = Some(arg);
        }
        let arg = found?;
        let what = format!("option `{name}` of `{}`", self.kind);
        self.convert(arg, ty, name, &what)
    }

    fn convert(&mut self, arg: &Arg, ty: Ty, name: &str, what: &str) -> Option<Bound> {
        let wrong = || arg.error(format!("{what} expects {}, found `{}`", ty.expects(), arg.value.text()));
        let bound = match (ty, &arg.value) {
            (Ty::Size | Ty::Count, Value::Int(v)) => match usize::try_from(*v) {
                Ok(v) => Bound::Int(v),
                Err(_) => {
                    self.bind_error(wrong());
                    return None;
                }
            },
            (Ty::Float, Value::Int(v)) => Bound::Float(*v as f64),
            (Ty::Float, Value::NegativeInt(v)) => Bound::Float(-(*v as f64)),
            (Ty::Float, Value::Float(v)) => Bound::Float(*v),
            (Ty::Bool, Value::Bool(v)) => Bound::Bool(*v),
            (Ty::Choice(names), Value::Ident(_) | Value::Str(_)) => {
                let given = arg.value.name();
                match names.iter().position(|n| *n == given) {
                    Some(i) => Bound::Choice(i),
                    None => {
                        let hint =
                            did_you_mean(&given, names).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
                        let message = if name == "init" {
                            format!("unknown initialisation `{given}`: expected {}{hint}", quoted(names))
                        } else {
                            format!("{what} expects one of {}, found `{given}`{hint}", quoted(names))
                        };
                        self.bind_error(arg.error(message));
                        return None;
                    }
                }
            }
            _ => {
                self.bind_error(wrong());
                return None;
            }
        };
        if ty == Ty::Size && matches!(bound, Bound::Int(0)) {
            let item = self.item.expect("binding an item");
            self.bind_error(item.error(format!("`{}` has {name} = 0, but it must be at least 1", item.declaration())));
            return None;
        }
        if let Bound::Float(v) = bound {
            if !v.is_finite() {
                self.bind_error(arg.error(format!("{what} must be finite, found `{}`", format_float(v))));
                return None;
            }
        }
        Some(bound)
    }

    fn bind_error(&mut self, error: syn::Error) {
        self.errors.push(error);
        self.binding_errors += 1;
    }

    fn too_many(&self, item: &Item) -> String {
        let options: Vec<String> =
            self.slots.iter().filter(|s| !s.positional).map(|s| format!("`{} = ...`", s.name)).collect();
        let options =
            if options.is_empty() { String::new() } else { format!(", then options such as {}", options.join(", ")) };
        match self.slots.iter().filter(|s| s.positional).count() {
            0 => format!("`{}` takes no arguments: write `{}`", item.kind, self.kind),
            n => format!(
                "too many arguments: `{}` takes {n} positional argument{} (`{}`){options}",
                item.kind,
                if n == 1 { "" } else { "s" },
                usage(self.kind, &self.slots)
            ),
        }
    }

    fn unknown_option(&self, key: &str) -> String {
        let names: Vec<&str> = self.slots.iter().filter(|s| !s.positional).map(|s| s.name).collect();
        if names.is_empty() {
            return format!("`{}` has no option `{key}`; it takes no options", self.kind);
        }
        if self.slots.iter().any(|s| s.positional && s.name == key) {
            return format!(
                "`{key}` is a positional argument of `{}`: write it by position",
                usage(self.kind, &self.slots)
            );
        }
        let hint = did_you_mean(key, &names).map(|s| format!("did you mean `{s}`? ")).unwrap_or_default();
        format!("unknown option `{key}` for `{}`; {hint}its options are {}", self.kind, quoted(&names))
    }
}

/// How a layer is written with all its positional arguments: `Linear<IN, OUT>`.
pub fn usage(kind: &str, slots: &[Slot]) -> String {
    let names: Vec<&str> = slots.iter().filter(|s| s.positional).map(|s| s.name).collect();
    if names.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}<{}>", names.join(", "))
    }
}

/// `` `a`, `b`, `c` ``.
pub fn quoted(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
