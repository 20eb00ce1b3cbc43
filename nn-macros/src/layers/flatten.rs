//! `Flatten`: `[C, H, W]` seen as `[C·H·W]`, with no copy.

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
        Checked::layer(output, FlattenLayer(input.len()))
    }
}

struct FlattenLayer(usize);

impl Layer for FlattenLayer {
    fn runtime_type(&self) -> TokenStream {
        let n = lit(self.0);
        quote!(Flatten<#n>)
    }

    fn constructor(&self, _: &Placement) -> TokenStream {
        quote!(new())
    }

    fn aliases_input(&self) -> bool {
        true
    }
}
