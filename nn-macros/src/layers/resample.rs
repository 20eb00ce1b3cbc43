//! `Upsample<SCALE>` (nearest neighbour) and `GlobalAvgPool`: an image's size changed without parameters.

use super::{image_input, lit, sized, Checked, Doc, Kind, Layer, Placement};
use crate::args::Args;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub struct Upsample;

impl Kind for Upsample {
    fn name(&self) -> &'static str {
        "Upsample"
    }

    fn doc(&self) -> Doc {
        Doc { arguments: "the factor", shape: "`[C, H, W] → [C, H·SCALE, W·SCALE]`, each pixel repeated (nearest)" }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let scale = args.size("SCALE");
        let Some(scale) = scale else { return Checked::unknown() };
        let Some([c, h, w]) = image_input(args, input) else { return Checked::unknown() };
        let size = h.checked_mul(scale).zip(w.checked_mul(scale));
        let Some(output) =
            size.and_then(|(oh, ow)| sized(args, &[c, oh, ow], || Shape::image(c, oh, ow).ok())).flatten()
        else {
            return Checked::unknown();
        };
        Checked::layer(output, Resample { ty: "Upsample", sizes: vec![c, h, w, scale] })
    }
}

pub struct GlobalAvgPool;

impl Kind for GlobalAvgPool {
    fn name(&self) -> &'static str {
        "GlobalAvgPool"
    }

    fn doc(&self) -> Doc {
        Doc {
            arguments: "",
            shape: "`[C, H, W] → [C]`: each channel's mean (PyTorch's `AdaptiveAvgPool2d(1)` + flatten)",
        }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let Some([c, h, w]) = image_input(args, input) else { return Checked::unknown() };
        match Shape::flat(c) {
            Ok(output) => Checked::layer(output, Resample { ty: "GlobalAvgPool", sizes: vec![c, h, w] }),
            Err(_) => Checked::unknown(),
        }
    }
}

/// A checked resampling: its runtime type and sizes.
struct Resample {
    ty: &'static str,
    sizes: Vec<usize>,
}

impl Layer for Resample {
    fn runtime_type(&self) -> TokenStream {
        let ty = quote::format_ident!("{}", self.ty);
        let sizes = self.sizes.iter().map(|&s| lit(s));
        quote!(#ty<#(#sizes),*>)
    }

    fn constructor(&self, _: &Placement) -> TokenStream {
        quote!(new())
    }
}
