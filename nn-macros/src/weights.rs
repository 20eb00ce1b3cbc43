//! `#[weights = "path"]`: the weights file read when the macro expands, checked tensor by tensor against the
//! declaration, and embedded with `include_bytes!` (the bytes never become tokens). `pretrained()` decodes them
//! into the network's arrays; nothing is read from disk at run time.

use crate::graph::Graph;
use crate::layers::lit;
use crate::suggest::did_you_mean;
use proc_macro2::TokenStream;
use quote::quote;
use safetensors::{Dtype, SafeTensors};
use std::path::PathBuf;

/// How an embedded tensor's values are stored in the file (the runtime's `embedded::Stored`).
#[derive(Clone, Copy)]
enum Stored {
    F32,
    I64,
    I32,
}

impl quote::ToTokens for Stored {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        let variant = match self {
            Stored::F32 => quote!(F32),
            Stored::I64 => quote!(I64),
            Stored::I32 => quote!(I32),
        };
        let rt = crate::krate::private();
        tokens.extend(quote!(#rt::embedded::Stored::#variant));
    }
}

/// One tensor of the network found in the file: where its bytes are and where its values go.
struct Placed {
    /// Start and end of its bytes in the file.
    bytes: (usize, usize),
    stored: Stored,
    /// Whether it is a buffer (else a parameter), and its offset in that array.
    buffer: bool,
    offset: usize,
}

/// A weights file that matched the declaration.
pub struct Embedded {
    absolute: String,
    tensors: Vec<Placed>,
}

/// Reads `path` (relative to the crate's `Cargo.toml`) and checks it against `graph`'s tensors; every problem
/// is an error under `attr`.
pub fn embed(attr: &syn::Attribute, path: &syn::LitStr, graph: &Graph) -> Result<Embedded, syn::Error> {
    let shown = path.value();
    let base = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).unwrap_or_default();
    let absolute = base.join(&shown);
    let error = |message: String| syn::Error::new_spanned(attr, message);
    let bytes = std::fs::read(&absolute).map_err(|e| {
        error(format!("cannot read the weights file `{shown}`: {e}; the path is relative to the crate's Cargo.toml"))
    })?;
    let file =
        SafeTensors::deserialize(&bytes).map_err(|e| error(format!("`{shown}` is not a safetensors file: {e}")))?;
    let mut problems = Vec::new();
    let mut tensors = Vec::new();
    let expected = graph.tensors();
    for t in &expected {
        let owner = &graph.layers[t.layer].prefix;
        let Ok(view) = file.tensor(&t.name) else {
            problems.push(format!(
                "`{}` is missing from {shown}; this network's `{owner}` expects a tensor of shape {:?}",
                t.name, t.shape
            ));
            continue;
        };
        let counter = t.name.ends_with("num_batches_tracked");
        let stored = match view.dtype() {
            Dtype::F32 => Stored::F32,
            Dtype::I64 if counter => Stored::I64,
            Dtype::I32 if counter => Stored::I32,
            other => {
                let allowed = if counter { "F32, I64 or I32" } else { "F32" };
                problems.push(format!(
                    "`{}` in {shown} is {other:?}; this network's `{owner}` embeds it as {allowed}: save the \
                     weights as float32 (`model.float()` in PyTorch, or `nn::io::load_weights` then `save_weights`)",
                    t.name
                ));
                continue;
            }
        };
        if view.shape() != t.shape.as_slice() {
            problems.push(format!(
                "`{}` in {shown} is {:?}; this network's `{owner}` expects {:?}",
                t.name,
                view.shape(),
                t.shape
            ));
            continue;
        }
        let data = view.data();
        if let Stored::F32 = stored {
            let values = data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            if let Some((index, v)) = values.enumerate().find(|(_, v)| !v.is_finite()) {
                problems.push(format!(
                    "`{}` in {shown} holds {v} at index {index}; a trained network's weights are finite",
                    t.name
                ));
                continue;
            }
        }
        let start = data.as_ptr() as usize - bytes.as_ptr() as usize;
        tensors.push(Placed { bytes: (start, start + data.len()), stored, buffer: t.buffer, offset: t.offset });
    }
    let names: Vec<&str> = expected.iter().map(|t| t.name.as_str()).collect();
    let mut unexpected: Vec<&str> = file.names().into_iter().filter(|n| !names.contains(n)).collect();
    unexpected.sort();
    for name in unexpected {
        let hint = match did_you_mean(name, &names) {
            Some(close) => format!("; did you mean `{close}`?"),
            None => format!("; its tensors are {}", names.join(", ")),
        };
        problems.push(format!("{shown} holds `{name}`, which this network does not have{hint}"));
    }
    let mut errors = problems.into_iter().map(error);
    match errors.next() {
        None => Ok(Embedded { absolute: absolute.to_string_lossy().into_owned(), tensors }),
        Some(mut first) => {
            errors.for_each(|e| first.combine(e));
            Err(first)
        }
    }
}

