//! `MultiheadAttention<E, HEADS>`: self-attention over a sequence, PyTorch's `nn.MultiheadAttention(E, HEADS,
//! batch_first=True)`.

use super::{f32_lit, lit, Checked, Doc, Kind, Layer, Macs, Placement, Tensor};
use crate::args::Args;
use crate::parse::format_float;
use crate::shape::Shape;
use proc_macro2::TokenStream;
use quote::quote;

pub struct MultiheadAttention;

impl Kind for MultiheadAttention {
    fn name(&self) -> &'static str {
        "MultiheadAttention"
    }

    fn doc(&self) -> Doc {
        Doc {
            arguments: "features per step, heads (`E / HEADS` values each)",
            shape: "`[T, E]` → `[T, E]`: each step a mix of the values of the steps it attends to (with `causal`, \
                    itself and earlier ones); padded steps are never attended to",
        }
    }

    fn check(&self, args: &mut Args<'_>, input: &Shape) -> Checked {
        let (embed, heads) = (args.size("E"), args.size("HEADS"));
        let causal = args.option_bool("causal", false);
        let bias = args.option_bool("bias", true);
        let mut dropout = args.option_float("dropout", 0.0);
        let decl = args.declaration();
        if !(0.0..1.0).contains(&dropout) {
            args.error(format!(
                "`{decl}` drops attention weights with probability {}, but it must be at least 0 and below 1",
                format_float(dropout)
            ));
            dropout = 0.0;
        }
        let (Some(embed), Some(heads)) = (embed, heads) else { return Checked::unknown() };
        if !embed.is_multiple_of(heads) {
            args.error(head_message(&decl, embed, heads));
        }
        let Some(width) = steps_input(args, input, "attends over the steps of a sequence") else {
            return Checked::unknown();
        };
        if width != embed {
            args.error(format!(
                "`{decl}` expects {embed} features per step, but the previous layer produces {}; did you mean `{}`?",
                input.describe(),
                decl.replacen(&format!("<{embed}"), &format!("<{width}"), 1)
            ));
        }
        let layer = MultiheadAttentionLayer {
            embed,
            heads,
            causal,
            bias,
            dropout,
            steps: input.max_steps().unwrap_or(0),
            known: match input {
                Shape::Sequence { steps: Some(t), .. } => Some(*t),
                _ => None,
            },
        };
        if !embed.is_multiple_of(heads) || width != embed {
            return Checked::output(input.clone());
        }
        Checked::layer(input.clone(), layer)
    }
}

/// The message for a head count that does not divide the features: the head size it would have, and the
/// nearest head counts that do.
fn head_message(decl: &str, embed: usize, heads: usize) -> String {
    let divisors: Vec<usize> = (1..=embed).filter(|&h| embed.is_multiple_of(h)).collect();
    let below = divisors.iter().rev().find(|&&h| h < heads);
    let above = divisors.iter().find(|&&h| h > heads);
    let options: Vec<String> =
        below.into_iter().chain(above).map(|&h| format!("{h} (head size {})", embed / h)).collect();
    format!(
        "`{decl}` splits {embed} features into {heads} heads, but {embed} is not a multiple of {heads} (each head \
         would hold {} values); use {} heads",
        format_float(embed as f64 / heads as f64),
        options.join(" or ")
    )
}

/// The values per step of a sequence arriving at a layer that `does` something to its steps: `None` if unknown,
/// or if an image or a vector arrives (reported with the fix: `ToSeq` for an image, a sequence input for
/// features).
pub fn steps_input(args: &mut Args<'_>, input: &Shape, does: &str) -> Option<usize> {
    let decl = args.declaration();
    match input {
        Shape::Sequence { len, .. } => Some(*len),
        Shape::Unknown | Shape::Tokens { .. } => None,
        Shape::Image([c, h, w]) => {
            args.error(format!(
                "`{decl}` {does}, but the previous layer produces a {c}×{h}×{w} image; insert `-> ToSeq` before it \
                 to make the image's {h}×{w} = {} positions the steps, {c} features each",
                h * w
            ));
            None
        }
        Shape::Flat { .. } => {
            args.error(format!(
                "`{decl}` {does}, but the previous layer produces {} features, one vector per sample; declare the \
                 input as a sequence, `Input<Seq, FEATURES>` (any length) or `Input<Seq<STEPS>, FEATURES>`, and \
                 keep the layers before this one per step",
                input.describe()
            ));
            None
        }
    }
}

struct MultiheadAttentionLayer {
    embed: usize,
    heads: usize,
    causal: bool,
    bias: bool,
    dropout: f64,
    /// The most steps a sample may have (0: unbounded): sizes the key/value cache of a causal layer.
    steps: usize,
    /// The steps of every sample, when fixed (for the cost model).
    known: Option<usize>,
}

impl Layer for MultiheadAttentionLayer {
    fn tensors(&self) -> Vec<Tensor> {
        let e = self.embed;
        let mut t = vec![("in_proj_weight".into(), vec![3 * e, e])];
        if self.bias {
            t.push(("in_proj_bias".into(), vec![3 * e]));
        }
        t.push(("out_proj.weight".into(), vec![e, e]));
        if self.bias {
            t.push(("out_proj.bias".into(), vec![e]));
        }
        t
    }

    fn macs(&self) -> Macs {
        // Per step: the four projections, and the scores and their product with V over the sample's steps (its
        // fixed length; for sequences of any length the projections only).
        let (e, t) = (self.embed as u64, self.known.unwrap_or(0) as u64);
        Macs { forward: 4 * e * e + 2 * t * e, backward: 5 * e * e + 4 * t * e, input_grad: 3 * e * e }
    }

    fn state(&self) -> usize {
        if self.causal && self.steps > 0 {
            1 + 2 * self.steps * self.embed
        } else {
            0
        }
    }

    fn streams(&self) -> bool {
        self.causal && self.steps > 0
    }

    fn position_limit(&self) -> Option<usize> {
        self.streams().then_some(self.steps)
    }

    fn runtime_type(&self) -> TokenStream {
        let (e, h, c, b, t) = (lit(self.embed), lit(self.heads), self.causal, self.bias, lit(self.steps));
        quote!(MultiheadAttention<#e, #h, #c, #b, #t>)
    }

    fn constructor(&self, at: &Placement) -> TokenStream {
        let (offset, p, stream) = (lit(at.params), f32_lit(self.dropout), at.index as u64);
        quote!(new(#offset, #p, #stream))
    }
}
