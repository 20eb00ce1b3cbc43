//! `ConvTranspose2d<C_IN, C_OUT, K>`: the transposed convolution, PyTorch's `nn.ConvTranspose2d`.

use super::{
    image_input, init_option, lit, plural, sized, with_bias, Checked, Doc, Kind, Layer, Macs, Placement, Tensor,
};
use crate::args::Args;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub struct ConvTranspose2d;

impl Kind for ConvTranspose2d {
    fn name(&self) -> &'static str {
        "ConvTranspose2d"
    }

    fn doc(&self) -> Doc {
        Doc {
            arguments: "input channels, output channels, kernel size",
            shape: "`[C, H, W] → [C_OUT, (H−1)·S−2P+K+OP, (W−1)·S−2P+K+OP]` (OP: `output_padding`, below S)",
        }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let (declared, out, k) = (args.size("IN_CHANNELS"), args.size("OUT_CHANNELS"), args.size("KERNEL"));
        let (stride, padding) = (args.option_size("stride", 1), args.option_count("padding", 0));
        let output_padding = args.option_count("output_padding", 0);
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
        if output_padding >= stride {
            args.error(format!(
                "`{decl}` has `output_padding = {output_padding}`, but it must be smaller than the stride ({stride}), \
                 as in PyTorch"
            ));
            return Checked::unknown();
        }
        let size = |n: usize| {
            (n - 1).checked_mul(stride)?.checked_add(k + output_padding)?.checked_sub(2 * padding).filter(|&v| v > 0)
        };
        let (Some(oh), Some(ow)) = (size(h), size(w)) else {
            args.error(format!(
                "`{decl}` has padding {padding}, which removes more than its {h}×{w} input spreads to; use at most \
                 `padding = {}`",
                ((h.min(w) - 1) * stride + k + output_padding - 1) / 2
            ));
            return Checked::unknown();
        };
        let Some(output) = sized(args, &[out, oh, ow], || Shape::image(out, oh, ow).ok()).flatten() else {
            return Checked::unknown();
        };
        let layer = TransposeLayer { c, h, w, out, k, stride, padding, output_padding, bias, init };
        match sized(args, &[c, out, k, k], || layer) {
            Some(layer) => Checked::layer(output, layer),
            None => Checked::output(output),
        }
    }
}

struct TransposeLayer {
    c: usize,
    h: usize,
    w: usize,
    out: usize,
    k: usize,
    stride: usize,
    padding: usize,
    output_padding: usize,
    bias: bool,
    init: TokenStream,
}

impl Layer for TransposeLayer {
    fn tensors(&self) -> Vec<Tensor> {
        with_bias(vec![self.c, self.out, self.k, self.k], self.out, self.bias)
    }

    fn macs(&self) -> Macs {
        // Each input value spreads over O·K·K outputs.
        Macs::product(self.out * self.k * self.k, self.c * self.h * self.w)
    }

    fn runtime_type(&self) -> TokenStream {
        let [c, h, w, o, k, s, p, op] =
            [self.c, self.h, self.w, self.out, self.k, self.stride, self.padding, self.output_padding].map(lit);
        let bias = self.bias;
        quote!(ConvTranspose2d<#c, #h, #w, #o, #k, #s, #p, #op, #bias>)
    }

    fn constructor(&self, at: &Placement) -> TokenStream {
        let (offset, init) = (lit(at.params), &self.init);
        quote!(new(#offset, #init))
    }
}
