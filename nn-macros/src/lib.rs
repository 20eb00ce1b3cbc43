//! The `network!` macro of the [`nn`](https://docs.rs/nn) crate. Use it through `nn`, which re-exports it.
//!
//! The pipeline has one module per stage: `parse` (grammar → AST with spans), `check` (shapes and every
//! error, collected, through the layer kinds defined once each in `layers`, into a tree of the network's
//! elements), `graph` (the tree lowered to values and steps, everything derived once), `codegen` (graph → Rust).
//! This file is only the entry point.

mod args;
mod check;
mod codegen;
mod ctxt;
mod docs;
mod graph;
mod krate;
mod layers;
mod parse;
mod shape;
mod suggest;
mod weights;

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
    let mut names: Vec<String> = Vec::new();
    for net in &networks.0 {
        let name = net.name.to_string();
        if names.contains(&name) {
            let message = format!("a second network named `{name}` in this `network!`; give each network its own name");
            out.extend(syn::Error::new(net.name.span(), message).to_compile_error());
            continue;
        }
        names.push(name);
        let (root, problem) = krate::root(net.krate.as_ref());
        if let Some(message) = problem {
            out.extend(syn::Error::new(net.name.span(), message).to_compile_error());
        }
        krate::with_root(root, || match check::check(net) {
            Ok(tree) => match graph::Graph::new(tree) {
                Some(graph) => out.extend(codegen::network(net, &graph)),
                None => out.extend(
                    syn::Error::new(net.name.span(), "`network!` could not lower this network").to_compile_error(),
                ),
            },
            Err(failed) => {
                let (error, tree) = *failed;
                out.extend(error.to_compile_error());
                out.extend(codegen::placeholder(net, &tree));
            }
        });
    }
    out.into()
}
