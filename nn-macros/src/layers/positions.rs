//! `PositionalEmbedding<MAX_LEN, E>` (learned) and `PositionalEncoding<MAX_LEN>` (fixed sinusoids): positions
//! added to a sequence's steps.

use super::attention::steps_input;
use super::{lit, Checked, Doc, Kind, Layer, Placement, Tensor};
use crate::args::Args;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub struct PositionalEmbedding;
pub struct PositionalEncoding;

impl Kind for PositionalEmbedding {
    fn name(&self) -> &'static str {
        "PositionalEmbedding"
    }

    fn doc(&self) -> Doc {
        Doc {
            arguments: "positions, features per step",
            shape: "unchanged: step `t` gets row `t` of a learned `[MAX_LEN, E]` table added; longer sequences are \
                    refused",
        }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let (max_len, dim) = (args.size("MAX_LEN"), args.size("E"));
        let (Some(max_len), Some(dim)) = (max_len, dim) else { return Checked::unknown() };
        let Some(width) = steps_input(args, input, "adds a position to each step of a sequence") else {
            return Checked::unknown();
        };
        let decl = args.declaration();
        if width != dim {
            args.error(format!(
                "`{decl}` adds {dim} values to each step, but the previous layer produces {}; did you mean `{}`?",
                input.describe(),
                decl.replacen(&format!(", {dim}"), &format!(", {width}"), 1)
            ));
        }
        let fits = longest(args, input, max_len, &decl, |t| decl.replacen(&format!("<{max_len}"), &format!("<{t}"), 1));
        let output = input.clone().with_limit(Some(max_len));
        if width != dim || !fits {
            return Checked::output(output);
        }
        Checked::layer(output, Positions { max_len, dim, learned: true })
    }
}

impl Kind for PositionalEncoding {
    fn name(&self) -> &'static str {
        "PositionalEncoding"
    }

    fn doc(&self) -> Doc {
        Doc {
            arguments: "positions",
            shape: "unchanged: step `t` gets Vaswani's sinusoids `PE(t)` added (no parameters); longer sequences are \
                    refused",
        }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let Some(max_len) = args.size("MAX_LEN") else { return Checked::unknown() };
        let Some(dim) = steps_input(args, input, "adds a position to each step of a sequence") else {
            return Checked::unknown();
        };
        let decl = args.declaration();
        let fits = longest(args, input, max_len, &decl, |t| format!("PositionalEncoding<{t}>"));
        let output = input.clone().with_limit(Some(max_len));
        if !fits {
            return Checked::output(output);
        }
        Checked::layer(output, Positions { max_len, dim, learned: false })
    }
}

/// Whether a sequence of fixed length fits `max_len` positions (a longer one is reported, with the declaration
/// `fix` gives for its length).
fn longest(args: &mut Args<'_>, input: &Shape, max_len: usize, decl: &str, fix: impl Fn(usize) -> String) -> bool {
    match input {
        Shape::Sequence { steps: Some(t), .. } if *t > max_len => {
            args.error(format!(
                "`{decl}` has {max_len} positions, but the sequence has {t} steps, {} more than its table: write `{}`",
                t - max_len,
                fix(*t)
            ));
            false
        }
        _ => true,
    }
}

struct Positions {
    max_len: usize,
    dim: usize,
    learned: bool,
}

impl Layer for Positions {
    fn tensors(&self) -> Vec<Tensor> {
        match self.learned {
            true => vec![("weight".into(), vec![self.max_len, self.dim])],
            false => Vec::new(),
        }
    }

    fn state(&self) -> usize {
        1
    }

    fn position_limit(&self) -> Option<usize> {
        Some(self.max_len)
    }

    fn runtime_type(&self) -> TokenStream {
        let (t, e) = (lit(self.max_len), lit(self.dim));
        match self.learned {
            true => quote!(PositionalEmbedding<#t, #e>),
            false => quote!(PositionalEncoding<#t, #e>),
        }
    }

    fn constructor(&self, at: &Placement) -> TokenStream {
        match self.learned {
            true => {
                let offset = lit(at.params);
                quote!(new(#offset))
            }
            false => quote!(new()),
        }
    }
}
