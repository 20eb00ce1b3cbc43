//! The `network!` macro of the [`nn`](https://docs.rs/nn) crate. Use it through `nn`, which re-exports it.
//!
//! The pipeline has one module per stage: `parse` (grammar → AST with spans), `check` (shapes and every
//! error, collected), `codegen` (AST + shapes → Rust). This file is only the entry point.

#![warn(missing_docs)]

mod catalog;
mod check;
mod codegen;
mod ctxt;
mod parse;
mod shape;
mod suggest;

use proc_macro::TokenStream;

/// Declares neural networks whose shapes are checked when the macro expands. See the `nn` crate's
/// documentation for the grammar and the layers.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    let networks = match syn::parse::<parse::Networks>(input) {
        Ok(n) => n,
        Err(e) => return e.to_compile_error().into(),
    };
    let mut out = proc_macro2::TokenStream::new();
    for net in &networks.0 {
        match check::check(net) {
            Ok(checked) => out.extend(codegen::network(net, &checked)),
            Err((error, partial)) => {
                out.extend(error.to_compile_error());
                out.extend(codegen::placeholder(net, &partial));
            }
        }
    }
    out.into()
}
