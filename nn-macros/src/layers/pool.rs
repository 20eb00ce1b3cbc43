//! `MaxPool<K, S>` and `AvgPool<K, S>`: one window size and stride (default: the window) for both axes.

use super::{image_input, lit, Checked, Doc, Kind, Layer, Placement};
use crate::args::Args;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// A pooling kind: its DSL name is its runtime type's name.
pub struct Pool(&'static str);

pub const MAX_POOL: Pool = Pool("MaxPool");
pub const AVG_POOL: Pool = Pool("AvgPool");

impl Kind for Pool {
    fn name(&self) -> &'static str {
        self.0
    }

    fn doc(&self) -> Doc {
        Doc { arguments: "window, stride", shape: "`[C, H, W] → [C, (H−K)/S+1, (W−K)/S+1]`" }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let k = args.size("KERNEL");
        let stride = args.optional_size("STRIDE", "KERNEL");
        let Some(k) = k else { return Checked::unknown() };
        let stride = stride.unwrap_or(k);
        let Some([c, h, w]) = image_input(args, input) else { return Checked::unknown() };
        if k > h || k > w {
            args.error(format!(
                "`{}` has a {k}×{k} window, larger than its {h}×{w} input; use a window of at most {} or remove \
                 this layer",
                args.declaration(),
                h.min(w)
            ));
            return Checked::unknown();
        }
        let output = Shape::Image([c, (h - k) / stride + 1, (w - k) / stride + 1]);
        Checked::layer(output, PoolLayer { name: self.0, c, h, w, k, stride })
    }
}

struct PoolLayer {
    name: &'static str,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    stride: usize,
}

impl Layer for PoolLayer {
    fn runtime_type(&self) -> TokenStream {
        let name = format_ident!("{}", self.name);
        let [c, h, w, k, s] = [self.c, self.h, self.w, self.k, self.stride].map(lit);
        quote!(#name<#c, #h, #w, #k, #s>)
    }

    fn constructor(&self, _: &Placement) -> TokenStream {
        quote!(new())
    }
}
