//! The constants a generated network carries: its layers, tensors, buffer sizes and stages, its documentation,
//! and the compile-time cross-check of the macro's sizes against the runtime's.

use super::cost;
use super::plan::Plan;
use crate::check::Checked;
use crate::layers::{lit, runtime_path};
use proc_macro2::{Literal, TokenStream};
use quote::quote;

/// `LayerInfo` expressions, one per layer.
pub fn layer_infos(checked: &Checked) -> Vec<TokenStream> {
    let rt = quote!(::nn::__private);
    checked
        .layers
        .iter()
        .zip(cost::layer_macs(checked))
        .map(|(l, (forward, train))| {
            let name = l.field.to_string();
            let decl = &l.declaration;
            let dims = l.output.dims().into_iter().map(lit);
            let params = lit(l.layer.params());
            let (forward, train) = (Literal::u64_unsuffixed(forward), Literal::u64_unsuffixed(train));
            quote! {
                #rt::LayerInfo {
                    name: #name, declaration: #decl, output_shape: &[#(#dims),*], params: #params,
                    forward_macs: #forward, train_macs: #train,
                }
            }
        })
        .collect()
}

/// `TensorInfo` expressions for the parameter tensors (or, if `buffers`, the buffer tensors) in order.
pub fn tensor_infos(checked: &Checked, plan: &Plan, buffers: bool) -> Vec<TokenStream> {
    let rt = quote!(::nn::__private);
    let tensors = plan.tensors(checked).into_iter().filter(|t| t.buffer == buffers);
    tensors
        .map(|t| {
            let (name, shape, offset) = (t.name, t.shape.into_iter().map(lit), lit(t.offset));
            quote!(#rt::TensorInfo { name: #name, shape: &[#(#shape),*], offset: #offset })
        })
        .collect()
}

/// The `Plan` constant.
pub fn plan(checked: &Checked, plan: &Plan) -> TokenStream {
    let rt = quote!(::nn::__private);
    let types: Vec<TokenStream> = plan.steps.iter().map(|s| runtime_path(&*checked.layers[s.layer].layer)).collect();
    let layer = quote!(#rt::layers::Layer);
    let sizes = types.iter().zip(&plan.steps).map(|(t, step)| {
        let sequence = plan.is_sequence(step.from);
        quote!(#rt::Sizes::of::<#t>(#sequence))
    });
    let mut partials = quote!(0);
    let mut stats = quote!(0);
    let stages = plan.stages.iter().map(|&k| {
        let step = &plan.steps[k];
        let t = &types[k];
        let name = checked.layers[step.layer].field.to_string();
        let buffers = lit(step.buffers.start);
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
    let activations = plan.activations.iter().map(|&(len, sequence)| {
        let len = lit(len);
        quote!((#len, #sequence))
    });
    let (input, output) = (lit(checked.input.len()), lit(checked.output().len()));
    let (sequence_input, sequence_output) = (checked.input.is_sequence(), checked.output().is_sequence());
    let (width, output_buffer) = (lit(plan.width), lit(plan.output_buffer));
    let states = types.iter().map(|t| quote!(<#t as #layer>::STATE));
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
        }
    }
}

/// Compile-time assertions that the runtime's own constants agree with every size the macro computed.
pub fn assertions(checked: &Checked, plan: &Plan) -> TokenStream {
    let rt = quote!(::nn::__private);
    let checks = plan.steps.iter().map(|s| {
        let l = &checked.layers[s.layer];
        let ty = runtime_path(&*l.layer);
        let layer = quote!(<#ty as #rt::layers::Layer>);
        let (i, o, p, b) = (lit(s.in_len), lit(s.out_len), lit(l.layer.params()), lit(l.layer.buffer_len()));
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

/// The "Layers" table appended to the struct's documentation.
pub fn summary_doc(checked: &Checked, total: usize) -> String {
    let mut doc = String::from(
        "\n\n# Layers\n\n| field | layer | output | parameters | forward MACs |\n|---|---|---|---:|---:|\n",
    );
    doc.push_str(&format!("| | `Input` | {} | | |\n", checked.input.short()));
    let macs = cost::layer_macs(checked);
    for (l, (forward, _)) in checked.layers.iter().zip(&macs) {
        let field = if l.has_field() { format!("`{}`", l.field) } else { String::new() };
        doc.push_str(&format!(
            "| {field} | `{}` | {} | {} | {forward} |\n",
            l.declaration,
            l.output.short(),
            l.layer.params()
        ));
    }
    let (forward, train) = macs.iter().fold((0, 0), |(f, t), m| (f + m.0, t + m.1));
    doc.push_str(&format!(
        "\nTotal: {total} parameters; {forward} multiply-adds per sample forward, {train} per training step. \
         Generated by `network!`; every shape above was checked at compile time."
    ));
    if checked.input.is_sequence() {
        doc.push_str(&streaming_doc(checked));
    }
    doc
}

/// Whether a network over sequences streams, and if not, which layer stops it.
fn streaming_doc(checked: &Checked) -> String {
    let heading = "\n\n# Streaming\n\n";
    match checked.layers.iter().find(|l| !l.layer.streams()) {
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
        let checked = crate::check::check(&networks.0[0]).unwrap_or_else(|_| panic!("{source} checks"));
        summary_doc(&checked, 0)
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
