//! What the macro emits for a network with errors: the same public shape as the real item — every declared
//! field (typed where its layer checked, nested as its blocks are), `params`, `buffers`, an inherent `new` and a
//! `Network` impl — with bodies that never run, so code using the network reports nothing beyond the real errors
//! (thiserror's `fallback`).

use super::array_type;
use crate::check::{is_reserved_name, BlockNode, BlockNodeKind, Node, Tree};
use crate::layers::{lit, runtime_path};
use crate::parse::Network;
use crate::shape::Shape;
use proc_macro2::{Ident, TokenStream};
use quote::quote;
use syn::ext::IdentExt;

pub fn placeholder(net: &Network, tree: &Tree) -> TokenStream {
    let Network { attrs, vis, name, .. } = net;
    let rt = crate::krate::private();
    let fallback = Shape::Flat { len: 1, from: None };
    let input_ty = array_type(tree.input.as_ref().unwrap_or(&fallback));
    let output_ty = array_type(if tree.output == Shape::Unknown { &fallback } else { &tree.output });
    // Where the declaration leaves the sample types open (a size that is not a literal, a zero size), the
    // inference methods take and give any type, so the user's code raises no error of its own.
    let open = tree.input.is_none() || tree.output == Shape::Unknown;
    let mut types = Types { net, emitted: Vec::new(), out: TokenStream::new() };
    let fields = types.fields(&tree.chain);
    let block_types = types.out;
    let pretrained = net.weights.is_some().then(|| {
        quote! {
            /// Placeholder: the declaration has errors.
            pub fn pretrained() -> Self {
                ::core::unimplemented!()
            }
        }
    });
    let std = std_placeholder(net, &fields, pretrained.as_ref(), input_ty, output_ty, open);
    quote! {
        #block_types
        #rt::if_no_std! {
            #(#attrs)*
            #vis struct #name {
                #(#fields,)*
                /// Placeholder: the declaration has errors.
                pub params: &'static [f32],
                /// Placeholder: the declaration has errors.
                pub buffers: &'static [f32],
            }

            impl #name { #pretrained }
        }
        #rt::if_std! { #std }
    }
}

/// The placeholder's block struct types, each emitted once.
struct Types<'a> {
    net: &'a Network,
    emitted: Vec<String>,
    out: TokenStream,
}

