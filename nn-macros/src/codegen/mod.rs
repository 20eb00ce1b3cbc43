//! Stage 4: the lowered graph into Rust. Every runtime item is named through the facade's `__private` module (see `krate`), so users need
//! only the facade crate.
//!
//! The forward pass is one block per step in order, the backward pass one block per step in reverse; every size
//! is a literal. A layer that only reshapes its input (`Flatten`) emits nothing: activations are flat row-major
//! buffers already, so its output is its input's buffer. Every generator reads the graph (`crate::graph`) and
//! nothing else.

mod cost;
mod inference;
mod passes;
mod placeholder;
mod structs;
mod tables;

pub use placeholder::placeholder;

use crate::graph::Graph;
use crate::layers::{lit, Placement};
use crate::parse::Network;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

/// The generated struct (and its blocks' structs), its descriptor constants, its single-sample inference, and
/// (with `std`) its `Network` impl. What needs `std` is wrapped in `if_std!`, which the runtime expands to
/// nothing in a `no_std` build; there the struct borrows `'static` weights instead (`if_no_std!`).
pub fn network(net: &Network, graph: &Graph) -> TokenStream {
    let rt = crate::krate::private();
    let name = &net.name;
    let block_types = structs::block_types(net, graph);
    let definition = definition(net, graph);
    let static_definition = static_definition(net, graph);
    let constants = constants(net, graph);
    let assertions = tables::assertions(graph);
    let implementation = implementation(net, graph);
    let (streaming, stream_static) = streaming(net, graph).unzip();
    let inference = inference::inference(net, graph);
    let (errors, pretrained, static_pretrained) = match &net.weights {
        Some((attr, path)) => {
            let embedded = crate::weights::embed(attr, path, graph);
            let pretrained = crate::weights::pretrained(embedded.as_ref().ok(), path);
            let static_pretrained = crate::weights::static_pretrained(embedded.as_ref().ok(), path, graph);
            (embedded.err().map(|e| e.to_compile_error()), Some(pretrained), Some(static_pretrained))
        }
        None => (None, None, None),
    };
    quote! {
        #errors
        #block_types
        #rt::if_std! {
            #definition
            impl #name {
                /// A network with parameters initialised from `seed`.
                pub fn new(seed: u64) -> Self {
                    <Self as #rt::Network>::new(seed)
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
        #stream_static
        // The macro's shape arithmetic, checked a second time by the runtime's own constants.
        #assertions
    }
}

/// The struct: a public field per named layer, layer with parameters and named block, the parameter and buffer
/// arrays, and the hidden state.
fn definition(net: &Network, graph: &Graph) -> TokenStream {
    let rt = crate::krate::private();
    let Network { attrs, vis, name, .. } = net;
    let doc = tables::summary_doc(graph);
    let fields = structs::declarations(graph, &graph.fields);
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
fn static_definition(net: &Network, graph: &Graph) -> TokenStream {
    let Network { attrs, vis, name, .. } = net;
    let doc = tables::summary_doc(graph);
    let fields = structs::declarations(graph, &graph.fields);
    let inits = structs::initializers(graph, &graph.fields);
    let (params, buffers) = (lit(graph.total_params), lit(graph.total_buffers));
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
fn constants(net: &Network, graph: &Graph) -> TokenStream {
    let name = &net.name;
    let consts = graph.layers.iter().map(|l| {
        let at = Placement { params: l.params.start, buffers: l.buffers.start, index: l.stream };
        let (konst, ty, ctor) = (&l.konst, &l.ty, l.layer.constructor(&at));
        quote!(#[doc(hidden)] const #konst: #ty = <#ty>::#ctor;)
    });
    let cost = cost::constants(graph);
    let plan_const = tables::plan(graph);
    let tensor_infos = tables::tensor_infos(graph, false);
    let buffer_infos = tables::tensor_infos(graph, true);
    let (total, total_buffers) = (lit(graph.total_params), lit(graph.total_buffers));
    let rt = crate::krate::private();
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
            const __NN_PLAN: #rt::Plan = #plan_const;
            #cost
        }
    }
}

/// `initial_state`, `step` and `step_with` for a network over sequences that can run one step at a time.
/// With `std`, and in every build (`initial_state`, and for inputs of fixed size `step_static`).
fn streaming(net: &Network, graph: &Graph) -> Option<(TokenStream, TokenStream)> {
    if !graph.input.is_sequence() || !graph.layers.iter().all(|l| l.layer.streams()) {
        return None;
    }
    let rt = crate::krate::private();
    let name = &net.name;
    let (input, output) = (lit(graph.input.len()), lit(graph.output_shape.len()));
    let state = lit(graph.layers.iter().map(|l| l.layer.state()).sum());
    // One step's input: its features, or its token id (checked here: nothing else does in a stream).
    let (step_input, values) = match &graph.input {
        Shape::Tokens { vocab, .. } => {
            let vocab = lit(*vocab);
            let check = quote! {
                ::core::assert!(
                    (x as usize) < #vocab,
                    "token id {x} is out of range: the vocabulary has {} tokens (0..{})", #vocab, #vocab
                );
                let x = &[f32::from_bits(x)];
            };
            (quote!(u32), check)
        }
        _ => (quote!(&[f32; #input]), quote!()),
    };
    // A stream may not run past the positions of a table or a key/value cache.
    let values = match graph.position_limit() {
        Some((limit, at, shown)) => {
            let (limit, at) = (lit(limit), lit(at));
            quote! {
                #values
                ::core::assert!(
                    (state[#at] as usize) < #limit,
                    "the stream has used the {} positions of `{}`; start another from `initial_state()`",
                    #limit, #shown
                );
            }
        }
        None => values,
    };
    let (limit_doc, state_doc) = match graph.position_limit() {
        Some((limit, _, shown)) => (
            format!(
                " A stream holds at most {limit} steps (`{shown}`): a step past them panics, at the caller's line."
            ),
            " The state holds each causal attention layer's keys and values of the steps so far (its key/value \
             cache), so a step attends to them without recomputing them.",
        ),
        None => (String::new(), ""),
    };
    let step_static = (!graph.input.any_length()).then(|| inference::step_static(graph, &step_input, &values));
    let every_build = quote! {
        impl #name {
            /// The state a stream starts from: zeros — PyTorch's default `h0` (and `c0`) for recurrent layers,
            /// position 0 and nothing cached for positions and attention.
            pub fn initial_state(&self) -> [f32; #state] {
                [0.0; #state]
            }

            #step_static
        }
    };
    let with_std = quote! {
        impl #name {
            /// Feeds one time step `x` to the network, whose recurrent layers start from `state` and leave their
            /// state after the step in it; returns the network's output for the sequence so far (the output at
            /// this step). Feeding a sequence step by step from [`Self::initial_state`] gives the outputs of
            /// `forward` on the whole sequence. Runs in eval mode whatever the network's mode; allocates nothing.
            #[doc = #state_doc]
            #[doc = #limit_doc]
            #[track_caller]
            pub fn step(&mut self, x: #step_input, state: &mut [f32; #state]) -> [f32; #output] {
                #values
                let mut y = [0.0; #output];
                #rt::stream_step_mut::<Self>(#rt::Network::parts_mut(self), x, state, &mut y);
                y
            }

            /// [`Self::step`] on a shared network with the caller's workspace (one per thread, from
            /// `Network::workspace`).
            #[track_caller]
            pub fn step_with(
                &self,
                ws: &mut #rt::Workspace,
                x: #step_input,
                state: &mut [f32; #state],
            ) -> [f32; #output] {
                #values
                let mut y = [0.0; #output];
                #rt::stream_step::<Self>(#rt::Network::parts(self), ws, x, state, &mut y);
                y
            }
        }
    };
    Some((with_std, every_build))
}

/// `[[[f32; W]; H]; C]` for an image, `[f32; N]` for features, `[[f32; F]; T]` for a sequence of `T` steps and
/// `Vec<[f32; F]>` for one of any length; `u32`, `[u32; T]` and `Vec<u32>` for token ids.
/// A struct's name as a field's: `Encoder` → `encoder`, `CharGpt` → `char_gpt`, `VAEDecoder` → `vae_decoder`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let after_word = i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
        let ends_acronym = i > 0 && chars[i - 1].is_uppercase() && chars.get(i + 1).is_some_and(|n| n.is_lowercase());
        if c.is_uppercase() && (after_word || ends_acronym) {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

pub fn array_type(shape: &Shape) -> TokenStream {
    match shape {
        Shape::Sequence { steps: None, len, .. } => {
            let len = lit(*len);
            return quote!(::std::vec::Vec<[f32; #len]>);
        }
        Shape::Tokens { steps: None, .. } => return quote!(u32),
        Shape::Tokens { steps: Some(None), .. } => return quote!(::std::vec::Vec<u32>),
        Shape::Tokens { steps: Some(Some(t)), .. } => {
            let t = lit(*t);
            return quote!([u32; #t]);
        }
        _ => {}
    }
    shape.dims().iter().rev().fold(quote!(f32), |inner, &d| {
        let d = lit(d);
        quote!([#inner; #d])
    })
}

/// The `Network` impl.
fn implementation(net: &Network, graph: &Graph) -> TokenStream {
    let rt = crate::krate::private();
    let name = &net.name;
    let (input_ty, output_ty) = (array_type(&graph.input), array_type(&graph.output_shape));
    let (total, total_buffers) = (lit(graph.total_params), lit(graph.total_buffers));
    let state = lit(graph.layers.iter().map(|l| l.layer.state()).sum());
    let layer_infos = tables::layer_infos(graph);
    let (n_acts, n_running) = (lit(graph.activations.len()), lit(graph.running().count()));
    let input_dims = graph.input.dims().into_iter().map(lit);
    let fields = structs::initializers(graph, &graph.fields);
    let inits = graph.layers.iter().filter(|l| !l.params.is_empty() || !l.buffers.is_empty()).map(|l| {
        let (p0, p1, b0, b1) = (lit(l.params.start), lit(l.params.end), lit(l.buffers.start), lit(l.buffers.end));
        let (konst, stream) = (&l.konst, l.stream as u64);
        quote! {
            #rt::layers::Layer::init(
                &Self::#konst,
                &mut net.params[#p0..#p1],
                &mut net.buffers[#b0..#b1],
                &mut #rt::Rng::new(seed, #stream),
            );
        }
    });
    let backward = passes::backward(graph);
    let ops = graph.layers.iter().map(|l| &l.konst);
    let (indices, count) = ((0..graph.layers.len()).map(lit), lit(graph.layers.len()));
    let layer_loss = passes::layer_loss(graph);
    let snake = snake_case(&name.to_string());
    let finish = (!graph.stages.is_empty()).then(|| {
        let body = passes::finish(graph);
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
    quote! {
        impl #rt::Network for #name {
            type Input = #input_ty;
            type Output = #output_ty;
            type State = [f32; #state];
            const NAME: &'static str = #snake;
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
            #layer_loss

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

            fn op(layer: usize) -> #rt::layers::Op {
                match layer {
                    #(#indices => #rt::layers::Layer::op(&Self::#ops),)*
                    other => ::core::panic!("no layer {other}: the network has {}", #count),
                }
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
            fn forward_in_place(
                model: #rt::Model<'_>,
                chunk: &mut #rt::Chunk,
                input: &[f32],
                pass: &#rt::Pass<'_>,
                stats: &[f32],
                state: &mut [f32],
            ) {
                let #rt::Chunk { acts, saved, scratch, partials, .. } = chunk;
                // Every buffer a slice: the chunk's, and the layers' parts of the caller's state.
                let mut acts = acts.iter_mut();
                let mut acts: [&mut [f32]; #n_acts] = ::core::array::from_fn(|_| acts.next().unwrap().as_mut_slice());
                let mut saved = saved.iter_mut();
                let mut saved: [&mut [f32]; #n_running] =
                    ::core::array::from_fn(|_| saved.next().unwrap().as_mut_slice());
                let mut states: [&mut [f32]; #n_running] = #rt::split_states(state, Self::__NN_PLAN.states);
                let buffers = #rt::PassBuffers {
                    acts: &mut acts[..],
                    saved: &mut saved[..],
                    scratch: &mut scratch[..],
                    partials: &mut partials[..],
                    states: &mut states[..],
                };
                Self::__forward(model, buffers, input, pass, stats, ::core::option::Option::None);
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
                let #rt::Chunk { acts, saved, scratch, deltas, grads, partials, dx: chunk_dx, .. } = chunk;
                #backward
            }

            #finish
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn struct_names_become_field_names() {
        for (name, field) in [
            ("Encoder", "encoder"),
            ("CharGpt", "char_gpt"),
            ("VAEDecoder", "vae_decoder"),
            ("LeNet5", "le_net5"),
            ("MLP", "mlp"),
            ("Vit2d", "vit2d"),
        ] {
            assert_eq!(super::snake_case(name), field);
        }
    }
}
