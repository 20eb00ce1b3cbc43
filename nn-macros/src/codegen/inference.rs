//! The forward pass every build has: `__forward`, generic over how its buffers are held (the `Network` impl's
//! chunks run it on a workspace's `Vec`s), and `forward_static`, one sample on slices of one array the caller
//! provides — the inference of a `no_std` build, with no allocation, no threads and no run-time dispatch.

use super::{array_type, passes};
use crate::graph::Graph;
use crate::layers::lit;
use crate::parse::Network;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The parts of `forward_static`'s buffer, in order, as constant expressions: `STATIC_FLOATS` adds them up and
/// `forward_static` cuts its buffer into them.
pub struct StaticParts {
    /// Each activation buffer's values for one sample.
    pub acts: Vec<usize>,
    /// Per running layer, what it keeps in inference (`rows × FORWARD_SAVED_PER_ROW`).
    pub saved: Vec<TokenStream>,
    /// Per running layer, what it keeps for a backward pass (`rows × SAVED_PER_ROW`).
    pub train_saved: Vec<TokenStream>,
    /// Per running layer, its recurrent state.
    pub states: Vec<TokenStream>,
    /// The whole-batch layers' statistics, in all.
    pub stats: TokenStream,
    /// The largest scratch any layer's forward pass uses (the scratch is shared).
    pub scratch: TokenStream,
}