impl Types<'_> {
    /// The field declarations of a chain's struct: each name once, none that clashes with the struct's own
    /// fields (those are errors already), a layer's field typed if it checked.
    fn fields(&mut self, chain: &[Node]) -> Vec<TokenStream> {
        let mut seen: Vec<String> = vec!["params".into(), "buffers".into()];
        let mut out = Vec::new();
        self.collect(chain, &mut seen, &mut out);
        out
    }

    fn collect(&mut self, chain: &[Node], seen: &mut Vec<String>, out: &mut Vec<TokenStream>) {
        let rt = crate::krate::private();
        for node in chain {
            match node {
                Node::Layer(l) if l.has_field => {
                    let ty = l.layer.as_ref().map_or_else(|| quote!(#rt::Unchecked), |l| runtime_path(&**l));
                    push(&l.field, ty, seen, out);
                }
                Node::Layer(_) => {}
                Node::Block(b) => match (&b.named, &b.kind) {
                    (Some((field, ty)), BlockNodeKind::Repeat { copies }) => {
                        if let Some(first) = copies.first() {
                            self.block_type(ty, first);
                            let n = lit(copies.len());
                            push(field, quote!([#ty; #n]), seen, out);
                        }
                    }
                    (Some((field, ty)), _) => {
                        let (mut inner_seen, mut inner) = (Vec::new(), Vec::new());
                        self.contents(b, &mut inner_seen, &mut inner);
                        self.define(ty, inner);
                        push(field, quote!(#ty), seen, out);
                    }
                    (None, _) => self.contents(b, seen, out),
                },
            }
        }
    }

    /// The fields a block's chains give the struct they stand in (a residual's shortcut is a struct of its own).
    fn contents(&mut self, block: &BlockNode, seen: &mut Vec<String>, out: &mut Vec<TokenStream>) {
        match &block.kind {
            BlockNodeKind::Residual { body, shortcut } => {
                self.collect(body, seen, out);
                if let Some((field, ty, chain)) = shortcut {
                    self.block_type(ty, chain);
                    push(field, quote!(#ty), seen, out);
                }
            }
            BlockNodeKind::Concat { branches } => branches.iter().for_each(|c| self.collect(c, seen, out)),
            BlockNodeKind::Repeat { .. } => {}
        }
    }

    /// Declares the struct `ty` with the fields of `chain`.
    fn block_type(&mut self, ty: &Ident, chain: &[Node]) {
        let fields = self.fields(chain);
        self.define(ty, fields);
    }

    fn define(&mut self, ty: &Ident, fields: Vec<TokenStream>) {
        if self.emitted.contains(&ty.to_string()) {
            return;
        }
        self.emitted.push(ty.to_string());
        let vis = &self.net.vis;
        self.out.extend(quote! {
            #[doc = "Placeholder: the declaration has errors."]
            #[derive(Clone, Copy, Debug)]
            #vis struct #ty { #(#fields,)* }
        });
    }
}

/// `pub field: ty`, unless the name was taken already or is the generated code's own.
fn push(field: &Ident, ty: TokenStream, seen: &mut Vec<String>, out: &mut Vec<TokenStream>) {
    let name = field.unraw().to_string();
    if seen.contains(&name) || is_reserved_name(&name) {
        return;
    }
    seen.push(name);
    out.push(quote!(#[doc = "Placeholder: the declaration has errors."] pub #field: #ty));
}

/// The `std` placeholder: the struct as `definition` makes it, `new`, and a `Network` impl.
fn std_placeholder(
    net: &Network,
    fields: &[TokenStream],
    pretrained: Option<&TokenStream>,
    input_ty: TokenStream,
    output_ty: TokenStream,
    open: bool,
) -> TokenStream {
    let Network { attrs, vis, name, .. } = net;
    let rt = crate::krate::private();
    let any_types = open.then(|| {
        quote! {
            /// Placeholder: the declaration has errors.
            pub fn forward<X, Y>(&mut self, _: &X) -> Y {
                ::core::unimplemented!()
            }

            /// Placeholder: the declaration has errors.
            pub fn forward_with<X, Y>(&self, _: &mut #rt::Workspace, _: &X) -> Y {
                ::core::unimplemented!()
            }

            /// Placeholder: the declaration has errors.
            pub fn predict<X, Y>(&mut self, _: &[X]) -> ::std::vec::Vec<Y> {
                ::core::unimplemented!()
            }

            /// Placeholder: the declaration has errors.
            pub fn forward_batch<X, Y>(&mut self, _: &[X], _: &mut [Y]) {
                ::core::unimplemented!()
            }
        }
    });
    quote! {
        #(#attrs)*
        #vis struct #name {
            #(#fields,)*
            /// Placeholder: the declaration has errors.
            pub params: #rt::Params,
            /// Placeholder: the declaration has errors.
            pub buffers: #rt::Params,
            __nn: #rt::State,
        }

        impl #name {
            /// Placeholder: the declaration has errors.
            pub fn new(_: u64) -> Self {
                ::core::unimplemented!()
            }

            #pretrained
            #any_types
        }

        impl #rt::Network for #name {
            type Input = #input_ty;
            type Output = #output_ty;
            type State = [f32; 0];
            const PARAMS: usize = 0;
            const LAYERS: &'static [#rt::LayerInfo] = &[];
            const TENSORS: &'static [#rt::TensorInfo] = &[];
            const PLAN: #rt::Plan = #rt::Plan {
                input: 0,
                output: 0,
                sequence_input: false,
                sequence_output: false,
                activations: &[],
                output_buffer: 0,
                sizes: &[],
                width: 0,
                stages: &[],
                states: &[],
                slots: 0,
                tokens: 0,
                max_steps: 0,
                max_steps_layer: "",
                nodes: &[],
                parts: &[],
            };
            fn new(_: u64) -> Self {
                ::core::unimplemented!()
            }
            fn op(_: usize) -> #rt::layers::Op {
                ::core::unimplemented!()
            }
            fn parts(&self) -> #rt::Parts<'_> {
                ::core::unimplemented!()
            }
            fn parts_mut(&mut self) -> #rt::PartsMut<'_> {
                ::core::unimplemented!()
            }
            fn forward_in_place(
                _: #rt::Model<'_>,
                _: &mut #rt::Chunk,
                _: &[f32],
                _: &#rt::Pass<'_>,
                _: &[f32],
                _: &mut [f32],
            ) {
                ::core::unimplemented!()
            }
            fn forward_chunk(
                _: #rt::Model<'_>,
                _: &mut #rt::Chunk,
                _: &[f32],
                _: &#rt::Pass<'_>,
                _: &[f32],
                _: ::core::option::Option<usize>,
            ) {
                ::core::unimplemented!()
            }
            fn backward_chunk(
                _: #rt::Model<'_>,
                _: &mut #rt::Chunk,
                _: &[f32],
                _: bool,
                _: &#rt::Pass<'_>,
                _: &[f32],
                _: ::core::option::Option<usize>,
            ) {
                ::core::unimplemented!()
            }
        }
    }
}
