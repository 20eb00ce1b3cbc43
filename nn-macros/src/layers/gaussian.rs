//! `GaussianSample<Z>`: the reparameterisation trick of a variational autoencoder, and the KL divergence it adds to
//! the loss.

use super::{f32_lit, lit, Checked, Doc, Kind, Layer, Placement};
use crate::args::Args;
use crate::parse::format_float;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub struct GaussianSample;

impl Kind for GaussianSample {
    fn name(&self) -> &'static str {
        "GaussianSample"
    }

    fn doc(&self) -> Doc {
        Doc {
            arguments: "latent size; reads μ and log σ² side by side",
            shape:
                "`[2Z] → [Z]`: μ + σ·ε in training (ε ~ N(0, I)), μ in eval; adds β·KL(N(μ, σ²) ‖ N(0, I)) to the loss",
        }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let latent = args.size("Z");
        let mut beta = args.option_float("beta", 1.0);
        if !(beta >= 0.0 && beta.is_finite()) {
            args.error(format!(
                "`{}` has `beta = {}`, but the weight of the KL term must be a finite number ≥ 0 (1 is the VAE's \
                 objective, 0 turns the term off)",
                args.declaration(),
                format_float(beta)
            ));
            beta = 1.0;
        }
        let Some(latent) = latent else { return Checked::unknown() };
        let Ok(output) = input.per_step(latent) else { return Checked::unknown() };
        let width = match input {
            Shape::Unknown => return Checked::output(output),
            Shape::Flat { len, .. } | Shape::Sequence { len, .. } => *len,
            Shape::Image(_) | Shape::Tokens { .. } => {
                args.error(format!(
                    "`{}` reads μ and log σ² as 2·{latent} = {} features, but the previous layer produces a {} \
                     tensor; insert `-> Flatten -> Linear<…, {}>` before it",
                    args.declaration(),
                    2 * latent,
                    input.describe(),
                    2 * latent
                ));
                return Checked::output(output);
            }
        };
        if width != 2 * latent {
            let suggestion = if width % 2 == 0 {
                format!("write `GaussianSample<{}>` for a latent of {}, or", width / 2, width / 2)
            } else {
                "an odd width cannot be split in two;".to_string()
            };
            args.error(format!(
                "`{}` reads μ and log σ² side by side, 2·{latent} = {} features, but the previous layer produces \
                 {width}; {suggestion} make the layer before it produce {} features",
                args.declaration(),
                2 * latent,
                2 * latent
            ));
            return Checked::output(output);
        }
        Checked::layer(output, GaussianSampleLayer { latent, beta })
    }
}

struct GaussianSampleLayer {
    latent: usize,
    beta: f64,
}

impl Layer for GaussianSampleLayer {
    fn runtime_type(&self) -> TokenStream {
        let (i, z) = (lit(2 * self.latent), lit(self.latent));
        quote!(GaussianSample<#i, #z>)
    }

    fn constructor(&self, at: &Placement) -> TokenStream {
        let (beta, stream) = (f32_lit(self.beta), at.index as u64);
        quote!(new(#beta, #stream))
    }

    fn adds_loss(&self) -> bool {
        true
    }
}
