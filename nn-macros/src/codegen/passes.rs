//! The bodies of the generated forward and backward passes over one chunk: one block per layer, in order and in
//! reverse, every size a literal. A network with whole-batch layers has its blocks grouped into stages, each
//! guarded by the stage it belongs to; a network without them has no guards at all.

use super::plan::{Plan, Step};
use crate::check::Checked;
use crate::layers::{lit, runtime_path};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The name of layer `index`'s descriptor constant.
pub fn layer_const(index: usize) -> proc_macro2::Ident {
    format_ident!("__NN_LAYER_{}", index)
}

/// Tokens shared by both passes for one step.
struct Parts {
    layer: TokenStream,
    params: TokenStream,
    buffers: TokenStream,
    saved: TokenStream,
    stats: TokenStream,
    /// The rows of its input and of its output: `rows` (samples × steps) for a sequence, else `samples`.
    rows_in: TokenStream,
    rows_out: TokenStream,
}

/// `rows` for a buffer holding a sequence, `samples` for one holding a row per sample.
fn rows(plan: &Plan, buffer: usize) -> TokenStream {
    if plan.is_sequence(buffer) {
        quote!(rows)
    } else {
        quote!(samples)
    }
}

fn parts(checked: &Checked, plan: &Plan, step: &Step, k: usize) -> Parts {
    let rt = quote!(::nn::__private);
    let ty = runtime_path(&*checked.layers[step.layer].layer);
    let layer = layer_const(checked.layers[step.layer].index);
    let (p0, p1, b0, b1) =
        (lit(step.params.start), lit(step.params.end), lit(step.buffers.start), lit(step.buffers.end));
    let k = lit(k);
    let stats = match step.whole_batch {
        Some(j) => {
            let j = lit(j);
            quote!({ let s = &Self::__NN_PLAN.stages[#j]; &stats[s.stats..s.stats + s.stats_len] })
        }
        None => quote!(&[]),
    };
    let rows_in = rows(plan, step.from);
    let sequence = plan.is_sequence(step.from);
    Parts {
        saved: quote!(saved[#k][..<#ty as #rt::layers::Layer>::saved_len(pass.extent(#sequence))]),
        rows_out: rows(plan, step.to),
        rows_in,
        layer: quote!(Self::#layer),
        params: quote!(&model.params[#p0..#p1]),
        buffers: quote!(&model.buffers[#b0..#b1]),
        stats,
    }
}

/// `partials[...]` of whole-batch layer `j`.
fn partials(j: usize) -> TokenStream {
    let j = lit(j);
    quote!({ let s = &Self::__NN_PLAN.stages[#j]; &mut partials[s.partials..s.partials + s.partials_len] })
}

/// The body of the generated `__forward`, generic over the buffers' type (a workspace's `Vec`s, or slices of a
/// caller's array): its `saved` and `states` entries are reached through `AsMut`.
pub fn forward(checked: &Checked, plan: &Plan) -> TokenStream {
    let rt = quote!(::nn::__private);
    let block = |k: usize| {
        let step = &plan.steps[k];
        let Parts { layer, params, buffers, stats, rows_in, rows_out, .. } = parts(checked, plan, step, k);
        let ty = runtime_path(&*checked.layers[step.layer].layer);
        let (from, to, i, o, k) = (lit(step.from), lit(step.to), lit(step.in_len), lit(step.out_len), lit(k));
        let sequence = plan.is_sequence(step.from);
        let layer_ty = quote!(<#ty as #rt::layers::Layer>);
        quote! {{
            let (x, y) = #rt::layer_io(input, acts, #from, #to, #rows_in * #i, #rows_out * #o);
            #rt::layers::Layer::forward(&#layer, #rt::layers::Forward {
                params: #params, buffers: #buffers, x, y,
                saved: &mut saved[#k].as_mut()[..#layer_ty::saved_len(pass.extent(#sequence))],
                scratch: &mut scratch[..],
                stats: #stats,
                state: &mut states[#k].as_mut()[..samples * #layer_ty::STATE],
                pass,
            });
        }}
    };
    let statistics = |j: usize| {
        let step = &plan.steps[plan.stages[j]];
        let Parts { layer, rows_in, .. } = parts(checked, plan, step, plan.stages[j]);
        let (from, i, partials) = (lit(step.from), lit(step.in_len), partials(j));
        quote! {
            if stage.is_some() {
                let x = #rt::buffer(input, acts, #from, #rows_in * #i);
                #rt::layers::Layer::forward_partials(&#layer, x, pass, #partials);
            }
        }
    };
    if plan.stages.is_empty() {
        return (0..plan.steps.len()).map(block).collect();
    }
    (0..=plan.stages.len())
        .map(|s| {
            let apply = s.checked_sub(1).map(|j| block(plan.stages[j]));
            let reduce = (s < plan.stages.len()).then(|| statistics(s));
            stage_block(s, apply, stage_layers(plan, s).map(block), reduce)
        })
        .collect()
}

/// The layers of stage `s` other than the whole-batch layer that opens it, in order.
fn stage_layers(plan: &Plan, s: usize) -> impl DoubleEndedIterator<Item = usize> + '_ {
    (0..plan.steps.len()).filter(move |&k| plan.steps[k].stage == s && plan.steps[k].whole_batch.is_none())
}

/// Stage `s` of a pass, run when the driver asks for it (or for every stage): the whole-batch layer where the
/// stage starts in this pass's direction (`apply`), the stage's other layers, then the partial sums of the
/// whole-batch layer where it ends (`reduce`).
fn stage_block(
    s: usize,
    apply: Option<TokenStream>,
    layers: impl Iterator<Item = TokenStream>,
    reduce: Option<TokenStream>,
) -> TokenStream {
    let s = lit(s);
    quote! {
        if stage.is_none_or(|s| s == #s) {
            #apply
            #(#layers)*
            #reduce
        }
    }
}

/// The body of `backward_chunk`.
pub fn backward(checked: &Checked, plan: &Plan) -> TokenStream {
    let rt = quote!(::nn::__private);
    let io = |k: usize, with_dx: bool| {
        let step = &plan.steps[k];
        let Parts { params, buffers, saved, stats, rows_in, rows_out, .. } = parts(checked, plan, step, k);
        let (from, to, i, o) = (lit(step.from), lit(step.to), lit(step.in_len), lit(step.out_len));
        let (p0, p1) = (lit(step.params.start), lit(step.params.end));
        let dx = match (with_dx, k) {
            (false, _) => quote!(::core::option::Option::None),
            (true, 0) => quote! {
                if want_dx {
                    ::core::option::Option::Some(&mut chunk_dx[..#rows_in * #i])
                } else {
                    ::core::option::Option::None
                }
            },
            (true, _) => quote!(::core::option::Option::Some(&mut h[..#rows_in * #i])),
        };
        quote! {
            #rt::layers::Backward {
                params: #params, buffers: #buffers,
                x: #rt::buffer(input, acts, #from, #rows_in * #i),
                y: #rt::buffer(input, acts, #to, #rows_out * #o),
                saved: &#saved, dy: &g[..#rows_out * #o], dx: #dx, grads: &mut grads[#p0..#p1],
                scratch: &mut scratch[..], stats: #stats, pass,
            }
        }
    };
    let block = |k: usize| {
        let (layer, io) = (parts(checked, plan, &plan.steps[k], k).layer, io(k, true));
        quote! {
            #rt::layers::Layer::backward(&#layer, #io);
            ::core::mem::swap(&mut g, &mut h);
        }
    };
    let statistics = |j: usize| {
        let k = plan.stages[j];
        let (layer, io, partials) = (parts(checked, plan, &plan.steps[k], k).layer, io(k, false), partials(j));
        quote! {
            if stage.is_some() {
                #rt::layers::Layer::backward_partials(&#layer, #io, #partials);
            }
        }
    };
    if plan.stages.is_empty() {
        return (0..plan.steps.len()).rev().map(block).collect();
    }
    let flips = plan.flips();
    let blocks = (0..=plan.stages.len()).rev().map(|s| {
        let apply = (s < plan.stages.len()).then(|| block(plan.stages[s]));
        let reduce = s.checked_sub(1).map(statistics);
        stage_block(s, apply, stage_layers(plan, s).rev().map(block), reduce)
    });
    quote! {
        // Where a stage's incoming gradient is: the stages before it in backward order swapped the two buffers
        // this many times.
        if stage.is_some_and(|s| [#(#flips),*][s]) {
            ::core::mem::swap(&mut g, &mut h);
        }
        #(#blocks)*
    }
}

/// The body of `finish_stats`: the whole-batch layers' reductions, by index.
pub fn finish(checked: &Checked, plan: &Plan) -> TokenStream {
    let rt = quote!(::nn::__private);
    let arms = plan.stages.iter().enumerate().map(|(j, &k)| {
        let layer = parts(checked, plan, &plan.steps[k], k).layer;
        let j = lit(j);
        quote! {
            #j => if backward {
                #rt::layers::Layer::finish_backward(&#layer, sums, pass, stats);
                ::core::result::Result::Ok(())
            } else {
                #rt::layers::Layer::finish_forward(&#layer, sums, pass, stats, buffers)
            },
        }
    });
    quote! {
        match stage {
            #(#arms)*
            _ => ::core::result::Result::Ok(()),
        }
    }
}
