//! The bodies of the generated forward and backward passes over one chunk: one block per step, in order and in
//! reverse, every size a literal. A network with whole-batch layers has its blocks grouped into stages, each
//! guarded by the stage it belongs to; a network without them has no guards at all.
//!
//! Backward follows the graph's slot plan (`graph::backward`): each step reads its output's gradient from a slot
//! and writes, or adds, its inputs' gradients into theirs (or into the chunk's input gradient).

use crate::graph::{Contribution, Grad, Graph, Rows, Step, Target};
use crate::layers::lit;
use proc_macro2::{Literal, TokenStream};
use quote::quote;

/// The chunk's rows of `value`: `rows` for the input's steps, `samples` for a row per sample, `samples * T` for
/// a sequence of `T` steps made inside the network.
fn rows(graph: &Graph, value: usize) -> TokenStream {
    match graph.values[value].rows {
        Rows::Step => quote!(rows),
        Rows::Sample => quote!(samples),
        Rows::Fixed(t) => {
            let t = lit(t);
            quote!((samples * #t))
        }
    }
}

/// The number of values of `value` in a chunk: its rows × its width.
fn len(graph: &Graph, value: usize) -> TokenStream {
    let (r, w) = (rows(graph, value), lit(graph.values[value].width));
    quote!(#r * #w)
}

/// The activation buffer of `value`, as a literal.
fn buffer(graph: &Graph, value: usize) -> Literal {
    lit(graph.values[value].buffer)
}

/// Tokens shared by both passes for a layer step.
struct LayerParts {
    konst: TokenStream,
    ty: TokenStream,
    params: TokenStream,
    buffers: TokenStream,
    stats: TokenStream,
    /// `pass.extent(…)` of its input.
    extent: TokenStream,
    /// The pass as the layer sees it: the chunk's, or for a sequence made inside the network, one of its steps.
    pass: TokenStream,
}

fn layer_parts(graph: &Graph, layer: usize, whole_batch: Option<usize>) -> LayerParts {
    let l = &graph.layers[layer];
    let konst = &l.konst;
    let (p0, p1, b0, b1) = (lit(l.params.start), lit(l.params.end), lit(l.buffers.start), lit(l.buffers.end));
    let stats = match whole_batch {
        Some(j) => {
            let j = lit(j);
            quote!({ let s = &Self::__NN_PLAN.stages[#j]; &stats[s.stats..s.stats + s.stats_len] })
        }
        None => quote!(&[]),
    };
    let rt = crate::krate::private();
    let (extent, pass) = match graph.values[l.input].rows {
        Rows::Sample => (quote!(pass.extent(false)), quote!(pass)),
        Rows::Step => (quote!(pass.extent(true)), quote!(pass)),
        Rows::Fixed(t) => {
            let t = lit(t);
            let extent = quote!(#rt::Extent { samples: pass.samples, steps: #t, backward: pass.backward });
            (extent, fixed_pass(t))
        }
    };
    LayerParts {
        konst: quote!(Self::#konst),
        ty: l.ty.clone(),
        params: quote!(&model.params[#p0..#p1]),
        buffers: quote!(&model.buffers[#b0..#b1]),
        stats,
        extent,
        pass,
    }
}

/// The pass a layer reading a sequence of `t` steps made inside the network sees (defined by [`fixed_passes`]).
fn fixed_pass(t: Literal) -> TokenStream {
    let name = quote::format_ident!("__nn_pass_{}", t.to_string());
    quote!(&#name)
}

/// Defines the pass of each sequence made inside the network (`ToSeq`'s): the chunk's, with that many steps.
fn fixed_passes(graph: &Graph) -> TokenStream {
    let mut steps: Vec<usize> = graph
        .layers
        .iter()
        .filter_map(|l| match graph.values[l.input].rows {
            Rows::Fixed(t) => Some(t),
            _ => None,
        })
        .collect();
    steps.sort_unstable();
    steps.dedup();
    let rt = crate::krate::private();
    steps
        .into_iter()
        .map(|t| {
            let name = quote::format_ident!("__nn_pass_{t}");
            let t = lit(t);
            quote!(let #name = #rt::Pass { steps: #t, lengths: &[], ..*pass };)
        })
        .collect()
}

/// `partials[...]` of whole-batch layer `j`.
fn partials(j: usize) -> TokenStream {
    let j = lit(j);
    quote!({ let s = &Self::__NN_PLAN.stages[#j]; &mut partials[s.partials..s.partials + s.partials_len] })
}

/// The body of the generated `__forward`, generic over the buffers' type (a workspace's `Vec`s, or slices of a
/// caller's array): its `saved` and `states` entries are reached through `AsMut`.
pub fn forward(graph: &Graph) -> TokenStream {
    let (passes, steps) = (fixed_passes(graph), forward_steps(graph));
    quote!(#passes #steps)
}

/// The steps of [`forward`].
fn forward_steps(graph: &Graph) -> TokenStream {
    let rt = crate::krate::private();
    let block = |k: usize| match &graph.steps[k] {
        Step::Layer { layer, running, whole_batch, .. } => {
            let l = &graph.layers[*layer];
            let LayerParts { konst, ty, params, buffers, stats, extent, pass } =
                layer_parts(graph, *layer, *whole_batch);
            let (from, to) = (buffer(graph, l.input), buffer(graph, l.output));
            let (x_len, y_len, running) = (len(graph, l.input), len(graph, l.output), lit(*running));
            let layer_ty = quote!(<#ty as #rt::layers::Layer>);
            quote! {{
                let (x, y) = #rt::layer_io(input, acts, #from, #to, #x_len, #y_len);
                #rt::layers::Layer::forward(&#konst, #rt::layers::Forward {
                    params: #params, buffers: #buffers, x, y,
                    saved: &mut saved[#running].as_mut()[..#layer_ty::saved_len(#extent)],
                    scratch: &mut scratch[..],
                    stats: #stats,
                    state: &mut states[#running].as_mut()[..samples * #layer_ty::STATE],
                    pass: #pass,
                });
            }}
        }
        Step::Add { a, b, out, .. } => {
            let (a, b, to, n) = (buffer(graph, *a), buffer(graph, *b), buffer(graph, *out), len(graph, *out));
            quote!(#rt::add_forward(input, acts, #a, #b, #to, #n);)
        }
        Step::Concat { parts, out, .. } => {
            let parts = parts.iter().map(|&p| {
                let (k, w) = (buffer(graph, p), lit(graph.values[p].width));
                quote!((#k, #w))
            });
            let (to, r) = (buffer(graph, *out), rows(graph, *out));
            quote!(#rt::concat_forward(input, acts, &[#(#parts),*], #to, #r);)
        }
    };
    let statistics = |j: usize| {
        let Step::Layer { layer, .. } = &graph.steps[graph.stages[j]] else { unreachable!("a whole-batch layer") };
        let l = &graph.layers[*layer];
        let (konst, from, x_len, partials) = (&l.konst, buffer(graph, l.input), len(graph, l.input), partials(j));
        quote! {
            if stage.is_some() {
                let x = #rt::buffer(input, acts, #from, #x_len);
                #rt::layers::Layer::forward_partials(&Self::#konst, x, pass, #partials);
            }
        }
    };
    if graph.stages.is_empty() {
        return (0..graph.steps.len()).map(block).collect();
    }
    (0..=graph.stages.len())
        .map(|s| {
            let apply = s.checked_sub(1).map(|j| block(graph.stages[j]));
            let reduce = (s < graph.stages.len()).then(|| statistics(s));
            stage_block(s, apply, stage_steps(graph, s).map(block), reduce)
        })
        .collect()
}

/// The steps of stage `s` other than the whole-batch layer that opens it, in order.
fn stage_steps(graph: &Graph, s: usize) -> impl DoubleEndedIterator<Item = usize> + '_ {
    (0..graph.steps.len()).filter(move |&k| {
        graph.steps[k].stage() == s && !matches!(graph.steps[k], Step::Layer { whole_batch: Some(_), .. })
    })
}

/// Stage `s` of a pass, run when the driver asks for it (or for every stage): the whole-batch layer where the
/// stage starts in this pass's direction (`apply`), the stage's other steps, then the partial sums of the
/// whole-batch layer where it ends (`reduce`).
fn stage_block(
    s: usize,
    apply: Option<TokenStream>,
    steps: impl Iterator<Item = TokenStream>,
    reduce: Option<TokenStream>,
) -> TokenStream {
    let s = lit(s);
    quote! {
        if stage.is_none_or(|s| s == #s) {
            #apply
            #(#steps)*
            #reduce
        }
    }
}

/// Whether a contribution to `value`'s gradient is made in this pass: always, or when the input's gradient is
/// wanted.
fn wanted(graph: &Graph, value: usize) -> TokenStream {
    match (value, graph.values[value].grad) {
        (0, _) | (_, Grad::ForInput) => quote!(want_dx),
        (_, Grad::Always) => quote!(true),
    }
}

/// The body of `backward_chunk`.
pub fn backward(graph: &Graph) -> TokenStream {
    let (passes, steps) = (fixed_passes(graph), backward_steps(graph));
    quote!(#passes #steps)
}

/// The steps of [`backward`].
fn backward_steps(graph: &Graph) -> TokenStream {
    let rt = crate::krate::private();
    if graph.steps.is_empty() {
        let n = len(graph, 0);
        return quote! {
            if want_dx {
                chunk_dx[..#n].copy_from_slice(&deltas[0][..#n]);
            }
        };
    }
    let layer_io = |k: usize, with_dx: bool| -> TokenStream {
        let Step::Layer { layer, whole_batch, running, .. } = &graph.steps[k] else { unreachable!("a layer step") };
        let (l, running) = (&graph.layers[*layer], lit(*running));
        let LayerParts { ty, params, buffers, stats, extent, pass, .. } = layer_parts(graph, *layer, *whole_batch);
        let grads = &graph.slots.steps[k];
        let (x_len, y_len, out) = (len(graph, l.input), len(graph, l.output), lit(grads.out));
        let (from, to) = (buffer(graph, l.input), buffer(graph, l.output));
        let (p0, p1) = (lit(l.params.start), lit(l.params.end));
        let layer_ty = quote!(<#ty as #rt::layers::Layer>);
        let wanted = wanted(graph, l.input);
        // Where the input gradient goes: the chunk's input gradient, or a slot.
        let (dy, dx) = match (with_dx, grads.into[0]) {
            (false, _) => (quote!(&deltas[#out][..#y_len]), quote!(::core::option::Option::None)),
            (true, Contribution::Write(Target::Input)) => (
                quote!(&deltas[#out][..#y_len]),
                quote!(if want_dx { ::core::option::Option::Some(&mut chunk_dx[..#x_len]) } else { ::core::option::Option::None }),
            ),
            (true, Contribution::Write(Target::Slot(slot)) | Contribution::Add { temp: Some(slot), .. }) => {
                let slot = lit(slot);
                return quote! {{
                    let (dy, dx) = #rt::slot_pair(deltas, #out, #y_len, #slot, #x_len);
                    let dx = if #wanted { ::core::option::Option::Some(dx) } else { ::core::option::Option::None };
                    #rt::layers::Backward {
                        params: #params, buffers: #buffers,
                        x: #rt::buffer(input, acts, #from, #x_len),
                        y: #rt::buffer(input, acts, #to, #y_len),
                        saved: &saved[#running][..#layer_ty::saved_len(#extent)],
                        dy, dx, grads: &mut grads[#p0..#p1],
                        scratch: &mut scratch[..], stats: #stats, pass: #pass,
                    }
                }};
            }
            (true, other) => unreachable!("a layer's contribution is written: {other:?}"),
        };
        quote! {
            #rt::layers::Backward {
                params: #params, buffers: #buffers,
                x: #rt::buffer(input, acts, #from, #x_len),
                y: #rt::buffer(input, acts, #to, #y_len),
                saved: &saved[#running][..#layer_ty::saved_len(#extent)],
                dy: #dy, dx: #dx, grads: &mut grads[#p0..#p1],
                scratch: &mut scratch[..], stats: #stats, pass: #pass,
            }
        }
    };
    let block = |k: usize| -> TokenStream {
        let grads = &graph.slots.steps[k];
        let out_value = graph.steps[k].output(graph);
        let run = wanted(graph, out_value);
        let body = match &graph.steps[k] {
            Step::Layer { layer, .. } => {
                let l = &graph.layers[*layer];
                let io = layer_io(k, true);
                let konst = &l.konst;
                let after = match grads.into[0] {
                    Contribution::Add { temp: Some(temp), target } => {
                        let (temp, n, wanted) = (lit(temp), len(graph, l.input), wanted(graph, l.input));
                        let add = match target {
                            Target::Input => quote!(#rt::pass_on(&deltas[#temp][..#n], &mut chunk_dx[..#n], true)),
                            Target::Slot(s) => {
                                let s = lit(s);
                                quote! {{
                                    let (t, d) = #rt::slot_pair(deltas, #temp, #n, #s, #n);
                                    #rt::pass_on(t, d, true);
                                }}
                            }
                        };
                        quote!(if #wanted { #add; })
                    }
                    _ => quote!(),
                };
                quote! {
                    #rt::layers::Layer::backward(&Self::#konst, #io);
                    #after
                }
            }
            Step::Add { a, b, .. } => {
                let out = lit(grads.out);
                let n = len(graph, out_value);
                let mut code = TokenStream::new();
                for (i, value) in [(1, *b), (0, *a)] {
                    let wanted = wanted(graph, value);
                    let give = match grads.into[i] {
                        Contribution::Adopt => continue,
                        Contribution::Write(target) => pass_on(target, quote!(&deltas[#out][..#n]), &out, &n, false),
                        Contribution::Add { target, .. } => {
                            pass_on(target, quote!(&deltas[#out][..#n]), &out, &n, true)
                        }
                    };
                    code.extend(quote!(if #wanted { #give }));
                }
                code
            }
            Step::Concat { parts, .. } => {
                let (out, total, r) = (lit(grads.out), lit(graph.values[out_value].width), rows(graph, out_value));
                let n = len(graph, out_value);
                let mut offset = 0;
                let mut code = TokenStream::new();
                for (i, &value) in parts.iter().enumerate() {
                    let width = graph.values[value].width;
                    let (o, w, wanted) = (lit(offset), lit(width), wanted(graph, value));
                    offset += width;
                    let (target, add) = match grads.into[i] {
                        Contribution::Write(target) => (target, false),
                        Contribution::Add { target, .. } => (target, true),
                        Contribution::Adopt => unreachable!("only a residual sum hands its slot over"),
                    };
                    let give = match target {
                        Target::Input => quote! {
                            #rt::concat_backward(&deltas[#out][..#n], #total, #o, #w, #r, &mut chunk_dx[..], #add);
                        },
                        Target::Slot(s) => {
                            let (s, part) = (lit(s), len(graph, value));
                            quote! {{
                                let (g, d) = #rt::slot_pair(deltas, #out, #n, #s, #part);
                                #rt::concat_backward(g, #total, #o, #w, #r, d, #add);
                            }}
                        }
                    };
                    code.extend(quote!(if #wanted { #give }));
                }
                code
            }
        };
        quote!(if #run { #body })
    };
    let statistics = |j: usize| {
        let k = graph.stages[j];
        let Step::Layer { layer, .. } = &graph.steps[k] else { unreachable!("a whole-batch layer") };
        let io = layer_io(k, false);
        let (konst, partials) = (&graph.layers[*layer].konst, partials(j));
        quote! {
            if stage.is_some() {
                #rt::layers::Layer::backward_partials(&Self::#konst, #io, #partials);
            }
        }
    };
    if graph.stages.is_empty() {
        return (0..graph.steps.len()).rev().map(block).collect();
    }
    (0..=graph.stages.len())
        .rev()
        .map(|s| {
            let apply = (s < graph.stages.len()).then(|| block(graph.stages[s]));
            let reduce = s.checked_sub(1).map(statistics);
            stage_block(s, apply, stage_steps(graph, s).rev().map(block), reduce)
        })
        .collect()
}

/// Passes a residual sum's gradient `g` on to `target`: written (copied) or added.
fn pass_on(target: Target, g: TokenStream, out: &Literal, n: &TokenStream, add: bool) -> TokenStream {
    let rt = crate::krate::private();
    match target {
        Target::Input => quote!(#rt::pass_on(#g, &mut chunk_dx[..#n], #add);),
        Target::Slot(s) => {
            let s = lit(s);
            quote! {{
                let (g, d) = #rt::slot_pair(deltas, #out, #n, #s, #n);
                #rt::pass_on(g, d, #add);
            }}
        }
    }
}

/// `layer_loss` and `LAYER_LOSS` for a network with layers that add terms of their own to the loss (none
/// otherwise: the trait's defaults say there are none).
pub fn layer_loss(graph: &Graph) -> Option<TokenStream> {
    let rt = crate::krate::private();
    let terms: Vec<TokenStream> = graph
        .steps
        .iter()
        .filter_map(|step| match step {
            Step::Layer { layer, running, whole_batch, .. } if graph.layers[*layer].layer.adds_loss() => {
                let LayerParts { konst, ty, extent, pass, .. } = layer_parts(graph, *layer, *whole_batch);
                let running = lit(*running);
                Some(quote! {
                    total += #rt::layers::Layer::loss(
                        &#konst,
                        &chunk.saved[#running][..<#ty as #rt::layers::Layer>::saved_len(#extent)],
                        #pass,
                    );
                })
            }
            _ => None,
        })
        .collect();
    if terms.is_empty() {
        return None;
    }
    let passes = fixed_passes(graph);
    Some(quote! {
        const LAYER_LOSS: bool = true;

        fn layer_loss(chunk: &#rt::Chunk, pass: &#rt::Pass<'_>) -> f64 {
            #passes
            let mut total = 0.0;
            #(#terms)*
            total
        }
    })
}

/// The body of `finish_stats`: the whole-batch layers' reductions, by index.
pub fn finish(graph: &Graph) -> TokenStream {
    let rt = crate::krate::private();
    let arms = graph.stages.iter().enumerate().map(|(j, &k)| {
        let Step::Layer { layer, .. } = &graph.steps[k] else { unreachable!("a whole-batch layer") };
        let konst = &graph.layers[*layer].konst;
        let j = lit(j);
        quote! {
            #j => if backward {
                #rt::layers::Layer::finish_backward(&Self::#konst, sums, pass, stats);
                ::core::result::Result::Ok(())
            } else {
                #rt::layers::Layer::finish_forward(&Self::#konst, sums, pass, stats, buffers)
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
