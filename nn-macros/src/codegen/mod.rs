//! Stage 3: a checked network into Rust. Every runtime item is named through `::nn::__private`, so users need
//! only the facade crate.
//!
//! The forward pass is one block per layer in order, the backward pass one block per layer in reverse; every
//! size is a literal. `Flatten` emits nothing: activations are flat row-major buffers already, so its output
//! buffer is its input buffer.

mod cost;
mod inference;
mod passes;
mod placeholder;
pub mod plan;
mod tables;

pub use placeholder::placeholder;

use crate::check::Checked;
use crate::layers::{lit, runtime_path, Placement};
use crate::parse::Network;
use crate::shape::Shape;
use plan::Plan;
use proc_macro2::TokenStream;
use quote::quote;

/// The generated struct, its descriptor constants, its single-sample inference, and (with `std`) its `Network`
/// impl. What needs `std` is wrapped in `if_std!`, which the runtime expands to nothing in a `no_std` build;
/// there the struct borrows `'static` weights instead (`if_no_std!`).
pub fn network(net: &Network, checked: &Checked) -> TokenStream {
    let rt = quote!(::nn::__private);
    let name = &net.name;
    let plan = Plan::new(checked);
    let definition = definition(net, checked, &plan);
    let static_definition = static_definition(net, checked, &plan);
    let constants = constants(net, checked, &plan);
    let assertions = tables::assertions(checked, &plan);
    let implementation = implementation(net, checked, &plan);
    let streaming = streaming(net, checked);
    let inference = inference::inference(net, checked, &plan);
    let (errors, pretrained, static_pretrained) = match &net.weights {
        Some((attr, path)) => {
            let embedded = crate::weights::embed(attr, path, checked, &plan);
            let pretrained = crate::weights::pretrained(embedded.as_ref().ok(), path);
            let static_pretrained = crate::weights::static_pretrained(embedded.as_ref().ok(), path, &plan);
            (embedded.err().map(|e| e.to_compile_error()), Some(pretrained), Some(static_pretrained))
        }
        None => (None, None, None),
    };
    quote! {
        #errors
        #rt::if_std! {
            #definition
            impl #name {
                /// A network with parameters initialised from `seed`.
                pub fn new(seed: u64) -> Self {
                    <Self as ::nn::__private::Network>::new(seed)
                }
                #pretrained
            }
            #streaming
            #implementation
        }
        #rt::if_no_std! {
            #static_definition
            impl #name { #static_pretrained }
        }
        #constants
        #inference
        // The macro's shape arithmetic, checked a second time by the runtime's own constants.
        #assertions
    }
}

/// The struct: a public field per named layer or layer with parameters, the parameter and buffer arrays, and
/// the hidden state.
fn definition(net: &Network, checked: &Checked, plan: &Plan) -> TokenStream {
    let rt = quote!(::nn::__private);
    let Network { attrs, vis, name, .. } = net;
    let doc = tables::summary_doc(checked, plan.total_params);
    let fields = checked.layers.iter().filter(|l| l.has_field()).map(|l| {
        let (field, ty) = (&l.field, runtime_path(&*l.layer));
        let params = l.layer.params();
        let doc = format!(
            "`{}`: output {}, {params} parameter{}.",
            l.declaration,
            l.output.short(),
            if params == 1 { "" } else { "s" }
        );
        quote!(#[doc = #doc] pub #field: #ty)
    });
    quote! {
        #(#attrs)*
        #[doc = #doc]
        #vis struct #name {
            #(#fields,)*
            /// All parameters in one contiguous buffer, in the order of `Network::TENSORS`. Layer fields give typed
            /// views into it, e.g. `net.fc1.weight(&net.params)`.
            pub params: #rt::Params,
            /// Buffers: state saved with the weights but not trained (batch norm's running statistics), in the
            /// order of `Network::BUFFER_TENSORS`; empty without batch norm.
            pub buffers: #rt::Params,
            __nn: #rt::State,
        }
    }
}

