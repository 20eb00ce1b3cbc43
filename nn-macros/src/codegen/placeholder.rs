//! What the macro emits for a network with errors: the same public shape as the real item — every declared
//! field (typed where its layer checked), `params`, `buffers`, an inherent `new` and a `Network` impl — with
//! bodies that never run, so code using the network reports nothing beyond the real errors (thiserror's
//! `fallback`).

use super::array_type;
use crate::check::Partial;
use crate::layers::runtime_path;
use crate::parse::Network;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub fn placeholder(net: &Network, partial: &Partial) -> TokenStream {
    let Network { attrs, vis, name, .. } = net;
    let rt = quote!(::nn::__private);
    let fallback = Shape::Flat { len: 1, from: None };
    let input_ty = array_type(partial.input.as_ref().unwrap_or(&fallback));
    let output_ty = array_type(partial.output.as_ref().unwrap_or(&fallback));
    let fields = partial.fields.iter().map(|(field, layer)| {
        let ty = layer.as_ref().map_or_else(|| quote!(#rt::Unchecked), |l| runtime_path(&**l));
        quote!(#[doc = "Placeholder: the declaration has errors."] pub #field: #ty)
    });
    let fields: Vec<TokenStream> = fields.collect();
    let pretrained = net.weights.is_some().then(|| {
        quote! {
            /// Placeholder: the declaration has errors.
            pub fn pretrained() -> Self {
                ::core::unimplemented!()
            }
        }
    });
    let std = std_placeholder(net, &fields, pretrained.as_ref(), input_ty, output_ty);
    quote! {
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

/// The `std` placeholder: the struct as `definition` makes it, `new`, and a `Network` impl.
fn std_placeholder(
    net: &Network,
    fields: &[TokenStream],
    pretrained: Option<&TokenStream>,
    input_ty: TokenStream,
    output_ty: TokenStream,
) -> TokenStream {
    let Network { attrs, vis, name, .. } = net;
    let rt = quote!(::nn::__private);
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
            };
            fn new(_: u64) -> Self {
                ::core::unimplemented!()
            }
            fn parts(&self) -> #rt::Parts<'_> {
                ::core::unimplemented!()
            }
            fn parts_mut(&mut self) -> #rt::PartsMut<'_> {
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
