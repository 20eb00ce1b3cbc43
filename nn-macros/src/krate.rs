//! The path through which generated code names the runtime: the facade crate as the user's `Cargo.toml` calls it
//! (found with `proc-macro-crate`, as serde's and tokio's macros find theirs), or the path a network's
//! `#[network(crate = "path")]` gives (for a crate that re-exports the facade).

use proc_macro2::TokenStream;
use quote::quote;
use std::cell::RefCell;

/// The facade's package name on crates.io.
const PACKAGE: &str = "nn-dsl";

/// The facade's library name: what `use` names it by when the dependency is not renamed, and what its own tests,
/// examples and doctests call it (its `lib.rs` also names itself so, for code generated inside it).
const LIBRARY: &str = "nn";

thread_local! {
    /// The root of the network being generated, set by [`with_root`].
    static ROOT: RefCell<Option<TokenStream>> = const { RefCell::new(None) };
}

/// Runs `f` with generated code naming the facade as `explicit` (from `#[network(crate = "…")]`) or, if `None`,
/// as the user's `Cargo.toml` does.
pub fn with_root<R>(explicit: Option<&syn::Path>, f: impl FnOnce() -> R) -> R {
    let root = match explicit {
        Some(path) => quote!(#path),
        None => found(),
    };
    let previous = ROOT.with(|r| r.replace(Some(root)));
    let result = f();
    ROOT.with(|r| *r.borrow_mut() = previous);
    result
}

/// The facade's hidden module of everything generated code uses: `::nn::__private` unless renamed.
pub fn private() -> TokenStream {
    let root = ROOT.with(|r| r.borrow().clone()).unwrap_or_else(found);
    quote!(#root::__private)
}

/// The facade as the crate being compiled depends on it. A dependency renamed in `Cargo.toml`
/// (`engine = { package = "nn-dsl", … }`) is `::engine`; an unrenamed one, the facade's own targets, and a crate
/// whose manifest cannot be read (a build without Cargo) are `::nn`, its library name.
fn found() -> TokenStream {
    let name = match proc_macro_crate::crate_name(PACKAGE) {
        Ok(proc_macro_crate::FoundCrate::Name(name)) if name != PACKAGE.replace('-', "_") => name,
        _ => LIBRARY.to_string(),
    };
    let ident = syn::Ident::new(&name, proc_macro2::Span::call_site());
    quote!(::#ident)
}

/// Why the generated code will not find the facade, when the crate's `Cargo.toml` was read and does not depend on
/// it under any name (it reaches it through another crate's re-export) and no `#[network(crate = "…")]` says where
/// it is.
pub fn missing(explicit: Option<&syn::Path>) -> Option<String> {
    if explicit.is_some() {
        return None;
    }
    match proc_macro_crate::crate_name(PACKAGE) {
        Err(proc_macro_crate::Error::CrateNotFound { .. }) => Some(format!(
            "`network!` cannot find `{PACKAGE}` among this crate's dependencies, so it does not know how to name it; \
             if this crate reaches it through a re-export, say where above the network: \
             `#[network(crate = \"path::to::it\")]`; else add `{PACKAGE}` to `[dependencies]`"
        )),
        _ => None,
    }
}
