//! `Dropout<P>`: drops values with probability `P` in training.

use super::{f32_lit, lit, Checked, Doc, Kind, Layer, Placement};
use crate::args::Args;
use crate::parse::format_float;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub struct Dropout;

impl Kind for Dropout {
    fn name(&self) -> &'static str {
        "Dropout"
    }

    fn doc(&self) -> Doc {
        Doc { arguments: "drop probability, `0 ≤ P < 1`", shape: "unchanged" }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let mut p = args.float("P", 0.5);
        if !(0.0..1.0).contains(&p) {
            args.error(format!(
                "`{}` has drop probability {}, but it must be at least 0 and below 1 (PyTorch's `p`: 0.5 drops half \
                 the values)",
                args.declaration(),
                format_float(p)
            ));
            p = 0.5;
        }
        if *input == Shape::Unknown {
            return Checked::unknown();
        }
        Checked::layer(input.clone(), DropoutLayer { width: input.len(), p })
    }
}

struct DropoutLayer {
    width: usize,
    p: f64,
}

impl Layer for DropoutLayer {
    fn runtime_type(&self) -> TokenStream {
        let n = lit(self.width);
        quote!(Dropout<#n>)
    }

    fn constructor(&self, at: &Placement) -> TokenStream {
        let (p, stream) = (f32_lit(self.p), at.index as u64);
        quote!(new(#p, #stream))
    }
}
