//! `LayerNorm<F>`: normalisation over the last axis — a vector's features, each step of a sequence, each row of
//! an image — as PyTorch's `nn.LayerNorm(F)`.

use super::{f32_lit, lit, Checked, Doc, Kind, Layer, Placement, Tensor};
use crate::args::Args;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub struct LayerNorm;

impl Kind for LayerNorm {
    fn name(&self) -> &'static str {
        "LayerNorm"
    }

    fn doc(&self) -> Doc {
        Doc {
            arguments: "the size of the last axis (checked if given)",
            shape: "unchanged; each vector, each step of a sequence, each row of an image normalised on its own",
        }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let given = args.optional_size("F", "the input's");
        let mut eps = args.option_float("eps", 1e-5);
        let affine = args.option_bool("elementwise_affine", true);
        let bias = args.option_bool("bias", true);
        let decl = args.declaration();
        if eps <= 0.0 {
            args.error(format!("`{decl}` needs `eps` > 0 (PyTorch's default is 1e-5)"));
            eps = 1e-5;
        }
        let last = match input {
            Shape::Flat { len, .. } | Shape::Sequence { len, .. } => *len,
            Shape::Image([_, _, w]) => *w,
            Shape::Unknown | Shape::Tokens { .. } => return Checked::unknown(),
        };
        if let Some(given) = given.filter(|&g| g != last) {
            let axis =
                if matches!(input, Shape::Image(_)) { "an image's rows (its last axis)" } else { "its last axis" };
            args.error(format!(
                "`{decl}` normalises {given} values, but the previous layer produces {}, whose last axis holds \
                 {last}: write `LayerNorm<{last}>`, or just `LayerNorm` ({axis})",
                input.describe()
            ));
        }
        Checked::layer(input.clone(), LayerNormLayer { features: last, row: input.len(), eps, affine, bias })
    }
}

struct LayerNormLayer {
    /// Values normalised together (the last axis).
    features: usize,
    /// Values per row of the layer's input.
    row: usize,
    eps: f64,
    affine: bool,
    bias: bool,
}

impl Layer for LayerNormLayer {
    fn tensors(&self) -> Vec<Tensor> {
        match (self.affine, self.bias) {
            (true, true) => vec![("weight".into(), vec![self.features]), ("bias".into(), vec![self.features])],
            (true, false) => vec![("weight".into(), vec![self.features])],
            _ => Vec::new(),
        }
    }

    fn runtime_type(&self) -> TokenStream {
        let (f, n, affine, bias) = (lit(self.features), lit(self.row), self.affine, self.bias);
        quote!(LayerNorm<#f, #n, #affine, #bias>)
    }

    fn constructor(&self, at: &Placement) -> TokenStream {
        let (offset, eps) = (lit(at.params), f32_lit(self.eps));
        quote!(new(#offset, #eps))
    }
}
