//! Layers that change a sample's type, not its memory: `Flatten` (`[C, H, W]` → `[C·H·W]`), `Unflatten<C, H, W>`
//! (the reverse) and `Identity`. Their output shares their input's buffer: they emit no code.

use super::{lit, Checked, Doc, Kind, Layer, Placement};
use crate::args::Args;
use crate::shape::{Origin, Shape};
use proc_macro2::TokenStream;
use quote::quote;

pub struct Flatten;

impl Kind for Flatten {
    fn name(&self) -> &'static str {
        "Flatten"
    }

    fn doc(&self) -> Doc {
        Doc { arguments: "", shape: "`[C, H, W] → [C·H·W]` (free: no copy)" }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let output = match input {
            Shape::Image(d) => Shape::Flat { len: input.len(), from: Some(Origin::Image(*d)) },
            Shape::Sequence { .. } => {
                args.error(format!(
                    "`Flatten` on {}: a sequence keeps its time axis; reduce it first with `Last`, `FinalState`, \
                     `MeanOverTime` or `MaxOverTime`",
                    input.describe()
                ));
                return Checked::unknown();
            }
            other => other.clone(),
        };
        if output == Shape::Unknown {
            return Checked::unknown();
        }
        Checked::layer(output, Reshape { name: "Flatten", sizes: vec![input.len()] })
    }
}

pub struct Identity;

impl Kind for Identity {
    fn name(&self) -> &'static str {
        "Identity"
    }

    fn doc(&self) -> Doc {
        Doc { arguments: "", shape: "unchanged (a branch of `Concat` that passes the input through)" }
    }

    fn check(&self, _: &mut Args<'_>, input: &Shape) -> Checked {
        match input {
            Shape::Unknown => Checked::unknown(),
            other => Checked::layer(other.clone(), Reshape { name: "Identity", sizes: vec![other.len()] }),
        }
    }
}

pub struct Unflatten;

impl Kind for Unflatten {
    fn name(&self) -> &'static str {
        "Unflatten"
    }

    fn doc(&self) -> Doc {
        Doc { arguments: "channels, height, width", shape: "`[C·H·W] → [C, H, W]` (free: no copy)" }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let (c, h, w) = (args.size("C"), args.size("H"), args.size("W"));
        let (Some(c), Some(h), Some(w)) = (c, h, w) else { return Checked::unknown() };
        let Ok(output) = Shape::image(c, h, w) else {
            args.error(format!("`{}`: the image holds more values than `nn` allows", args.declaration()));
            return Checked::unknown();
        };
        match input {
            Shape::Unknown => {}
            Shape::Flat { len, .. } if *len == output.len() => {}
            Shape::Flat { len, .. } => args.error(format!(
                "`{}` makes a {c}×{h}×{w} image of {} features, but the previous layer produces {len}",
                args.declaration(),
                output.len()
            )),
            other => args.error(format!(
                "`{}` needs flat features, but the previous layer produces {}",
                args.declaration(),
                other.describe()
            )),
        }
        Checked::layer(output, Reshape { name: "Unflatten", sizes: vec![c, h, w] })
    }
}

pub struct ToSeq;

impl Kind for ToSeq {
    fn name(&self) -> &'static str {
        "ToSeq"
    }

    fn doc(&self) -> Doc {
        Doc {
            arguments: "",
            shape: "`[C, H, W] → [H·W, C]`: each position of an image a step of its C channels, row by row (as \
                    `x.flatten(2).transpose(1, 2)`)",
        }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        match input {
            Shape::Image([c, h, w]) => {
                let output =
                    Shape::Sequence { steps: Some(h * w), len: *c, from: None, limit: crate::shape::Limit::default() };
                Checked::layer(output, ToSeqLayer { channels: *c, positions: h * w })
            }
            Shape::Unknown => Checked::unknown(),
            other => {
                let what = match other {
                    Shape::Sequence { .. } => format!("{}, which is a sequence already", other.describe()),
                    _ => format!("{} features", other.describe()),
                };
                args.error(format!(
                    "`ToSeq` turns an image C×H×W into H·W steps of C features, but the previous layer produces \
                     {what}; put it before `Flatten`, where the image still has its channels and positions"
                ));
                Checked::unknown()
            }
        }
    }
}

struct ToSeqLayer {
    channels: usize,
    positions: usize,
}

impl Layer for ToSeqLayer {
    fn runtime_type(&self) -> TokenStream {
        let (c, p) = (lit(self.channels), lit(self.positions));
        quote!(ToSeq<#c, #p>)
    }

    fn constructor(&self, _: &Placement) -> TokenStream {
        quote!(new())
    }
}

/// A checked reshape: its runtime type's name and sizes.
struct Reshape {
    name: &'static str,
    sizes: Vec<usize>,
}

impl Layer for Reshape {
    fn runtime_type(&self) -> TokenStream {
        let name = quote::format_ident!("{}", self.name);
        let sizes = self.sizes.iter().map(|&s| lit(s));
        quote!(#name<#(#sizes),*>)
    }

    fn constructor(&self, _: &Placement) -> TokenStream {
        quote!(new())
    }

    fn aliases_input(&self) -> bool {
        true
    }
}
