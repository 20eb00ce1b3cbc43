//! `PReLU<SLOPES>` (He et al. 2015): a learned negative slope, shared or one per channel (feature).

use super::{f32_lit, lit, plural, Checked, Doc, Kind, Layer, Placement, Tensor};
use crate::args::Args;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub struct PReLU;

impl Kind for PReLU {
    fn name(&self) -> &'static str {
        "PReLU"
    }

    fn doc(&self) -> Doc {
        Doc { arguments: "1 (shared) or one per channel / feature", shape: "unchanged" }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let slopes = args.optional_size("SLOPES", "1").unwrap_or(1);
        let initial = args.option_float("init", 0.25);
        let (c, what) = match input {
            Shape::Image([c, ..]) => (*c, "channel"),
            Shape::Flat { len, .. } | Shape::Sequence { len, .. } => (*len, "feature"),
            Shape::Unknown | Shape::Tokens { .. } => return Checked::unknown(),
        };
        if slopes != 1 && slopes != c {
            args.error(format!(
                "`{}` has {slopes} slopes, but the previous layer produces {} ({c} {what}{}); write `PReLU` for one \
                 shared slope or `PReLU<{c}>` for one per {what}",
                args.declaration(),
                input.describe(),
                plural(c)
            ));
            return Checked::output(input.clone());
        }
        Checked::layer(input.clone(), PReLULayer { width: input.len(), slopes, initial })
    }
}

struct PReLULayer {
    width: usize,
    slopes: usize,
    initial: f64,
}

impl Layer for PReLULayer {
    fn tensors(&self) -> Vec<Tensor> {
        vec![("weight".into(), vec![self.slopes])]
    }

    fn runtime_type(&self) -> TokenStream {
        let (n, slopes) = (lit(self.width), lit(self.slopes));
        quote!(PReLU<#n, #slopes>)
    }

    fn constructor(&self, at: &Placement) -> TokenStream {
        let (offset, initial) = (lit(at.params), f32_lit(self.initial));
        quote!(new(#offset, #initial))
    }
}
