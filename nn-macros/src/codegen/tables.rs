//! The constants a generated network carries: its layers, tensors, buffer sizes and stages, its graph for
//! exporters, its documentation, and the compile-time cross-check of the macro's sizes against the runtime's.

use super::cost;
use crate::graph::{ExportNode, Graph, Rows, Step};
use crate::layers::lit;
use proc_macro2::{Literal, TokenStream};
use quote::quote;

/// `LayerInfo` expressions, one per layer.
pub fn layer_infos(graph: &Graph) -> Vec<TokenStream> {
    let rt = crate::krate::private();
    graph
        .layers
        .iter()
        .zip(cost::layer_macs(graph))
        .map(|(l, (forward, train))| {
            let (name, prefix, decl, depth) = (&l.path, &l.prefix, &l.declaration, lit(l.depth));
            let dims = l.output_shape.dims().into_iter().map(lit);
            let params = lit(l.layer.params());
            let (forward, train) = (Literal::u64_unsuffixed(forward), Literal::u64_unsuffixed(train));
            let (blocks, field) = (&l.opens, l.has_field);
            quote! {
                #rt::LayerInfo {
                    name: #name, field: #field, prefix: #prefix, depth: #depth, blocks: &[#(#blocks),*], declaration: #decl,
                    output_shape: &[#(#dims),*], params: #params, forward_macs: #forward, train_macs: #train,
                }
            }
        })
        .collect()
}

