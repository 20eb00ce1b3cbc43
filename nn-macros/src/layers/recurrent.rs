//! `RNN<IN, HIDDEN>`, `LSTM<IN, HIDDEN>`, `GRU<IN, HIDDEN>`: stacked, optionally bidirectional recurrent layers
//! over a sequence, with PyTorch's equations, tensor names and layouts.

use super::{
    f32_lit, flat_features, lit, plural, sequence_input, sized, Checked, Doc, Kind, Layer, Macs, Placement, Tensor,
};
use crate::args::Args;
use crate::parse::format_float;
use crate::shape::{product, Shape, MAX_VALUES};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// One recurrent kind: its DSL name, its gates per hidden unit, its state blocks (h, and c for an LSTM), and
/// its runtime cell.
pub struct Recurrent {
    name: &'static str,
    gates: usize,
    states: usize,
    /// The runtime cell type; for `RNN`, the one for `nonlinearity = relu` second.
    cells: &'static [&'static str],
}

pub const RNN: Recurrent = Recurrent { name: "RNN", gates: 1, states: 1, cells: &["RnnTanh", "RnnRelu"] };
pub const LSTM: Recurrent = Recurrent { name: "LSTM", gates: 4, states: 2, cells: &["LstmCell"] };
pub const GRU: Recurrent = Recurrent { name: "GRU", gates: 3, states: 1, cells: &["GruCell"] };

const INITS: &[&str] = &["pytorch", "orthogonal"];
const INIT_VARIANTS: &[&str] = &["PyTorch", "Orthogonal"];
const NONLINEARITIES: &[&str] = &["tanh", "relu"];

impl Kind for Recurrent {
    fn name(&self) -> &'static str {
        self.name
    }

    fn doc(&self) -> Doc {
        let shape = match self.name {
            "RNN" => "`[T, IN] → [T, HIDDEN·D]` (D = 2 if bidirectional); `init` is `pytorch` or `orthogonal`, `nonlinearity` `tanh` or `relu`",
            _ => "`[T, IN] → [T, HIDDEN·D]` (D = 2 if bidirectional); `init` is `pytorch` or `orthogonal`",
        };
        Doc { arguments: "input features per step, hidden units", shape }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let (declared, hidden) = (args.size("IN"), args.size("HIDDEN"));
        let layers = args.option_count("layers", 1);
        let bidirectional = args.option_bool("bidirectional", false);
        let bias = args.option_bool("bias", true);
        let mut dropout = args.option_float("dropout", 0.0);
        let init = args.option_choice("init", INITS, 0);
        let cell = if self.name == "RNN" { args.option_choice("nonlinearity", NONLINEARITIES, 0) } else { 0 };
        let decl = args.declaration();
        let layers = if layers == 0 {
            args.error(format!(
                "`{decl}` has layers = 0, but a recurrent layer needs at least one: `layers` counts the stacked \
                 layers (PyTorch's `num_layers`), so write `layers = 1` or leave it out"
            ));
            1
        } else {
            layers
        };
        if !(0.0..1.0).contains(&dropout) {
            args.error(format!(
                "`{decl}` has dropout {}, but it must be at least 0 and below 1 (the probability of dropping each \
                 value between stacked layers, PyTorch's `dropout`)",
                format_float(dropout)
            ));
            dropout = 0.0;
        } else if dropout > 0.0 && layers == 1 {
            args.error(format!(
                "`{decl}` has dropout {} but one layer: the option drops values between stacked layers, so with \
                 `layers = 1` it would do nothing; stack layers (`layers = 2`) or put a `Dropout<{}>` after it",
                format_float(dropout),
                format_float(dropout)
            ));
            dropout = 0.0;
        }
        let dirs = if bidirectional { 2 } else { 1 };
        let Some(hidden) = hidden else { return Checked::unknown() };
        let sequence = sequence_input(args, input);
        let Some(width) = sized(args, &[dirs, hidden], || hidden * dirs) else { return Checked::unknown() };
        let output = match Shape::sequence(sequence.and_then(|(steps, _)| steps), width) {
            Ok(Shape::Sequence { steps, len, limit, .. }) => {
                Shape::Sequence { steps, len, from: Some((dirs, hidden)), limit }
            }
            Ok(other) => other,
            Err(message) => {
                args.error(format!("`{decl}`: {message}"));
                return Checked::unknown();
            }
        };
        if sequence.is_none() {
            // Reported (or unknown): later layers are checked against the sequence this layer would give.
            return Checked::output(output);
        }
        let Some(inputs) = declared.and_then(|d| flat_features(args, input, d)) else { return Checked::output(output) };
        // Each weight, then all of them (`hidden·dirs` is checked above, so these products cannot overflow).
        let rows = self.gates * hidden;
        let upper = if layers > 1 { width } else { 0 };
        let block = rows * inputs.max(upper) + rows * hidden + 2 * rows;
        if ![[rows, inputs], [rows, hidden], [rows, upper.max(1)]].iter().all(|dims| sized(args, dims, || ()).is_some())
        {
            return Checked::output(output);
        }
        if product(&[layers, dirs, block]).is_err() {
            args.error(format!(
                "`{decl}` would hold {layers} layer{} × {dirs} direction{} × {block} parameters, more than `nn` \
                 allows in one layer (2^31 = {MAX_VALUES}, 8 GiB of f32)",
                plural(layers),
                plural(dirs)
            ));
            return Checked::output(output);
        }
        let init = INIT_VARIANTS[init];
        let (cell, gates, states) = (self.cells[cell], self.gates, self.states);
        Checked::layer(
            output,
            RecurrentLayer { cell, gates, states, inputs, hidden, layers, dirs, bias, dropout, init },
        )
    }
}

