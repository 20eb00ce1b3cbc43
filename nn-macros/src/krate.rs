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

/// The path generated code names the facade by — `explicit` (from `#[network(crate = "…")]`) or, if `None`, the
/// name the user's `Cargo.toml` gives it — and, when the manifest shows it cannot resolve, why: one lookup per
/// network. A dependency renamed in `Cargo.toml` (`engine = { package = "nn-dsl", … }`) is `::engine`; an
/// unrenamed one, the facade's own targets, and a crate whose manifest cannot be read (a build without Cargo) are
/// `::nn`, its library name. A crate whose manifest does not depend on the facade under any name (it reaches it
/// through another crate's re-export) gets `::nn` and the reason it will not resolve.
pub fn root(explicit: Option<&syn::Path>) -> (TokenStream, Option<String>) {
    if let Some(path) = explicit {
        return (quote!(#path), None);
    }
    let (name, problem) = match proc_macro_crate::crate_name(PACKAGE) {
        Ok(proc_macro_crate::FoundCrate::Name(name)) if name != PACKAGE.replace('-', "_") => (name, None),
        Err(proc_macro_crate::Error::CrateNotFound { .. }) => (
            LIBRARY.to_string(),
            Some(format!(
                "`network!` cannot find `{PACKAGE}` among this crate's dependencies, so it does not know how to name \
                 it; if this crate reaches it through a re-export, say where above the network: \
                 `#[network(crate = \"path::to::it\")]`; else add `{PACKAGE}` to `[dependencies]`"
            )),
        ),
        _ => (LIBRARY.to_string(), None),
    };
    let ident = syn::Ident::new(&name, proc_macro2::Span::call_site());
    (quote!(::#ident), problem)
}

/// Runs `f` with generated code naming the facade as `root` (from [`root`]).
pub fn with_root<R>(root: TokenStream, f: impl FnOnce() -> R) -> R {
    let previous = ROOT.with(|r| r.replace(Some(root)));
    let result = f();
    ROOT.with(|r| *r.borrow_mut() = previous);
    result
}

/// The facade's hidden module of everything generated code uses: `::nn::__private` unless renamed.
pub fn private() -> TokenStream {
    let root = ROOT.with(|r| r.borrow().clone()).unwrap_or_else(|| root(None).0);
    quote!(#root::__private)
}