/// `TensorInfo` expressions for the parameter tensors (or, if `buffers`, the buffer tensors) in order.
pub fn tensor_infos(graph: &Graph, buffers: bool) -> Vec<TokenStream> {
    let rt = crate::krate::private();
    let tensors = graph.tensors().into_iter().filter(|t| t.buffer == buffers);
    tensors
        .map(|t| {
            let (name, shape, offset) = (t.name, t.shape.into_iter().map(lit), lit(t.offset));
            quote!(#rt::TensorInfo { name: #name, shape: &[#(#shape),*], offset: #offset })
        })
        .collect()
}

/// The `Plan` constant.
pub fn plan(graph: &Graph) -> TokenStream {
    let rt = crate::krate::private();
    let layer = quote!(#rt::layers::Layer);
    let running: Vec<_> = graph.running().map(|(_, l)| l).collect();
    let sizes = running.iter().map(|l| {
        let t = &l.ty;
        let rows = match graph.values[l.input].rows {
            Rows::Sample => quote!(#rt::Rows::Sample),
            Rows::Step => quote!(#rt::Rows::Step),
            Rows::Fixed(steps) => {
                let steps = lit(steps);
                quote!(#rt::Rows::Fixed(#steps))
            }
        };
        quote!(#rt::Sizes::of::<#t>(#rows))
    });
    let mut partials = quote!(0);
    let mut stats = quote!(0);
    let stages = graph.stages.iter().map(|&k| {
        let Step::Layer { layer: index, .. } = &graph.steps[k] else { unreachable!("a whole-batch layer") };
        let l = &graph.layers[*index];
        let (t, name, buffers) = (&l.ty, &l.path, lit(l.buffers.start));
        let stage = quote! {
            #rt::Stage {
                name: #name,
                partials: #partials,
                partials_len: <#t as #layer>::PARTIALS,
                stats: #stats,
                stats_len: <#t as #layer>::STATS,
                buffers: #buffers,
                buffers_len: <#t as #layer>::BUFFERS,
                min_batch: <#t as #layer>::MIN_BATCH,
            }
        };
        partials = quote!(#partials + <#t as #layer>::PARTIALS);
        stats = quote!(#stats + <#t as #layer>::STATS);
        stage
    });
    let stages: Vec<TokenStream> = stages.collect();
    let activations = graph.activations.iter().map(|&(len, sequence)| {
        let len = lit(len);
        quote!((#len, #sequence))
    });
    let nodes = graph.nodes.iter().map(|n| match n {
        ExportNode::Layer { layer, input } => {
            let (layer, input) = (lit(*layer), lit(*input));
            quote!(#rt::Node::Layer { layer: #layer, input: #input })
        }
        ExportNode::Add { a, b } => {
            let (a, b) = (lit(*a), lit(*b));
            quote!(#rt::Node::Add { a: #a, b: #b })
        }
        ExportNode::Concat { parts } => {
            let parts = parts.iter().map(|&p| lit(p));
            quote!(#rt::Node::Concat { parts: &[#(#parts),*] })
        }
    });
    let (input, output) = (lit(graph.input.len()), lit(graph.output_shape.len()));
    let (sequence_input, sequence_output) = (graph.input.is_sequence(), graph.output_shape.is_sequence());
    let (width, output_buffer, slots) =
        (lit(graph.width), lit(graph.values[graph.output].buffer), lit(graph.slots.count));
    let tokens = lit(match &graph.input {
        crate::shape::Shape::Tokens { vocab, .. } => *vocab,
        _ => 0,
    });
    let (max_steps, max_steps_layer) = match graph.position_limit() {
        Some((limit, _, shown)) => (lit(limit), shown),
        None => (lit(0), String::new()),
    };
    let states = running.iter().map(|l| {
        let t = &l.ty;
        quote!(<#t as #layer>::STATE)
    });
    quote! {
        #rt::Plan {
            input: #input,
            output: #output,
            sequence_input: #sequence_input,
            sequence_output: #sequence_output,
            activations: &[#(#activations),*],
            output_buffer: #output_buffer,
            sizes: &[#(#sizes),*],
            width: #width,
            stages: &[#(#stages),*],
            states: &[#(#states),*],
            slots: #slots,
            tokens: #tokens,
            max_steps: #max_steps,
            max_steps_layer: #max_steps_layer,
            nodes: &[#(#nodes),*],
            parts: &[],
        }
    }
}

/// Compile-time assertions that the runtime's own constants agree with every size the macro computed.
pub fn assertions(graph: &Graph) -> TokenStream {
    let rt = crate::krate::private();
    let checks = graph.running().map(|(_, l)| {
        let ty = &l.ty;
        let layer = quote!(<#ty as #rt::layers::Layer>);
        let (i, o) = (lit(graph.values[l.input].width), lit(graph.values[l.output].width));
        let (p, b) = (lit(l.layer.params()), lit(l.layer.buffer_len()));
        let (whole_batch, state) = (l.layer.whole_batch(), lit(l.layer.state()));
        quote! {
            ::core::assert!(
                #layer::IN == #i && #layer::OUT == #o && #layer::PARAMS == #p && #layer::BUFFERS == #b
                    && (#layer::PARTIALS > 0) == #whole_batch && #layer::STATE == #state
            );
        }
    });
    quote!(const _: () = { #(#checks)* };)
}

/// The "Layers" table appended to the struct's documentation: every layer, under the blocks it stands in.
pub fn summary_doc(graph: &Graph) -> String {
    let mut doc = String::from(
        "\n\n# Layers\n\n| field | layer | output | parameters | forward MACs |\n|---|---|---|---:|---:|\n",
    );
    doc.push_str(&format!("| | `Input` | {} | | |\n", graph.input.short()));
    let macs = cost::layer_macs(graph);
    for (l, (forward, _)) in graph.layers.iter().zip(&macs) {
        let depth = l.depth + 1 - l.opens.len().min(l.depth + 1);
        for (i, block) in l.opens.iter().enumerate() {
            doc.push_str(&format!("| | {}`{block}` | | | |\n", indent(depth + i)));
        }
        let field = if l.has_field { format!("`{}`", l.path) } else { String::new() };
        doc.push_str(&format!(
            "| {field} | {}`{}` | {} | {} | {forward} |\n",
            indent(l.depth),
            l.declaration,
            l.output_shape.short(),
            l.layer.params()
        ));
    }
    let (forward, train) = macs.iter().fold((0, 0), |(f, t), m| (f + m.0, t + m.1));
    doc.push_str(&format!(
        "\nTotal: {} parameters; {forward} multiply-adds per sample forward, {train} per training step. \
         Generated by `network!`; every shape above was checked at compile time.",
        graph.total_params
    ));
    if graph.input.is_sequence() {
        doc.push_str(&streaming_doc(graph));
    }
    doc
}

/// Indentation for a row `depth` blocks deep.
fn indent(depth: usize) -> String {
    "&nbsp;&nbsp;".repeat(depth)
}

/// Whether a network over sequences streams, and if not, which layer stops it.
fn streaming_doc(graph: &Graph) -> String {
    let heading = "\n\n# Streaming\n\n";
    match graph.layers.iter().find(|l| !l.layer.streams()) {
        None => format!(
            "{heading}This network streams: `initial_state`, `step` and `step_with` feed it one time step at a time, \
             the state carried by the caller. Every layer can give its output for the steps so far (recurrent \
             layers run forwards, and time is reduced only by `Last` or `FinalState`)."
        ),
        Some(l) => format!(
            "{heading}This network has no `step`: `{}` needs the whole sequence before it can give an output (a \
             bidirectional layer reads later steps; `MeanOverTime` and `MaxOverTime` read every step). Networks \
             whose recurrent layers run forwards only and that reduce time only with `Last` or `FinalState` \
             stream one step at a time.",
            l.declaration
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::summary_doc;

    /// The generated documentation of the (valid) network `source` declares.
    fn doc_of(source: &str) -> String {
        let networks: crate::parse::Networks = syn::parse_str(source).expect("a network");
        let tree = crate::check::check(&networks.0[0]).unwrap_or_else(|_| panic!("{source} checks"));
        summary_doc(&crate::graph::Graph::new(tree).expect("lowered"))
    }

    #[test]
    fn the_documentation_says_whether_a_sequence_network_streams_and_why_not() {
        let streams = doc_of("struct A { Input<Seq, 4> -> lstm: LSTM<4, 8> -> Last -> fc: Linear<8, 2> }");
        assert!(streams.contains("This network streams"), "{streams}");
        let mean = doc_of("struct B { Input<Seq, 4> -> lstm: LSTM<4, 8> -> MeanOverTime -> fc: Linear<8, 2> }");
        assert!(mean.contains("This network has no `step`: `MeanOverTime` needs the whole sequence"), "{mean}");
        let both = doc_of("struct C { Input<Seq, 4> -> gru: GRU<4, 8, bidirectional = true> -> Last }");
        assert!(both.contains("no `step`: `GRU<4, 8, bidirectional = true>`"), "{both}");
        let flat = doc_of("struct D { Input<4> -> fc: Linear<4, 2> }");
        assert!(!flat.contains("Streaming"), "{flat}");
    }
}
