//! `Embedding<VOCAB, DIM>`: token ids into vectors, PyTorch's `nn.Embedding`.

use super::{lit, plural, sized, Checked, Doc, Kind, Layer, Macs, Placement, Tensor};
use crate::args::Args;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub struct Embedding;

impl Kind for Embedding {
    fn name(&self) -> &'static str {
        "Embedding"
    }

    fn doc(&self) -> Doc {
        Doc {
            arguments: "tokens, values per token",
            shape: "token ids (`Input<Tokens<V>>`, per step on `Input<Seq, Tokens<V>>`) → `[DIM]`; `padding_idx`'s \
                    row starts at zeros and gets no gradient",
        }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let (declared, dim) = (args.size("VOCAB"), args.size("DIM"));
        let padding = args.option_optional_count("padding_idx");
        let (Some(vocab), Some(dim)) = (declared, dim) else { return Checked::unknown() };
        let decl = args.declaration();
        let (ids, steps) = match input {
            Shape::Tokens { vocab, steps } => (*vocab, *steps),
            Shape::Unknown => return Checked::unknown(),
            other => {
                args.error(format!(
                    "`{decl}` looks up token ids, but the previous layer produces {}; declare the input as token ids: \
                     `Input<Tokens<{vocab}>>`, or `Input<Seq, Tokens<{vocab}>>` for sequences",
                    other.describe()
                ));
                return Checked::unknown();
            }
        };
        if ids != vocab {
            args.error(format!(
                "`{decl}` has {vocab} token{}, but the input's ids are below {ids} (`Tokens<{ids}>`); did you mean \
                 `{}`?",
                plural(vocab),
                decl.replacen(&format!("<{vocab}"), &format!("<{ids}"), 1)
            ));
        }
        if let Some(p) = padding.filter(|&p| p >= vocab) {
            args.error(format!("`{decl}` has `padding_idx = {p}`, but its tokens are 0..{vocab}"));
        }
        let output = match steps {
            Some(steps) => Shape::sequence(steps, dim),
            None => Shape::flat(dim),
        };
        let Ok(output) = output else {
            args.error(format!("`{decl}`: each vector holds more values than `nn` allows"));
            return Checked::unknown();
        };
        let padding = padding.filter(|&p| p < vocab);
        match sized(args, &[vocab, dim], || EmbeddingLayer { vocab, dim, padding }) {
            Some(layer) => Checked::layer(output, layer),
            None => Checked::output(output),
        }
    }
}

struct EmbeddingLayer {
    vocab: usize,
    dim: usize,
    padding: Option<usize>,
}

impl Layer for EmbeddingLayer {
    fn tensors(&self) -> Vec<Tensor> {
        vec![("weight".into(), vec![self.vocab, self.dim])]
    }

    fn macs(&self) -> Macs {
        // A lookup and, in backward, a scatter: no products.
        Macs::default()
    }

    fn runtime_type(&self) -> TokenStream {
        let (v, d) = (lit(self.vocab), lit(self.dim));
        quote!(Embedding<#v, #d>)
    }

    fn constructor(&self, at: &Placement) -> TokenStream {
        let offset = lit(at.params);
        let padding = match self.padding {
            Some(p) => {
                let p = lit(p);
                quote!(::core::option::Option::Some(#p))
            }
            None => quote!(::core::option::Option::None),
        };
        quote!(new(#offset, #padding))
    }
}