impl StaticParts {
    pub fn new(graph: &Graph) -> Self {
        let rt = crate::krate::private();
        let layer = quote!(#rt::layers::Layer);
        let running: Vec<_> = graph.running().map(|(_, l)| l).collect();
        let max_rows = lit(graph.values.iter().enumerate().map(|(v, _)| graph.rows_per_sample(v)).max().unwrap_or(1));
        let stats = graph.stages.iter().map(|&k| match &graph.steps[k] {
            crate::graph::Step::Layer { layer, .. } => graph.layers[*layer].ty.clone(),
            _ => unreachable!("a whole-batch layer"),
        });
        let scratch = running.iter().map(|l| {
            let t = &l.ty;
            quote!(<#t as #layer>::FORWARD_SCRATCH + #max_rows * <#t as #layer>::FORWARD_SCRATCH_PER_ROW)
        });
        let saved = |per_row: TokenStream| -> Vec<TokenStream> {
            running
                .iter()
                .map(|l| {
                    let (r, t) = (lit(graph.rows_per_sample(l.input)), &l.ty);
                    quote!(#r * <#t as #layer>::#per_row)
                })
                .collect()
        };
        let mut acts = vec![0; graph.activations.len()];
        for (v, value) in graph.values.iter().enumerate().filter(|(_, v)| v.buffer > 0) {
            acts[value.buffer - 1] = value.width * graph.rows_per_sample(v);
        }
        StaticParts {
            acts,
            saved: saved(quote!(FORWARD_SAVED_PER_ROW)),
            train_saved: saved(quote!(SAVED_PER_ROW)),
            states: running
                .iter()
                .map(|l| {
                    let t = &l.ty;
                    quote!(<#t as #layer>::STATE)
                })
                .collect(),
            stats: quote!(0 #(+ <#stats as #layer>::STATS)*),
            scratch: quote!(#rt::max_of(&[#(#scratch),*])),
        }
    }
}

/// The zero value of a sample type: `[[0.0; W]; H]`.
fn zero(shape: &Shape) -> TokenStream {
    shape.dims().iter().rev().fold(quote!(0.0f32), |inner, &d| {
        let d = lit(d);
        quote!([#inner; #d])
    })
}

/// `__forward` and, for inputs of fixed size, `forward_static`.
pub fn inference(net: &Network, graph: &Graph) -> TokenStream {
    let rt = crate::krate::private();
    let name = &net.name;
    let forward = passes::forward(graph);
    let fixed = !graph.input.any_length();
    let forward_static = fixed.then(|| forward_static(graph));
    quote! {
        impl #name {
            /// The forward pass of one chunk of samples over `buffers` (generated; not for users).
            #[doc(hidden)]
            #[allow(unused_variables, unused_mut, dead_code)]
            #[inline]
            fn __forward<B: ::core::convert::AsRef<[f32]> + ::core::convert::AsMut<[f32]>>(
                model: #rt::Model<'_>,
                buffers: #rt::PassBuffers<'_, B>,
                input: &[f32],
                pass: &#rt::Pass<'_>,
                stats: &[f32],
                stage: ::core::option::Option<usize>,
            ) {
                let (rows, samples) = (pass.rows(), pass.samples);
                let #rt::PassBuffers { acts, saved, scratch, partials, states } = buffers;
                #forward
            }

            #forward_static
        }
    }
}

/// `forward_static`: the buffer cut into the pass's buffers, in the order `STATIC_FLOATS` counts them.
fn forward_static(graph: &Graph) -> TokenStream {
    let rt = crate::krate::private();
    let (input_ty, output_ty) = (array_type(&graph.input), array_type(&graph.output_shape));
    let StaticParts { acts: act_lens, saved: saved_lens, states: state_lens, stats: stats_len, .. } =
        StaticParts::new(graph);
    let act_lens = act_lens.into_iter().map(lit);
    let acts: Vec<_> = (0..graph.activations.len()).map(|k| format_ident!("act{}", k)).collect();
    let n_running = graph.running().count();
    let saved: Vec<_> = (0..n_running).map(|k| format_ident!("saved{}", k)).collect();
    let states: Vec<_> = (0..n_running).map(|k| format_ident!("state{}", k)).collect();
    let (n_acts, n_steps) = (lit(acts.len()), lit(n_running));
    let steps = lit(graph.rows_per_sample(0));
    let output = graph.output;
    let (output_buffer, output_len) =
        (lit(graph.values[output].buffer), lit(graph.values[output].width * graph.rows_per_sample(output)));
    let zero = zero(&graph.output_shape);
    quote! {
        /// The output for one sample, in eval mode, computed in `buffer` (which may live in a `static`): no
        /// allocation, no threads, nothing shared, and in a `no_std` build the instruction sets the crate was
        /// compiled for. Gives what `forward` gives in eval mode, up to rounding (the products run row by row).
        /// A token id out of the vocabulary panics.
        pub fn forward_static(&self, x: &#input_ty, buffer: &mut [f32; Self::STATIC_FLOATS]) -> #output_ty {
            let rest: &mut [f32] = buffer;
            #(let (#acts, rest) = rest.split_at_mut(#act_lens);)*
            #(let (#saved, rest) = rest.split_at_mut(#saved_lens);)*
            #(let (#states, rest) = rest.split_at_mut(#state_lens);)*
            // The rest, `STATIC_FLOATS` minus all the above, is the largest scratch.
            let (stats, scratch) = rest.split_at_mut(#stats_len);
            // Recurrent layers start from zero states; batch norm in eval mode reads no statistics.
            #(#states.fill(0.0);)*
            stats.fill(0.0);
            let mut acts: [&mut [f32]; #n_acts] = [#(#acts),*];
            let mut saved: [&mut [f32]; #n_steps] = [#(#saved),*];
            let mut states: [&mut [f32]; #n_steps] = [#(#states),*];
            let input: &[f32] = <#input_ty as #rt::Example>::values(x);
            let pass = #rt::Pass {
                mode: #rt::Mode::Eval, seed: 0, step: 0, first: 0, batch: 1, samples: 1, steps: #steps,
                lengths: &[], backward: false, param_grads: false, loss_scale: 0.0,
            };
            let model = #rt::Model { params: &self.params[..], buffers: &self.buffers[..] };
            let buffers = #rt::PassBuffers {
                acts: &mut acts[..], saved: &mut saved[..], scratch, partials: &mut [], states: &mut states[..],
            };
            Self::__forward(model, buffers, input, &pass, stats, ::core::option::Option::None);
            let mut y: #output_ty = #zero;
            <#output_ty as #rt::Sample>::flat_mut(::core::slice::from_mut(&mut y))
                .copy_from_slice(#rt::buffer(input, &acts[..], #output_buffer, #output_len));
            y
        }
    }
}

/// `step_static`: one step of a stream in a `forward_static` buffer, the state the caller's (`values` checks the
/// step's input and where the stream stands).
pub fn step_static(graph: &Graph, step_input: &TokenStream, values: &TokenStream) -> TokenStream {
    let rt = crate::krate::private();
    let StaticParts { acts: act_lens, saved: saved_lens, states: state_lens, stats: stats_len, .. } =
        StaticParts::new(graph);
    let act_lens = act_lens.into_iter().map(lit);
    let acts: Vec<_> = (0..graph.activations.len()).map(|k| format_ident!("act{}", k)).collect();
    let n_running = graph.running().count();
    let saved: Vec<_> = (0..n_running).map(|k| format_ident!("saved{}", k)).collect();
    let (n_acts, n_steps) = (lit(acts.len()), lit(n_running));
    let output = graph.output;
    let (output_buffer, output_len) = (lit(graph.values[output].buffer), lit(graph.values[output].width));
    let state: usize = graph.layers.iter().map(|l| l.layer.state()).sum();
    let state = lit(state);
    quote! {
        /// [`Self::step`] in `buffer` (which may live in a `static`), in every build: no allocation, no
        /// threads, nothing shared. Feeds one time step `x`, the network's state before it in `state` and
        /// after it on return; gives the output at this step. A stream of steps from
        /// [`Self::initial_state`] gives what `forward_static` gives on the whole sequence, up to rounding.
        #[track_caller]
        pub fn step_static(
            &self,
            x: #step_input,
            state: &mut [f32; #state],
            buffer: &mut [f32; Self::STATIC_FLOATS],
        ) -> [f32; #output_len] {
            #values
            let rest: &mut [f32] = buffer;
            #(let (#acts, rest) = rest.split_at_mut(#act_lens);)*
            #(let (#saved, rest) = rest.split_at_mut(#saved_lens);)*
            // The buffer's part for states stays unused: the layers read and write the caller's state in place.
            let rest = &mut rest[#(#state_lens)+*..];
            let (stats, scratch) = rest.split_at_mut(#stats_len);
            stats.fill(0.0);
            let mut acts: [&mut [f32]; #n_acts] = [#(#acts),*];
            let mut saved: [&mut [f32]; #n_steps] = [#(#saved),*];
            let mut layer_states: [&mut [f32]; #n_steps] = #rt::split_states(state, Self::__NN_PLAN.states);
            let input: &[f32] = x;
            let pass = #rt::Pass {
                mode: #rt::Mode::Eval, seed: 0, step: 0, first: 0, batch: 1, samples: 1, steps: 1,
                lengths: &[], backward: false, param_grads: false, loss_scale: 0.0,
            };
            let model = #rt::Model { params: &self.params[..], buffers: &self.buffers[..] };
            let buffers = #rt::PassBuffers {
                acts: &mut acts[..], saved: &mut saved[..], scratch, partials: &mut [],
                states: &mut layer_states[..],
            };
            Self::__forward(model, buffers, input, &pass, stats, ::core::option::Option::None);
            let mut y = [0.0f32; #output_len];
            y.copy_from_slice(#rt::buffer(input, &acts[..], #output_buffer, #output_len));
            y
        }
    }
}
