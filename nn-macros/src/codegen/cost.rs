//! The compile-time cost model: multiply-adds per layer and per network, and the memory a network's weights and
//! activations take. Multiply-adds are the macro's own arithmetic (literals); byte counts that depend on what a
//! runtime layer keeps (its saved values and scratch) are constant expressions over the runtime's constants.

use super::inference;
use super::plan::Plan;
use crate::check::{Checked, CheckedLayer};
use crate::layers::{lit, runtime_path};
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

/// Rows of `shape` per sample: its steps for a sequence of fixed length, else one (a sequence of any length is
/// counted per time step).
fn rows(shape: &Shape) -> u64 {
    match shape {
        Shape::Sequence { steps: Some(t), .. } => *t as u64,
        _ => 1,
    }
}

/// Multiply-adds per sample of each layer: of its forward pass, and of a training step (forward and backward;
/// the first layer with parameters computes no input gradient, nor does anything before it).
pub fn layer_macs(checked: &Checked) -> Vec<(u64, u64)> {
    let mut seen_params = false;
    checked
        .layers
        .iter()
        .map(|l: &CheckedLayer| {
            let (m, r) = (l.layer.macs(), rows(&l.input));
            let input_grad = if seen_params { m.input_grad } else { 0 };
            seen_params |= l.layer.params() > 0;
            (m.forward * r, (m.forward + m.backward + input_grad) * r)
        })
        .collect()
}

/// The cost constants, as items of an `impl` block (inherent, so they work without the `Network` trait too).
pub fn constants(checked: &Checked, plan: &Plan) -> TokenStream {
    let rt = quote!(::nn::__private);
    let layer = quote!(#rt::layers::Layer);
    let macs = layer_macs(checked);
    let forward: u64 = macs.iter().map(|m| m.0).sum();
    let train: u64 = macs.iter().map(|m| m.1).sum();
    let buffer_rows = |k: usize| inference::buffer_rows(checked, plan, k);
    let activations: usize = (1..=plan.activations.len()).map(|k| plan.activations[k - 1].0 * buffer_rows(k)).sum();
    let max_rows = (0..=plan.activations.len()).map(buffer_rows).max().unwrap_or(1);
    let types: Vec<TokenStream> = plan.steps.iter().map(|s| runtime_path(&*checked.layers[s.layer].layer)).collect();
    let saved = plan.steps.iter().zip(&types).map(|(s, t)| {
        let r = lit(buffer_rows(s.from));
        quote!(#r * <#t as #layer>::SAVED_PER_ROW)
    });
    let saved = quote!(0 #(+ #saved)*);
    // Layers share one scratch, sized for the longest buffer's rows, as a workspace sizes it.
    let scratch = types.iter().map(|t| {
        let r = lit(max_rows);
        quote!(<#t as #layer>::FORWARD_SCRATCH + #r * <#t as #layer>::FORWARD_SCRATCH_PER_ROW)
    });
    let states = types.iter().map(|t| quote!(<#t as #layer>::STATE));
    let stats = plan.stages.iter().map(|&k| {
        let t = &types[k];
        quote!(<#t as #layer>::STATS)
    });
    let (forward, train) = (proc_macro2::Literal::u64_unsuffixed(forward), proc_macro2::Literal::u64_unsuffixed(train));
    let (activations, gradients) = (lit(activations), lit(2 * plan.width * max_rows));
    let weights = lit(4 * (plan.total_params + plan.total_buffers));
    quote! {
        /// Multiply-adds of one forward pass per sample (per time step for sequences of any length), counted in
        /// the products of `Linear`, `Conv2d`, `Maxout` and the recurrent layers; per layer in `LAYERS`.
        pub const FORWARD_MACS: u64 = #forward;
        /// Multiply-adds of one training step per sample: the forward pass, the weight gradients and the input
        /// gradients of every layer after the first with parameters.
        pub const TRAIN_MACS: u64 = #train;
        /// Bytes of the weights: every parameter and buffer value as `f32`.
        pub const PARAM_BYTES: usize = #weights;
        /// Bytes of activations per sample in inference: every layer's output, as the runtime keeps them.
        pub const INFER_ACTIVATION_BYTES: usize = 4 * #activations;
        /// Bytes of activations per sample in training: the layers' outputs, what each keeps for its backward
        /// pass, and the two gradient buffers.
        pub const TRAIN_ACTIVATION_BYTES: usize = 4 * (#activations + #gradients + #saved);
        /// `f32` values of the buffer a forward pass of one sample needs in `forward_static` (the `no_std`
        /// inference): the layers' outputs, what they save, the recurrent states, batch norm's statistics and the
        /// largest scratch.
        pub const STATIC_FLOATS: usize =
            #activations + #saved #(+ #states)* #(+ #stats)* + #rt::max_of(&[#(#scratch),*]);
        /// Bytes of [`Self::STATIC_FLOATS`].
        pub const STATIC_BYTES: usize = 4 * Self::STATIC_FLOATS;
    }
}
