//! `Linear<IN, OUT>`: `y = W·x + b`.

use super::{flat_features, init_option, lit, sized, with_bias, Checked, Doc, Kind, Layer, Macs, Placement, Tensor};
use crate::args::Args;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub struct Linear;

impl Kind for Linear {
    fn name(&self) -> &'static str {
        "Linear"
    }

    fn doc(&self) -> Doc {
        Doc { arguments: "input and output features", shape: "`[IN] → [OUT]`; per step on a sequence" }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let (declared, out) = (args.size("IN"), args.size("OUT"));
        let bias = args.option_bool("bias", true);
        let init = init_option(args);
        let Some(out) = out else { return Checked::unknown() };
        let Some(output) = sized(args, &[out], || input.per_step(out).ok()).flatten() else {
            return Checked::unknown();
        };
        let Some(inputs) = declared.and_then(|d| flat_features(args, input, d)) else { return Checked::output(output) };
        match sized(args, &[out, inputs], || LinearLayer { inputs, out, bias, init }) {
            Some(layer) => Checked::layer(output, layer),
            None => Checked::output(output),
        }
    }
}

struct LinearLayer {
    inputs: usize,
    out: usize,
    bias: bool,
    init: TokenStream,
}

impl Layer for LinearLayer {
    fn tensors(&self) -> Vec<Tensor> {
        with_bias(vec![self.out, self.inputs], self.out, self.bias)
    }

    fn macs(&self) -> Macs {
        Macs::product(self.inputs, self.out)
    }

    fn runtime_type(&self) -> TokenStream {
        let (i, o, bias) = (lit(self.inputs), lit(self.out), self.bias);
        quote!(Linear<#i, #o, #bias>)
    }

    fn constructor(&self, at: &Placement) -> TokenStream {
        let (offset, init) = (lit(at.params), &self.init);
        quote!(new(#offset, #init))
    }
}
