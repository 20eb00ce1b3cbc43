//! `Conv2d<C_IN, C_OUT, K>`: 2-D cross-correlation with square kernels, stride and zero padding.

use super::{
    image_input, init_option, lit, plural, sized, with_bias, Checked, Doc, Kind, Layer, Macs, Placement, Tensor,
};
use crate::args::Args;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub struct Conv2d;

impl Kind for Conv2d {
    fn name(&self) -> &'static str {
        "Conv2d"
    }

    fn doc(&self) -> Doc {
        Doc {
            arguments: "input channels, output channels, kernel size",
            shape: "`[C, H, W] → [C_OUT, (H+2P−K)/S+1, (W+2P−K)/S+1]`",
        }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let (declared, out, k) = (args.size("IN_CHANNELS"), args.size("OUT_CHANNELS"), args.size("KERNEL"));
        let (stride, padding) = (args.option_size("stride", 1), args.option_count("padding", 0));
        let bias = args.option_bool("bias", true);
        let init = init_option(args);
        let (Some(out), Some(k)) = (out, k) else { return Checked::unknown() };
        let Some([c, h, w]) = image_input(args, input) else { return Checked::unknown() };
        let decl = args.declaration();
        if let Some(declared) = declared.filter(|&d| d != c) {
            args.error(format!(
                "`{decl}` expects {declared} input channel{}, but the previous layer produces {} ({c} channel{}); \
                 did you mean `{}`?",
                plural(declared),
                input.describe(),
                plural(c),
                decl.replacen(&format!("<{declared}"), &format!("<{c}"), 1)
            ));
        }
        let padded = padding.checked_mul(2).and_then(|p2| Some((h.checked_add(p2)?, w.checked_add(p2)?)));
        let Some((ph, pw)) = padded.filter(|&(ph, pw)| ph.max(pw) <= crate::shape::MAX_VALUES) else {
            args.error(format!("`{decl}` has padding {padding}, more than any image could use"));
            return Checked::unknown();
        };
        if k > ph || k > pw {
            let need = (k - h.min(w)).div_ceil(2);
            args.error(format!(
                "`{decl}` has a {k}×{k} kernel, larger than its {h}×{w} input{}; use a kernel of at most {} or \
                 `padding = {need}`",
                if padding > 0 { format!(" padded to {ph}×{pw}") } else { String::new() },
                ph.min(pw)
            ));
            return Checked::unknown();
        }
        let (oh, ow) = ((ph - k) / stride + 1, (pw - k) / stride + 1);
        let Some(output) = sized(args, &[out, oh, ow], || Shape::image(out, oh, ow).ok()).flatten() else {
            return Checked::unknown();
        };
        let layer = ConvLayer { c, h, w, out, k, stride, padding, bias, init };
        match sized(args, &[out, c, k, k], || layer) {
            Some(layer) => Checked::layer(output, layer),
            None => Checked::output(output),
        }
    }
}

struct ConvLayer {
    c: usize,
    h: usize,
    w: usize,
    out: usize,
    k: usize,
    stride: usize,
    padding: usize,
    bias: bool,
    init: TokenStream,
}

impl ConvLayer {
    /// Height and width of its output.
    fn output_size(&self) -> (usize, usize) {
        let out = |size: usize| (size + 2 * self.padding - self.k) / self.stride + 1;
        (out(self.h), out(self.w))
    }
}

impl Layer for ConvLayer {
    fn tensors(&self) -> Vec<Tensor> {
        with_bias(vec![self.out, self.c, self.k, self.k], self.out, self.bias)
    }

    fn macs(&self) -> Macs {
        // Each output value is a dot product over C_IN·K·K inputs.
        let (oh, ow) = self.output_size();
        Macs::product(self.c * self.k * self.k, self.out * oh * ow)
    }

    fn runtime_type(&self) -> TokenStream {
        let [c, h, w, o, k, s, p] = [self.c, self.h, self.w, self.out, self.k, self.stride, self.padding].map(lit);
        let bias = self.bias;
        quote!(Conv2d<#c, #h, #w, #o, #k, #s, #p, #bias>)
    }

    fn constructor(&self, at: &Placement) -> TokenStream {
        let (offset, init) = (lit(at.params), &self.init);
        quote!(new(#offset, #init))
    }
}
