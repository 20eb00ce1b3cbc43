//! `Maxout<IN, OUT, PIECES>` (Goodfellow et al. 2013): each unit the max of `PIECES` affine pieces.

use super::{flat_features, init_option, lit, sized, with_bias, Checked, Doc, Kind, Layer, Macs, Placement, Tensor};
use crate::args::Args;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub struct Maxout;

impl Kind for Maxout {
    fn name(&self) -> &'static str {
        "Maxout"
    }

    fn doc(&self) -> Doc {
        Doc {
            arguments: "input features, units, pieces per unit",
            shape: "`[IN] → [OUT]`, each unit the max of `PIECES` affine pieces",
        }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let (declared, out, pieces) = (args.size("IN"), args.size("OUT"), args.size("PIECES"));
        let init = init_option(args);
        let Some(out) = out else { return Checked::unknown() };
        let Some(output) = sized(args, &[out], || input.per_step(out).ok()).flatten() else {
            return Checked::unknown();
        };
        let (Some(inputs), Some(pieces)) = (declared.and_then(|d| flat_features(args, input, d)), pieces) else {
            return Checked::output(output);
        };
        match sized(args, &[out, pieces, inputs], || MaxoutLayer { inputs, out, pieces, init }) {
            Some(layer) => Checked::layer(output, layer),
            None => Checked::output(output),
        }
    }
}

struct MaxoutLayer {
    inputs: usize,
    out: usize,
    pieces: usize,
    init: TokenStream,
}

impl Layer for MaxoutLayer {
    fn tensors(&self) -> Vec<Tensor> {
        with_bias(vec![self.out * self.pieces, self.inputs], self.out * self.pieces, true)
    }

    fn macs(&self) -> Macs {
        Macs::product(self.inputs, self.out * self.pieces)
    }

    fn runtime_type(&self) -> TokenStream {
        let [i, o, k] = [self.inputs, self.out, self.pieces].map(lit);
        quote!(Maxout<#i, #o, #k>)
    }

    fn constructor(&self, at: &Placement) -> TokenStream {
        let (offset, init) = (lit(at.params), &self.init);
        quote!(new(#offset, #init))
    }
}