/// The struct without `std`: the same fields, its weights borrowed from statics (flash on a device).
fn static_definition(net: &Network, checked: &Checked, plan: &Plan) -> TokenStream {
    let Network { attrs, vis, name, .. } = net;
    let doc = tables::summary_doc(checked, plan.total_params);
    let layers = checked.layers.iter().filter(|l| l.has_field());
    let fields = layers.clone().map(|l| {
        let (field, ty) = (&l.field, runtime_path(&*l.layer));
        let doc = format!("`{}`: output {}.", l.declaration, l.output.short());
        quote!(#[doc = #doc] pub #field: #ty)
    });
    let inits = layers.map(|l| {
        let (field, ident) = (&l.field, passes::layer_const(l.index));
        quote!(#field: Self::#ident)
    });
    let (params, buffers) = (lit(plan.total_params), lit(plan.total_buffers));
    quote! {
        #(#attrs)*
        #[doc = #doc]
        #vis struct #name {
            #(#fields,)*
            /// All parameters, in `state_dict` order (as `Network::TENSORS` lists them with `std`).
            pub params: &'static [f32],
            /// Buffers (batch norm's running statistics), in `state_dict` order; empty without batch norm.
            pub buffers: &'static [f32],
        }

        impl #name {
            /// The network over weights that live in statics: `params` (`Self::PARAMS` values) and `buffers`
            /// (`Self::BUFFERS`), each tensor where `Self::TENSORS` and `Self::BUFFER_TENSORS` place it.
            pub const fn from_static(params: &'static [f32; #params], buffers: &'static [f32; #buffers]) -> Self {
                Self { #(#inits,)* params, buffers }
            }
        }
    }
}

/// One constant per layer holding its descriptor (the passes are associated functions and read them there), the
/// sizes of its buffers, and the cost model.
fn constants(net: &Network, checked: &Checked, plan: &Plan) -> TokenStream {
    let name = &net.name;
    let consts = checked.layers.iter().enumerate().map(|(i, l)| {
        let at = Placement { params: plan.params_at[i], buffers: plan.buffers_at[i], index: l.index };
        let (ident, ty, ctor) = (passes::layer_const(l.index), runtime_path(&*l.layer), l.layer.constructor(&at));
        quote!(#[doc(hidden)] const #ident: #ty = <#ty>::#ctor;)
    });
    let cost = cost::constants(checked, plan);
    let plan_const = tables::plan(checked, plan);
    let tensor_infos = tables::tensor_infos(checked, plan, false);
    let buffer_infos = tables::tensor_infos(checked, plan, true);
    let (total, total_buffers) = (lit(plan.total_params), lit(plan.total_buffers));
    let rt = quote!(::nn::__private);
    quote! {
        impl #name {
            /// Number of parameters.
            pub const PARAMS: usize = #total;
            /// Number of buffer values (batch norm's running statistics).
            pub const BUFFERS: usize = #total_buffers;
            /// The parameter tensors in `params` order, with `state_dict` names, shapes and offsets.
            pub const TENSORS: &'static [#rt::TensorInfo] = &[#(#tensor_infos),*];
            /// The buffer tensors in `buffers` order.
            pub const BUFFER_TENSORS: &'static [#rt::TensorInfo] = &[#(#buffer_infos),*];
            #(#consts)*
            #[doc(hidden)]
            const __NN_PLAN: ::nn::__private::Plan = #plan_const;
            #cost
        }
    }
}

/// `initial_state`, `step` and `step_with` for a network over sequences that can run one step at a time.
fn streaming(net: &Network, checked: &Checked) -> Option<TokenStream> {
    if !checked.input.is_sequence() || !checked.layers.iter().all(|l| l.layer.streams()) {
        return None;
    }
    let rt = quote!(::nn::__private);
    let name = &net.name;
    let (input, output) = (lit(checked.input.len()), lit(checked.output().len()));
    let state = lit(checked.layers.iter().map(|l| l.layer.state()).sum());
    Some(quote! {
        impl #name {
            /// The state a stream starts from: zeros, as PyTorch's default `h0` (and `c0`).
            pub fn initial_state(&self) -> [f32; #state] {
                [0.0; #state]
            }

            /// Feeds one time step `x` to the network, whose recurrent layers start from `state` and leave their
            /// state after the step in it; returns the network's output for the sequence so far (the output at
            /// this step). Feeding a sequence step by step from [`Self::initial_state`] gives the outputs of
            /// `forward` on the whole sequence. Runs in eval mode whatever the network's mode; allocates nothing.
            pub fn step(&mut self, x: &[f32; #input], state: &mut [f32; #state]) -> [f32; #output] {
                let mut y = [0.0; #output];
                #rt::stream_step_mut::<Self>(#rt::Network::parts_mut(self), x, state, &mut y);
                y
            }

            /// [`Self::step`] on a shared network with the caller's workspace (one per thread, from
            /// `Network::workspace`).
            pub fn step_with(
                &self,
                ws: &mut #rt::Workspace,
                x: &[f32; #input],
                state: &mut [f32; #state],
            ) -> [f32; #output] {
                let mut y = [0.0; #output];
                #rt::stream_step::<Self>(#rt::Network::parts(self), ws, x, state, &mut y);
                y
            }
        }
    })
}

/// `[[[f32; W]; H]; C]` for an image, `[f32; N]` for features, `[[f32; F]; T]` for a sequence of `T` steps and
/// `Vec<[f32; F]>` for one of any length.
pub fn array_type(shape: &Shape) -> TokenStream {
    if let Shape::Sequence { steps: None, len, .. } = shape {
        let len = lit(*len);
        return quote!(::std::vec::Vec<[f32; #len]>);
    }
    shape.dims().iter().rev().fold(quote!(f32), |inner, &d| {
        let d = lit(d);
        quote!([#inner; #d])
    })
}

/// The `Network` impl.
fn implementation(net: &Network, checked: &Checked, plan: &Plan) -> TokenStream {
    let rt = quote!(::nn::__private);
    let name = &net.name;
    let (input_ty, output_ty) = (array_type(&checked.input), array_type(checked.output()));
    let (total, total_buffers) = (lit(plan.total_params), lit(plan.total_buffers));
    let state = lit(checked.layers.iter().map(|l| l.layer.state()).sum());
    let layer_infos = tables::layer_infos(checked);
    let input_dims = checked.input.dims().into_iter().map(lit);
    let fields = checked.layers.iter().filter(|l| l.has_field()).map(|l| {
        let (field, ident) = (&l.field, passes::layer_const(l.index));
        quote!(#field: Self::#ident)
    });
    let inits =
        checked.layers.iter().enumerate().filter(|(_, l)| l.layer.params() + l.layer.buffer_len() > 0).map(|(i, l)| {
            let (p0, p1) = (lit(plan.params_at[i]), lit(plan.params_at[i] + l.layer.params()));
            let (b0, b1) = (lit(plan.buffers_at[i]), lit(plan.buffers_at[i] + l.layer.buffer_len()));
            let (ident, stream) = (passes::layer_const(l.index), l.index as u64);
            quote! {
                #rt::layers::Layer::init(
                    &Self::#ident,
                    &mut net.params[#p0..#p1],
                    &mut net.buffers[#b0..#b1],
                    &mut #rt::Rng::new(seed, #stream),
                );
            }
        });
    let backward = passes::backward(checked, plan);
    let ops = checked.layers.iter().map(|l| passes::layer_const(l.index));
    let finish = (!plan.stages.is_empty()).then(|| {
        let body = passes::finish(checked, plan);
        quote! {
            fn finish_stats(
                stage: usize,
                backward: bool,
                sums: &[f64],
                pass: &#rt::Pass<'_>,
                stats: &mut [f32],
                buffers: &mut [f32],
            ) -> ::core::result::Result<(), #rt::layers::BatchTooSmall> {
                #body
            }
        }
    });
    let no_layers_backward = plan.steps.is_empty().then(|| {
        quote! {
            if want_dx {
                let len = chunk_dx.len().min(g.len()).min(input.len());
                chunk_dx[..len].copy_from_slice(&g[..len]);
            }
        }
    });
    quote! {
        impl #rt::Network for #name {
            type Input = #input_ty;
            type Output = #output_ty;
            type State = [f32; #state];
            const PARAMS: usize = #name::PARAMS;
            const BUFFERS: usize = #name::BUFFERS;
            const LAYERS: &'static [#rt::LayerInfo] = &[#(#layer_infos),*];
            const TENSORS: &'static [#rt::TensorInfo] = #name::TENSORS;
            const BUFFER_TENSORS: &'static [#rt::TensorInfo] = #name::BUFFER_TENSORS;
            const INPUT_SHAPE: &'static [usize] = &[#(#input_dims),*];
            const FORWARD_MACS: u64 = #name::FORWARD_MACS;
            const TRAIN_MACS: u64 = #name::TRAIN_MACS;
            const INFER_ACTIVATION_BYTES: usize = #name::INFER_ACTIVATION_BYTES;
            const TRAIN_ACTIVATION_BYTES: usize = #name::TRAIN_ACTIVATION_BYTES;
            const STATIC_BYTES: usize = #name::STATIC_BYTES;
            const PLAN: #rt::Plan = Self::__NN_PLAN;

            fn new(seed: u64) -> Self {
                let mut net = Self {
                    #(#fields,)*
                    params: #rt::Params::zeros(#total),
                    buffers: #rt::Params::zeros(#total_buffers),
                    __nn: #rt::State::new::<Self>(seed),
                };
                #(#inits)*
                net
            }

            fn ops() -> ::std::vec::Vec<#rt::layers::Op> {
                ::std::vec![#(#rt::layers::Layer::op(&Self::#ops)),*]
            }

            fn parts(&self) -> #rt::Parts<'_> {
                #rt::Parts::new(&self.params, &self.buffers, &self.__nn)
            }

            fn parts_mut(&mut self) -> #rt::PartsMut<'_> {
                #rt::PartsMut::new(&mut self.params, &mut self.buffers, &mut self.__nn)
            }

            fn forward_chunk(
                model: #rt::Model<'_>,
                chunk: &mut #rt::Chunk,
                input: &[f32],
                pass: &#rt::Pass<'_>,
                stats: &[f32],
                stage: ::core::option::Option<usize>,
            ) {
                let #rt::Chunk { acts, saved, scratch, partials, states, .. } = chunk;
                let buffers = #rt::PassBuffers {
                    acts: &mut acts[..],
                    saved: &mut saved[..],
                    scratch: &mut scratch[..],
                    partials: &mut partials[..],
                    states: &mut states[..],
                };
                Self::__forward(model, buffers, input, pass, stats, stage);
            }

            #[allow(unused_variables, unused_mut)]
            fn backward_chunk(
                model: #rt::Model<'_>,
                chunk: &mut #rt::Chunk,
                input: &[f32],
                want_dx: bool,
                pass: &#rt::Pass<'_>,
                stats: &[f32],
                stage: ::core::option::Option<usize>,
            ) {
                let (rows, samples) = (pass.rows(), pass.samples);
                let #rt::Chunk { acts, saved, scratch, grad_out, grad_in, grads, partials, dx: chunk_dx, .. } = chunk;
                let (mut g, mut h): (&mut [f32], &mut [f32]) = (grad_out, grad_in);
                #backward
                #no_layers_backward
            }

            #finish
        }
    }
}
