//! `Last`, `FinalState`, `MeanOverTime`, `MaxOverTime`: from a sequence to one vector per sample.

use super::{lit, sequence_input, Checked, Doc, Kind, Layer, Placement};
use crate::args::Args;
use crate::shape::{Origin, Shape};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// A reduction over time: its DSL name (also its runtime type's) and its documentation.
pub struct Reduce {
    name: &'static str,
    shape: &'static str,
}

pub const LAST: Reduce =
    Reduce { name: "Last", shape: "`[T, F] → [F]`: each sample's last step (PyTorch's `output[:, -1]`)" };
pub const FINAL_STATE: Reduce = Reduce {
    name: "FinalState",
    shape: "`[T, H·D] → [H·D]`: the recurrent layer's final hidden state, directions concatenated (`h_n[-D:]`); \
            after element-wise layers, their values there",
};
pub const MEAN_OVER_TIME: Reduce =
    Reduce { name: "MeanOverTime", shape: "`[T, F] → [F]`: the mean over each sample's steps" };
pub const MAX_OVER_TIME: Reduce =
    Reduce { name: "MaxOverTime", shape: "`[T, F] → [F]`: the maximum over each sample's steps" };

impl Kind for Reduce {
    fn name(&self) -> &'static str {
        self.name
    }

    fn doc(&self) -> Doc {
        Doc { arguments: "", shape: self.shape }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let Some((_, width)) = sequence_input(args, input) else { return Checked::unknown() };
        let from = match input {
            Shape::Sequence { from: Some((dirs, hidden)), .. } => Some(Origin::Directions(*dirs, *hidden)),
            _ => None,
        };
        let output = Shape::Flat { len: width, from };
        if self.name != "FinalState" {
            return Checked::layer(output, ReduceLayer { name: self.name, sizes: vec![width] });
        }
        match input {
            Shape::Sequence { from: Some((dirs, hidden)), .. } => {
                Checked::layer(output, ReduceLayer { name: self.name, sizes: vec![*hidden, *dirs] })
            }
            _ => {
                args.error(format!(
                    "`FinalState` reads a recurrent layer's final state, but what reaches it ({}) is not a recurrent \
                     layer's output; put it after an `RNN`, `LSTM` or `GRU` (only element-wise layers, such as \
                     activations and `Dropout`, may stand between), or use `Last`",
                    input.describe()
                ));
                Checked::output(output)
            }
        }
    }
}

struct ReduceLayer {
    name: &'static str,
    /// Its runtime type's sizes: the width, or for `FinalState` the hidden size and the directions.
    sizes: Vec<usize>,
}

impl Layer for ReduceLayer {
    fn runtime_type(&self) -> TokenStream {
        let (name, sizes) = (format_ident!("{}", self.name), self.sizes.iter().map(|&s| lit(s)));
        quote!(#name<#(#sizes),*>)
    }

    fn constructor(&self, _: &Placement) -> TokenStream {
        quote!(new())
    }

    fn streams(&self) -> bool {
        matches!(self.name, "Last" | "FinalState")
    }
}