struct RecurrentLayer {
    cell: &'static str,
    gates: usize,
    states: usize,
    inputs: usize,
    hidden: usize,
    layers: usize,
    dirs: usize,
    bias: bool,
    dropout: f64,
    init: &'static str,
}

impl Layer for RecurrentLayer {
    fn tensors(&self) -> Vec<Tensor> {
        let rows = self.gates * self.hidden;
        let mut tensors = Vec::new();
        for l in 0..self.layers {
            let input = if l == 0 { self.inputs } else { self.hidden * self.dirs };
            for d in 0..self.dirs {
                let suffix = if d == 1 { "_reverse" } else { "" };
                tensors.push((format!("weight_ih_l{l}{suffix}"), vec![rows, input]));
                tensors.push((format!("weight_hh_l{l}{suffix}"), vec![rows, self.hidden]));
                if self.bias {
                    tensors.push((format!("bias_ih_l{l}{suffix}"), vec![rows]));
                    tensors.push((format!("bias_hh_l{l}{suffix}"), vec![rows]));
                }
            }
        }
        tensors
    }

    fn macs(&self) -> Macs {
        // Per time step, each stacked layer and direction multiplies its input and its hidden state into the
        // gates. Backward: the weight gradients, the hidden state's gradient through time and the gradient into
        // the stacked layers above the first, as many again; the first layer's input gradient is optional.
        let rows = (self.gates * self.hidden * self.dirs) as u64;
        let inputs = |l: usize| (if l == 0 { self.inputs } else { self.hidden * self.dirs }) as u64;
        let forward: u64 = (0..self.layers).map(|l| rows * (inputs(l) + self.hidden as u64)).sum();
        let input_grad = rows * inputs(0);
        Macs { forward, backward: 2 * forward - input_grad, input_grad }
    }

    fn runtime_type(&self) -> TokenStream {
        let cell = format_ident!("{}", self.cell);
        let (i, h, l, d, bias) = (lit(self.inputs), lit(self.hidden), lit(self.layers), lit(self.dirs), self.bias);
        let rt = crate::krate::private();
        quote!(Recurrent<#rt::layers::#cell, #i, #h, #l, #d, #bias>)
    }

    fn constructor(&self, at: &Placement) -> TokenStream {
        let (offset, dropout, stream) = (lit(at.params), f32_lit(self.dropout), at.index as u64);
        let init = format_ident!("{}", self.init);
        let rt = crate::krate::private();
        quote!(new(#offset, #dropout, #stream, #rt::layers::RecurrentInit::#init))
    }

    fn state(&self) -> usize {
        self.layers * self.dirs * self.states * self.hidden
    }

    fn streams(&self) -> bool {
        self.dirs == 1
    }
}