/// `pretrained()`, decoding the embedded file's tensors into a new network (`None`: the file did not match, and
/// an error says why).
pub fn pretrained(embedded: Option<&Embedded>, path: &syn::LitStr) -> TokenStream {
    let doc = format!(
        "A network holding the weights of `{}`, embedded when this crate was compiled and checked then against \
         the declaration: nothing is read at run time. Equal, bit for bit, to `new(0)` followed by \
         `nn::io::load_weights` of the same file (in `Mode::Train` like `new`: call `eval()` for \
         inference). Changing the file rebuilds the crate.",
        path.value()
    );
    let Some(embedded) = embedded else { return unmatched(&doc) };
    let absolute = &embedded.absolute;
    let rt = crate::krate::private();
    let copies = embedded.tensors.iter().map(|t| {
        let (start, end, stored, offset) = (lit(t.bytes.0), lit(t.bytes.1), t.stored, lit(t.offset));
        let array = if t.buffer { quote!(buffers) } else { quote!(params) };
        quote!(#rt::embedded::copy(&WEIGHTS[#start..#end], #stored, &mut net.#array[#offset..]);)
    });
    quote! {
        #[doc = #doc]
        pub fn pretrained() -> Self {
            static WEIGHTS: &[u8] = ::core::include_bytes!(#absolute);
            let mut net = Self::new(0);
            #(#copies)*
            net
        }
    }
}

/// `pretrained()` without `std`: the file's tensors decoded into two statics when the crate is compiled (a
/// constant evaluation over the embedded bytes), which the network borrows; on a device they stay in flash.
pub fn static_pretrained(embedded: Option<&Embedded>, path: &syn::LitStr, graph: &Graph) -> TokenStream {
    let doc = format!(
        "The network over the weights of `{}`, decoded when this crate was compiled into statics it borrows: \
         nothing is read or copied at run time.",
        path.value()
    );
    let Some(embedded) = embedded else { return unmatched(&doc) };
    let absolute = &embedded.absolute;
    let rt = crate::krate::private();
    // Parameters are F32 (checked): each tensor is one array read from the bytes, the arrays laid end to end in a
    // `repr(C)` struct of the size of the parameter array.
    let params: Vec<&Placed> = embedded.tensors.iter().filter(|t| !t.buffer).collect();
    let arrays = params.iter().map(|t| {
        let len = lit((t.bytes.1 - t.bytes.0) / 4);
        quote!([f32; #len])
    });
    let reads = params.iter().map(|t| {
        let (len, bytes, start) = (lit((t.bytes.1 - t.bytes.0) / 4), lit(t.bytes.1 - t.bytes.0), lit(t.bytes.0));
        quote!(#rt::embedded::f32_array::<#len, #bytes>(WEIGHTS, #start))
    });
    // Buffers may hold integer counters: decoded value by value (they are small).
    let buffers = embedded.tensors.iter().filter(|t| t.buffer).map(|t| {
        let (start, end, stored, offset) = (lit(t.bytes.0), lit(t.bytes.1), t.stored, lit(t.offset));
        quote!((#start, #end, #stored, #offset))
    });
    let (p, b) = (lit(graph.total_params), lit(graph.total_buffers));
    quote! {
        #[doc = #doc]
        pub fn pretrained() -> Self {
            const WEIGHTS: &[u8] = ::core::include_bytes!(#absolute);
            #[repr(C)]
            struct Tensors(#(#arrays),*);
            // SAFETY: `Tensors` is `repr(C)` with only `f32` arrays, so without padding, and the arrays' lengths
            // add up to the parameter count: it has the size and alignment of `[f32; PARAMS]`.
            static PARAMS: [f32; #p] = unsafe { ::core::mem::transmute::<Tensors, [f32; #p]>(Tensors(#(#reads),*)) };
            static BUFFERS: [f32; #b] = #rt::embedded::decode(WEIGHTS, &[#(#buffers),*]);
            Self::from_static(&PARAMS, &BUFFERS)
        }
    }
}

/// The `pretrained()` of a file that did not match: never run (the crate does not compile), it keeps the error
/// from repeating at every use.
fn unmatched(doc: &str) -> TokenStream {
    quote! {
        #[doc = #doc]
        pub fn pretrained() -> Self {
            ::core::unreachable!("the weights file did not match; the compiler reported why")
        }
    }
}
