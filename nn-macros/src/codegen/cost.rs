//! The compile-time cost model: multiply-adds per layer and per network, and the memory a network's weights and
//! activations take. Multiply-adds are the macro's own arithmetic (literals); byte counts that depend on what a
//! runtime layer keeps (its saved values and scratch) are constant expressions over the runtime's constants.

use super::inference::StaticParts;
use crate::graph::{Grad, Graph};
use crate::layers::lit;
use proc_macro2::TokenStream;
use quote::quote;

/// Multiply-adds per sample of each layer: of its forward pass, and of a training step (forward and backward;
/// the input gradient only where a layer with parameters comes before, as a training step computes no other).
/// A sequence of any length is counted per time step. Sums and concatenations of branches are not counted.
pub fn layer_macs(graph: &Graph) -> Vec<(u64, u64)> {
    graph
        .layers
        .iter()
        .map(|l| {
            let (m, r) = (l.layer.macs(), graph.rows_per_sample(l.input) as u64);
            let input_grad = if graph.values[l.input].grad == Grad::Always { m.input_grad } else { 0 };
            (m.forward * r, (m.forward + m.backward + input_grad) * r)
        })
        .collect()
}

/// The cost constants, as items of an `impl` block (inherent, so they work without the `Network` trait too).
pub fn constants(graph: &Graph) -> TokenStream {
    let macs = layer_macs(graph);
    let forward: u64 = macs.iter().map(|m| m.0).sum();
    let train: u64 = macs.iter().map(|m| m.1).sum();
    let StaticParts { acts, saved, train_saved, states, stats, scratch } = StaticParts::new(graph);
    let activations: usize = acts.iter().sum();
    let (saved, train_saved) = (quote!(0 #(+ #saved)*), quote!(0 #(+ #train_saved)*));
    let max_rows = (0..graph.values.len()).map(|v| graph.rows_per_sample(v)).max().unwrap_or(1);
    let (forward, train) = (proc_macro2::Literal::u64_unsuffixed(forward), proc_macro2::Literal::u64_unsuffixed(train));
    let (activations, gradients) = (lit(activations), lit(graph.slots.count.max(1) * graph.width * max_rows));
    quote! {
        /// Multiply-adds of one forward pass per sample (per time step for sequences of any length), counted in
        /// the products of `Linear`, `Conv2d`, `Maxout` and the recurrent layers; per layer in `LAYERS`.
        pub const FORWARD_MACS: u64 = #forward;
        /// Multiply-adds of one training step per sample: the forward pass, the weight gradients and the input
        /// gradients of every layer after the first with parameters.
        pub const TRAIN_MACS: u64 = #train;
        /// Bytes of the weights: every parameter and buffer value as `f32`.
        pub const PARAM_BYTES: usize = 4 * (Self::PARAMS + Self::BUFFERS);
        /// Bytes of activations per sample in inference: every layer's output, as the runtime keeps them.
        pub const INFER_ACTIVATION_BYTES: usize = 4 * #activations;
        /// Bytes of activations per sample in training: the layers' outputs, what each keeps for its backward
        /// pass, and the gradient buffers of the backward pass.
        pub const TRAIN_ACTIVATION_BYTES: usize = 4 * (#activations + #gradients + #train_saved);
        /// `f32` values of the buffer a forward pass of one sample needs in `forward_static` (the `no_std`
        /// inference): the layers' outputs, what they save, the recurrent states, batch norm's statistics and the
        /// largest scratch.
        pub const STATIC_FLOATS: usize =
            #activations + #saved #(+ #states)* + #stats + #scratch;
        /// Bytes of [`Self::STATIC_FLOATS`].
        pub const STATIC_BYTES: usize = 4 * Self::STATIC_FLOATS;
    }
}
