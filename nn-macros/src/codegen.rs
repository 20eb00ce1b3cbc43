//! Stage 3: a checked network into Rust. Every runtime item is named through `::nn::__private`, so users need
//! only the facade crate.
//!
//! The forward pass is one block per layer in order, the backward pass one block per layer in reverse; every
//! size is a literal. `Flatten` emits nothing: activations are flat row-major buffers already, so its output
//! buffer is its input buffer.

use crate::check::{Checked, Kind, Layer, Partial, Tensors};
use crate::parse::Network;
use crate::shape::Shape;
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

/// The generated struct and its `Network` impl.
pub fn network(net: &Network, checked: &Checked) -> TokenStream {
    let Network { attrs, vis, name, .. } = net;
    let rt = quote!(::nn::__private);
    let input_ty = array_type(&checked.input);
    let output_ty = array_type(checked.output());
    let plan = Plan::new(checked);
    let total = plan.total_params;

    let fields = checked.layers.iter().map(|l| {
        let field = &l.field;
        let ty = layer_type(l);
        let doc = format!(
            "`{}`: output {}, {} parameter{}.",
            l.declaration,
            l.output.short(),
            l.kind.params(),
            if l.kind.params() == 1 { "" } else { "s" }
        );
        quote!(#[doc = #doc] pub #field: #ty)
    });
    let constructors = checked.layers.iter().zip(&plan.offsets).enumerate().map(|(index, (l, &offset))| {
        let field = &l.field;
        let value = layer_value(l, index, offset, &plan);
        quote!(#field: #value)
    });
    let inits = checked.layers.iter().zip(&plan.offsets).enumerate().filter(|(_, (l, _))| l.kind.params() > 0).map(
        |(index, (l, &offset))| {
            let field = &l.field;
            let end = offset + l.kind.params();
            let stream = index as u64;
            if matches!(l.kind, Kind::BatchNorm { .. }) {
                return quote!(net.#field.init(&mut net.params, &mut net.buffers););
            }
            quote! {
                #rt::layers::Layer::init(&net.#field, &mut net.params[#offset..#end], &mut #rt::Rng::new(seed, #stream));
            }
        },
    );
    let forward = plan.steps.iter().map(|s| {
        let field = &checked.layers[s.layer].field;
        let Step { from, to, in_len, out_len, offset, params, stage, .. } = *s;
        let end = offset + params;
        let io = quote!(let (x, y) = #rt::layer_io(input, acts, #from, #to, n * #in_len, n * #out_len););
        if let Some(j) = s.norm {
            let next = j + 1;
            return quote! {{
                #io
                match stage {
                    ::core::option::Option::None => self.#field.forward_eval(&params[#offset..#end], &self.buffers, x, y),
                    ::core::option::Option::Some(t) => {
                        if t == #j {
                            self.#field.partial_stats(x, partials);
                        }
                        if t == #next {
                            self.#field.forward_train(&params[#offset..#end], pass, x, y);
                        }
                    }
                }
            }};
        }
        quote! {
            if run(#stage) {
                #io
                #rt::layers::Layer::forward(&self.#field, &params[#offset..#end], x, y, scratch, pass);
            }
        }
    });
    let backward = plan.steps.iter().enumerate().rev().map(|(i, s)| {
        let field = &checked.layers[s.layer].field;
        let Step { from, to, in_len, out_len, offset, params, stage, .. } = *s;
        let end = offset + params;
        let dx = if i == 0 { quote!(dx.take()) } else { quote!(::core::option::Option::Some(&mut h[..n * #in_len])) };
        let io = quote! {
            #rt::layers::Backward {
                x: #rt::buffer(input, acts, #from, n * #in_len),
                y: #rt::buffer(input, acts, #to, n * #out_len),
                dy: &g[..n * #out_len],
                dx: #dx,
                pass: *pass,
            }
        };
        if let Some(j) = s.norm {
            let next = j + 1;
            return quote! {
                match stage {
                    ::core::option::Option::None => {
                        self.#field.backward_eval(&params[#offset..#end], &self.buffers, #io, &mut grads[#offset..#end]);
                        ::core::mem::swap(&mut g, &mut h);
                    }
                    ::core::option::Option::Some(t) => {
                        if t == #next {
                            let io = #rt::layers::Backward { dx: ::core::option::Option::None, ..#io };
                            self.#field.backward_sums(pass, &io, &mut grads[#offset..#end], partials);
                        }
                        if t == #j {
                            let io = #io;
                            if let ::core::option::Option::Some(d) = io.dx {
                                self.#field.backward_train(&params[#offset..#end], pass, io.x, io.dy, d);
                            }
                            ::core::mem::swap(&mut g, &mut h);
                        }
                    }
                }
            };
        }
        quote! {
            if run(#stage) {
                #rt::layers::Layer::backward(&self.#field, &params[#offset..#end], #io, &mut grads[#offset..#end], scratch);
                ::core::mem::swap(&mut g, &mut h);
            }
        }
    });
    let no_layers_backward = plan.steps.is_empty().then(|| {
        quote! {
            if let ::core::option::Option::Some(dx) = dx.take() {
                dx.copy_from_slice(&g[..dx.len()]);
            }
        }
    });

    let in_len = checked.input.len();
    let input_dims = checked.input.dims();
    let buffers = &plan.buffers;
    let width = plan.width;
    let output_buffer = plan.output_buffer;
    let scratch_terms = checked.layers.iter().filter(|l| is_layer(&l.kind)).map(|l| {
        let ty = layer_type(l);
        quote!(<#ty as #rt::layers::Layer>::SCRATCH)
    });
    let layer_infos = checked.layers.iter().map(|l| {
        let name = l.field.to_string();
        let decl = &l.declaration;
        let dims = l.output.dims();
        let params = l.kind.params();
        quote!(#rt::LayerInfo { name: #name, declaration: #decl, output_shape: &[#(#dims),*], params: #params })
    });
    let tensor_infos = tensor_table(checked, &plan.offsets, Kind::tensors);
    let buffer_infos = tensor_table(checked, &plan.buffer_offsets, Kind::buffers);
    let norm_infos = plan.norms.iter().map(|(_, tokens)| tokens);
    let total_buffers = plan.total_buffers;
    let flips = &plan.flips;
    let assertions = checked.layers.iter().filter(|l| !matches!(l.kind, Kind::Flatten)).map(|l| {
        let ty = layer_type(l);
        let (i, o, p) = (l.input.len(), l.output.len(), l.kind.params());
        if !is_layer(&l.kind) {
            let b = l.kind.buffer_len();
            return quote! {
                ::core::assert!(<#ty>::LEN == #i && #i == #o && <#ty>::PARAMS == #p && <#ty>::BUFFERS == #b);
            };
        }
        quote! {
            ::core::assert!(
                <#ty as #rt::layers::Layer>::IN == #i
                    && <#ty as #rt::layers::Layer>::OUT == #o
                    && <#ty as #rt::layers::Layer>::PARAMS == #p
            );
        }
    });
    let doc = summary_doc(checked, total);

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
            __nn_state: #rt::State,
        }

        // The macro's shape arithmetic, checked a second time by the runtime's own constants.
        const _: () = { #(#assertions)* };

        impl #name {
            /// A network with parameters initialised from `seed`.
            pub fn new(seed: u64) -> Self {
                <Self as #rt::Network>::new(seed)
            }
        }

        impl #rt::Network for #name {
            type Input = #input_ty;
            type Output = #output_ty;
            const PARAMS: usize = #total;
            const LAYERS: &'static [#rt::LayerInfo] = &[#(#layer_infos),*];
            const TENSORS: &'static [#rt::TensorInfo] = &[#(#tensor_infos),*];
            const BUFFER_TENSORS: &'static [#rt::TensorInfo] = &[#(#buffer_infos),*];
            const NORMS: &'static [#rt::layers::NormInfo] = &[#(#norm_infos),*];
            const INPUT_SHAPE: &'static [usize] = &[#(#input_dims),*];
            const ACTIVATIONS: &'static [usize] = &[#(#buffers),*];
            const SCRATCH: usize = #rt::layers::max_of(&[#(#scratch_terms),*]);
            const WIDTH: usize = #width;
            const OUTPUT_BUFFER: usize = #output_buffer;

            fn new(seed: u64) -> Self {
                let mut net = Self {
                    #(#constructors,)*
                    params: #rt::Params::zeros(#total),
                    buffers: #rt::Params::zeros(#total_buffers),
                    __nn_state: ::core::default::Default::default(),
                };
                #(#inits)*
                net.__nn_state = #rt::State::new::<Self>(seed);
                net
            }

            fn params(&self) -> &[f32] {
                &self.params
            }

            fn params_mut(&mut self) -> &mut [f32] {
                &mut self.params
            }

            fn buffers(&self) -> &[f32] {
                &self.buffers
            }

            fn buffers_mut(&mut self) -> &mut [f32] {
                &mut self.buffers
            }

            fn state(&self) -> &#rt::State {
                &self.__nn_state
            }

            fn state_mut(&mut self) -> &mut #rt::State {
                &mut self.__nn_state
            }

            #[allow(unused_variables)]
            fn forward_chunk(
                &self,
                input: &[f32],
                ws: &mut #rt::Workspace,
                pass: &#rt::Pass<'_>,
                stage: ::core::option::Option<usize>,
            ) {
                let n = input.len() / #in_len;
                let params: &[f32] = &self.params;
                let #rt::Workspace { acts, scratch, partials, .. } = ws;
                let run = |s: usize| stage.is_none_or(|t| t == s);
                #(#forward)*
            }

            #[allow(unused_variables, unused_mut, unused_assignments)]
            fn backward_chunk(
                &self,
                input: &[f32],
                ws: &mut #rt::Workspace,
                mut dx: ::core::option::Option<&mut [f32]>,
                pass: &#rt::Pass<'_>,
                stage: ::core::option::Option<usize>,
            ) {
                let n = input.len() / #in_len;
                let params: &[f32] = &self.params;
                let #rt::Workspace { acts, scratch, grad_out, grad_in, grads, partials, .. } = ws;
                let run = |s: usize| stage.is_none_or(|t| t == s);
                // Where a stage's incoming gradient is: the stages before it in backward order swapped the two
                // buffers this many times.
                let flipped = stage.is_some_and(|s| [#(#flips),*][s]);
                let (mut g, mut h): (&mut [f32], &mut [f32]) =
                    if flipped { (grad_in, grad_out) } else { (grad_out, grad_in) };
                #(#backward)*
                #no_layers_backward
            }
        }
    }
}

/// Where each layer reads and writes, and where its parameters and buffers live.
struct Plan {
    steps: Vec<Step>,
    offsets: Vec<usize>,
    buffer_offsets: Vec<usize>,
    buffers: Vec<usize>,
    width: usize,
    output_buffer: usize,
    total_params: usize,
    total_buffers: usize,
    /// The batch-norm layers in order: layer index and `NormInfo` expression.
    norms: Vec<(usize, TokenStream)>,
    /// Per stage of a staged backward pass: whether the gradient buffers start swapped.
    flips: Vec<bool>,
}

#[derive(Clone, Copy)]
struct Step {
    layer: usize,
    from: usize,
    to: usize,
    in_len: usize,
    out_len: usize,
    offset: usize,
    params: usize,
    /// The stage of a staged training pass this layer runs in (the number of batch-norm layers before it).
    stage: usize,
    /// For a batch-norm layer, its index among them; it ends stage `j` (statistics) and starts stage `j + 1`.
    norm: Option<usize>,
}

impl Plan {
    fn new(checked: &Checked) -> Self {
        let (mut steps, mut offsets, mut buffer_offsets, mut buffers) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut norms = Vec::new();
        let (mut current, mut offset, mut buffer_offset, mut stats, mut partials) = (0, 0, 0, 0, 0);
        let mut width = checked.input.len();
        for (index, layer) in checked.layers.iter().enumerate() {
            offsets.push(offset);
            buffer_offsets.push(buffer_offset);
            let params = layer.kind.params();
            width = width.max(layer.output.len());
            let norm = if let Kind::BatchNorm { c, s, eps, momentum } = layer.kind {
                let name = layer.field.to_string();
                let (eps, momentum) = (Literal::f32_suffixed(eps as f32), Literal::f32_suffixed(momentum as f32));
                let info = quote! {
                    ::nn::__private::layers::NormInfo {
                        name: #name,
                        channels: #c,
                        spatial: #s,
                        params: #offset,
                        buffers: #buffer_offset,
                        stats: #stats,
                        partials: #partials,
                        eps: #eps,
                        momentum: #momentum,
                    }
                };
                norms.push((index, info));
                stats += 4 * c;
                partials += 2 * c;
                Some(norms.len() - 1)
            } else {
                None
            };
            if !matches!(layer.kind, Kind::Flatten) {
                buffers.push(layer.output.len());
                let to = buffers.len();
                let stage = norms.len() - usize::from(norm.is_some());
                steps.push(Step {
                    layer: index,
                    from: current,
                    to,
                    in_len: layer.input.len(),
                    out_len: layer.output.len(),
                    offset,
                    params,
                    stage,
                    norm,
                });
                current = to;
            }
            offset += params;
            buffer_offset += layer.kind.buffer_len();
        }
        // Backward swaps the gradient buffers once per layer: a batch-norm layer `j` does it in stage `j`.
        let swaps: Vec<usize> = steps.iter().map(|s| s.norm.unwrap_or(s.stage)).collect();
        let flips = (0..=norms.len()).map(|stage| swaps.iter().filter(|&&s| s > stage).count() % 2 == 1).collect();
        Plan {
            steps,
            offsets,
            buffer_offsets,
            buffers,
            width,
            output_buffer: current,
            total_params: offset,
            total_buffers: buffer_offset,
            norms,
            flips,
        }
    }
}

/// `TensorInfo` expressions for every layer's tensors as `tensors` lists them (parameters or buffers), named
/// `{prefix}.{suffix}`, laid out from each layer's offset in the matching buffer.
fn tensor_table(checked: &Checked, offsets: &[usize], tensors: fn(&Kind) -> Tensors) -> Vec<TokenStream> {
    let rt = quote!(::nn::__private);
    let mut table = Vec::new();
    for (l, &offset) in checked.layers.iter().zip(offsets) {
        let mut at = offset;
        for (suffix, shape) in tensors(&l.kind) {
            let name = format!("{}.{suffix}", l.prefix);
            table.push(quote!(#rt::TensorInfo { name: #name, shape: &[#(#shape),*], offset: #at }));
            at += shape.iter().product::<usize>();
        }
    }
    table
}

/// Whether the layer implements the runtime's `Layer` trait (batch norm has its own staged entry points;
/// `Flatten` emits nothing).
fn is_layer(kind: &Kind) -> bool {
    !matches!(kind, Kind::Flatten | Kind::BatchNorm { .. })
}

/// `[[[f32; W]; H]; C]` for an image, `[f32; N]` for features.
fn array_type(shape: &Shape) -> TokenStream {
    shape.dims().iter().rev().fold(quote!(f32), |inner, &d| quote!([#inner; #d]))
}

fn init_variant(init: &str) -> TokenStream {
    let variant = format_ident!("{}", init);
    quote!(::nn::__private::layers::Init::#variant)
}

/// The runtime type of a layer, with its sizes as const generic arguments.
fn layer_type(l: &Layer) -> TokenStream {
    let rt = quote!(::nn::__private::layers);
    let n = l.input.len();
    match l.kind {
        Kind::Linear { i, o, bias, .. } => quote!(#rt::Linear<#i, #o, #bias>),
        Kind::Conv2d { c, h, w, o, k, s, p, bias, .. } => quote!(#rt::Conv2d<#c, #h, #w, #o, #k, #s, #p, #bias>),
        Kind::MaxPool { c, h, w, k, s } => quote!(#rt::MaxPool2d<#c, #h, #w, #k, #s>),
        Kind::AvgPool { c, h, w, k, s } => quote!(#rt::AvgPool2d<#c, #h, #w, #k, #s>),
        Kind::Flatten => quote!(#rt::Flatten<#n>),
        Kind::ReLU => quote!(#rt::ReLU<#n>),
        Kind::LeakyReLU(_) => quote!(#rt::LeakyReLU<#n>),
        Kind::Elu(_) => quote!(#rt::ELU<#n>),
        Kind::Sigmoid => quote!(#rt::Sigmoid<#n>),
        Kind::Tanh => quote!(#rt::Tanh<#n>),
        Kind::Softmax => quote!(#rt::Softmax<#n>),
        Kind::Dropout { .. } => quote!(#rt::Dropout<#n>),
        Kind::BatchNorm { c, s, .. } => quote!(#rt::BatchNorm<#c, #s>),
        Kind::Maxout { i, o, k, .. } => quote!(#rt::Maxout<#i, #o, #k>),
        Kind::PReLU { slopes, .. } => quote!(#rt::PReLU<#n, #slopes>),
    }
}

/// The expression constructing a layer's descriptor (`index` is its position, its random stream).
fn layer_value(l: &Layer, index: usize, offset: usize, plan: &Plan) -> TokenStream {
    let ty = layer_type(l);
    match l.kind {
        Kind::Dropout { p } => {
            let p = Literal::f32_suffixed(p as f32);
            let stream = index as u64;
            quote!(<#ty>::new(#p, #stream))
        }
        Kind::BatchNorm { .. } => {
            let info = plan.norms.iter().find(|(i, _)| *i == index).map(|(_, t)| t.clone());
            quote!(<#ty>::new(#info))
        }
        Kind::PReLU { init, .. } => {
            let init = Literal::f32_suffixed(init as f32);
            quote!(<#ty>::new(#offset, #init))
        }
        Kind::Linear { init, .. } | Kind::Conv2d { init, .. } | Kind::Maxout { init, .. } => {
            let init = init_variant(init);
            quote!(<#ty>::new(#offset, #init))
        }
        Kind::LeakyReLU(v) | Kind::Elu(v) => {
            let v = Literal::f32_suffixed(v as f32);
            quote!(<#ty>::new(#v))
        }
        Kind::MaxPool { .. } | Kind::AvgPool { .. } | Kind::Flatten => quote!(<#ty>::default()),
        _ => quote!(<#ty>::new()),
    }
}

/// The compile-time summary appended to the struct's documentation.
fn summary_doc(checked: &Checked, total: usize) -> String {
    let mut doc = String::from("\n\n# Layers\n\n| field | layer | output | parameters |\n|---|---|---|---:|\n");
    doc.push_str(&format!("| | `Input` | {} | |\n", checked.input.short()));
    for l in &checked.layers {
        doc.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            l.field,
            l.declaration,
            l.output.short(),
            l.kind.params()
        ));
    }
    doc.push_str(&format!(
        "\nTotal: {total} parameters. Generated by `network!`; every shape above was checked at compile time."
    ));
    doc
}

/// What the macro emits for a network with errors: the struct and a `Network` impl whose bodies are never run, so
/// that code using the network reports nothing beyond the real errors.
pub fn placeholder(net: &Network, partial: &Partial) -> TokenStream {
    let Network { attrs, vis, name, .. } = net;
    let rt = quote!(::nn::__private);
    let fallback = Shape::Flat { len: 1, from: None };
    let input_ty = array_type(partial.input.as_ref().unwrap_or(&fallback));
    let output_ty = array_type(partial.output.as_ref().unwrap_or(&fallback));
    quote! {
        #(#attrs)*
        #vis struct #name {
            /// Placeholder: the declaration has errors.
            pub params: #rt::Params,
        }

        impl #name {
            /// Placeholder: the declaration has errors.
            pub fn new(_: u64) -> Self {
                ::core::unimplemented!()
            }
        }

        impl #rt::Network for #name {
            type Input = #input_ty;
            type Output = #output_ty;
            const PARAMS: usize = 0;
            const LAYERS: &'static [#rt::LayerInfo] = &[];
            const TENSORS: &'static [#rt::TensorInfo] = &[];
            const ACTIVATIONS: &'static [usize] = &[];
            const SCRATCH: usize = 0;
            const WIDTH: usize = 0;
            const OUTPUT_BUFFER: usize = 0;
            fn new(_: u64) -> Self {
                ::core::unimplemented!()
            }
            fn params(&self) -> &[f32] {
                ::core::unimplemented!()
            }
            fn params_mut(&mut self) -> &mut [f32] {
                ::core::unimplemented!()
            }
            fn state(&self) -> &#rt::State {
                ::core::unimplemented!()
            }
            fn state_mut(&mut self) -> &mut #rt::State {
                ::core::unimplemented!()
            }
            fn forward_chunk(
                &self,
                _: &[f32],
                _: &mut #rt::Workspace,
                _: &#rt::Pass<'_>,
                _: ::core::option::Option<usize>,
            ) {
                ::core::unimplemented!()
            }
            fn backward_chunk(
                &self,
                _: &[f32],
                _: &mut #rt::Workspace,
                _: ::core::option::Option<&mut [f32]>,
                _: &#rt::Pass<'_>,
                _: ::core::option::Option<usize>,
            ) {
                ::core::unimplemented!()
            }
        }
    }
}
