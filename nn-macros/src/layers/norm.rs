//! `BatchNorm<FEATURES>`: per feature after a flat shape (`BatchNorm1d`), per channel after an image shape
//! (`BatchNorm2d`), with statistics over the whole batch in training.

use super::{f32_lit, lit, plural, with_bias, Checked, Doc, Kind, Layer, Placement, Tensor};
use crate::args::Args;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub struct BatchNorm;

impl Kind for BatchNorm {
    fn name(&self) -> &'static str {
        "BatchNorm"
    }

    fn doc(&self) -> Doc {
        Doc {
            arguments: "channels or features (checked if given)",
            shape: "unchanged; per feature after `[N]` (PyTorch's `BatchNorm1d`), per channel after `[C, H, W]` \
                    (`BatchNorm2d`)",
        }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let given = args.optional_size("FEATURES", "the input's");
        let (mut eps, mut momentum) = (args.option_float("eps", 1e-5), args.option_float("momentum", 0.1));
        let decl = args.declaration();
        if eps <= 0.0 {
            args.error(format!("`{decl}` needs `eps` > 0 (PyTorch's default is 1e-5)"));
            eps = 1e-5;
        }
        if !(0.0..=1.0).contains(&momentum) {
            args.error(format!("`{decl}` needs `momentum` between 0 and 1 (PyTorch's default is 0.1)"));
            momentum = 0.1;
        }
        let (channels, spatial, what) = match input {
            Shape::Image([c, h, w]) => (*c, h * w, "channel"),
            Shape::Flat { len, .. } => (*len, 1, "feature"),
            Shape::Sequence { .. } => {
                args.error(format!(
                    "`{decl}` on {}: batch norm over sequences is not supported (padded steps would enter its \
                     statistics); use it before the sequence layers' input, or after a reduction over time",
                    input.describe()
                ));
                return Checked::output(input.clone());
            }
            Shape::Unknown | Shape::Tokens { .. } => return Checked::unknown(),
        };
        if let Some(given) = given.filter(|&g| g != channels) {
            args.error(format!(
                "`{decl}` normalises {given} {what}{}, but the previous layer produces {} ({channels} {what}{}); \
                 write `BatchNorm<{channels}>`, or just `BatchNorm`",
                plural(given),
                input.describe(),
                plural(channels)
            ));
        }
        Checked::layer(input.clone(), NormLayer { channels, spatial, eps, momentum })
    }
}

struct NormLayer {
    channels: usize,
    spatial: usize,
    eps: f64,
    momentum: f64,
}

impl Layer for NormLayer {
    fn tensors(&self) -> Vec<Tensor> {
        with_bias(vec![self.channels], self.channels, true)
    }

    fn buffers(&self) -> Vec<Tensor> {
        let c = self.channels;
        vec![("running_mean".into(), vec![c]), ("running_var".into(), vec![c]), ("num_batches_tracked".into(), vec![])]
    }

    fn runtime_type(&self) -> TokenStream {
        let (c, s) = (lit(self.channels), lit(self.spatial));
        quote!(BatchNorm<#c, #s>)
    }

    fn constructor(&self, at: &Placement) -> TokenStream {
        let (params, buffers) = (lit(at.params), lit(at.buffers));
        let (eps, momentum) = (f32_lit(self.eps), f32_lit(self.momentum));
        quote!(new(#params, #buffers, #eps, #momentum))
    }

    fn whole_batch(&self) -> bool {
        true
    }
}
