//! Activations: element-wise functions and the row-wise `Softmax` and `LogSoftmax`. Each is one entry of
//! [`ALL`]; its runtime type has the same name and a `new` taking its settings in order, as `f32`.

use super::{f32_lit, lit, Checked, Doc, Kind, Layer, Placement};
use crate::args::Args;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// One activation of the DSL.
pub struct Activation {
    name: &'static str,
    /// Its settings, in the order of the runtime constructor's arguments.
    settings: &'static [Setting],
    /// What its settings are, for the documentation table.
    arguments: &'static str,
    /// Whether it normalises each row as a whole, so it needs a flat input.
    per_row: bool,
    /// If it must be the last layer: why, and what to do instead.
    last_only: Option<&'static str>,
    /// Checks of the settings together: a message if they cannot work.
    validate: fn(&[f64]) -> Option<String>,
}

/// A setting of an activation.
enum Setting {
    /// `LeakyReLU<0.1>`: a number by position.
    Positional(&'static str, f64),
    /// `threshold = 20`: a number by name.
    Named(&'static str, f64),
    /// `approximate = "tanh"`: one of some names, passed to the runtime as its index.
    Choice(&'static str, &'static [&'static str]),
}

const fn activation(name: &'static str, arguments: &'static str) -> Activation {
    Activation { name, settings: &[], arguments, per_row: false, last_only: None, validate: |_| None }
}

/// Every activation, in the order messages and documentation list them.
pub const ALL: &[Activation] = &[
    activation("ReLU", ""),
    Activation { settings: &[Setting::Positional("SLOPE", 0.01)], ..activation("LeakyReLU", "negative slope") },
    Activation { settings: &[Setting::Positional("ALPHA", 1.0)], ..activation("ELU", "α") },
    activation("Sigmoid", ""),
    activation("Tanh", ""),
    Activation {
        settings: &[Setting::Choice("approximate", &["none", "tanh"])],
        ..activation("GELU", "exact (with erf), or `approximate = \"tanh\"` as PyTorch")
    },
    activation("SiLU", "(also called Swish)"),
    Activation {
        settings: &[Setting::Positional("BETA", 1.0), Setting::Named("threshold", 20.0)],
        validate: |s| (s[0] <= 0.0).then(|| "needs `BETA` > 0".to_string()),
        ..activation("Softplus", "β; the identity where `βx > threshold`")
    },
    Activation {
        settings: &[Setting::Positional("MIN", -1.0), Setting::Positional("MAX", 1.0)],
        validate: |s| {
            let show = crate::parse::format_float;
            (s[0] >= s[1]).then(|| format!("needs `MIN` < `MAX`, but {} ≥ {}", show(s[0]), show(s[1])))
        },
        ..activation("Hardtanh", "the bounds")
    },
    activation("Mish", ""),
    Activation {
        per_row: true,
        last_only: Some(
            "to train a classifier, end the network with its logits and use `CrossEntropy`, which applies \
             log-softmax itself",
        ),
        ..activation("Softmax", "")
    },
    Activation {
        per_row: true,
        last_only: Some("pair it with the `Nll` loss, or end the network with its logits and use `CrossEntropy`"),
        ..activation("LogSoftmax", "")
    },
];

impl Kind for Activation {
    fn name(&self) -> &'static str {
        self.name
    }

    fn doc(&self) -> Doc {
        let shape = match self.last_only {
            Some(_) => "unchanged (per row); last layer only",
            None => "unchanged",
        };
        Doc { arguments: self.arguments, shape }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let mut values: Vec<f64> = self
            .settings
            .iter()
            .map(|s| match s {
                Setting::Positional(name, default) => args.float(name, *default),
                Setting::Named(name, default) => args.option_float(name, *default),
                Setting::Choice(name, choices) => args.option_choice(name, choices, 0) as f64,
            })
            .collect();
        if let Some(problem) = (self.validate)(&values) {
            args.error(format!("`{}` {problem}", args.declaration()));
            values = self.defaults();
        }
        if let (Some(instead), false) = (self.last_only, args.is_last) {
            args.error(format!("`{}` must be the last layer; {instead}", self.name));
        }
        if self.per_row && matches!(input, Shape::Image(_)) {
            args.error(format!(
                "`{}` normalises a vector, but the previous layer produces a {} tensor; insert `-> Flatten` before it",
                self.name,
                input.describe()
            ));
        }
        if *input == Shape::Unknown {
            return Checked::unknown();
        }
        Checked::layer(input.clone(), ActivationLayer { name: self.name, width: input.len(), values })
    }
}

impl Activation {
    fn defaults(&self) -> Vec<f64> {
        self.settings
            .iter()
            .map(|s| match s {
                Setting::Positional(_, d) | Setting::Named(_, d) => *d,
                Setting::Choice(..) => 0.0,
            })
            .collect()
    }
}

struct ActivationLayer {
    name: &'static str,
    width: usize,
    values: Vec<f64>,
}

impl Layer for ActivationLayer {
    fn runtime_type(&self) -> TokenStream {
        let (name, n) = (format_ident!("{}", self.name), lit(self.width));
        quote!(#name<#n>)
    }

    fn constructor(&self, _: &Placement) -> TokenStream {
        let values = self.values.iter().map(|&v| f32_lit(v));
        quote!(new(#(#values),*))
    }
}
