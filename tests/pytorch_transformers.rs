//! Attention and transformers against PyTorch itself: `tests/data/pytorch/` holds what
//! `scripts/interop_reference.py` saved with PyTorch 2.15 — `nn.MultiheadAttention` on sequences of mixed lengths
//! (with a `key_padding_mask`, and causal), `nn.TransformerEncoder` (two post-norm `TransformerEncoderLayer`s),
//! one `norm_first` layer, and a GPT-style stack of PyTorch's layers — with its outputs on a batch and its
//! parameter gradients. The state_dicts load unchanged into the declarations below, and outputs (1e-5) and
//! gradients (1e-4) agree.

#[path = "common/pytorch.rs"]
mod pytorch;

use nn::prelude::*;
use pytorch::{check, close, data, loaded};

network! {
    /// `nn.MultiheadAttention(16, 4, batch_first=True)` on sequences of any length.
    pub struct Attention {
        Input<Seq, 16> -> attn: MultiheadAttention<16, 4>
    }

    /// The same, causal.
    pub struct CausalAttention {
        Input<Seq, 16> -> attn: MultiheadAttention<16, 4, causal = true>
    }

    /// `nn.TransformerEncoder(nn.TransformerEncoderLayer(16, 4, 32, dropout=0, batch_first=True), 2)`: each layer
    /// is `x = norm1(x + self_attn(x)); x = norm2(x + linear2(relu(linear1(x))))`.
    pub struct Encoder {
        Input<Seq<5>, 16>
        -> layers: Repeat<2> {
               Residual { self_attn: MultiheadAttention<16, 4> } -> norm1: LayerNorm<16>
               -> Residual { linear1: Linear<16, 32> -> ReLU -> linear2: Linear<32, 16> } -> norm2: LayerNorm<16>
           }
    }

    /// One `TransformerEncoderLayer(…, norm_first=True)`: `x = x + self_attn(norm1(x)); x = x + ff(norm2(x))`.
    pub struct NormFirst {
        Input<Seq<5>, 16>
        -> Residual { norm1: LayerNorm<16> -> self_attn: MultiheadAttention<16, 4> }
        -> Residual { norm2: LayerNorm<16> -> linear1: Linear<16, 32> -> ReLU -> linear2: Linear<32, 16> }
    }

    /// The script's GPT-style stack: PyTorch's pre-norm layers with GELU and a causal mask.
    pub struct Gpt {
        Input<Seq<8>, Tokens<20>>
        -> tok: Embedding<20, 16> -> pos: PositionalEmbedding<8, 16>
        -> blocks: Repeat<2> {
               Residual { norm1: LayerNorm<16> -> self_attn: MultiheadAttention<16, 4, causal = true> }
               -> Residual { norm2: LayerNorm<16> -> linear1: Linear<16, 32> -> GELU -> linear2: Linear<32, 16> }
           }
        -> ln_f: LayerNorm<16> -> head: Linear<16, 20>
    }
}

/// A reference's input as samples of `T` steps of 16 features.
fn fixed<const T: usize>(name: &str) -> Vec<[[f32; 16]; T]> {
    data(name)["input"].values.chunks_exact(T * 16).map(|c| *nn::view(c)).collect()
}

/// Attention on sequences of lengths 5, 2 and 4, as PyTorch computed them padded to 5 with a key padding mask:
/// the outputs and gradients of the real steps.
fn check_mixed_lengths<N: Network<Input = Vec<[f32; 16]>, Output = Vec<[f32; 16]>>>(name: &str) {
    let reference = data(name);
    let lengths: Vec<usize> = reference["lengths"].values.iter().map(|&l| l as usize).collect();
    let padded = |v: &[f32], i: usize, len: usize| -> Vec<[f32; 16]> {
        v[i * 5 * 16..][..len * 16].chunks_exact(16).map(|c| *nn::view(c)).collect()
    };
    let xs: Vec<Vec<[f32; 16]>> =
        lengths.iter().enumerate().map(|(i, &len)| padded(&reference["input"].values, i, len)).collect();
    let mut net: N = loaded(name);
    let ys = net.predict(&xs);
    for (i, (y, &len)) in ys.iter().zip(&lengths).enumerate() {
        let want: Vec<f32> = padded(&reference["output"].values, i, len).concat();
        close(&format!("{name} output of sample {i}"), &y.concat(), &want, 1e-5);
    }
    let d: Vec<Vec<[f32; 16]>> =
        lengths.iter().enumerate().map(|(i, &len)| padded(&reference["d_output"].values, i, len)).collect();
    let grads = net.backward(&xs, &d, None).unwrap().to_vec();
    for t in N::TENSORS {
        let want = &reference[&format!("grad.{}", t.name)].values;
        close(&format!("{name} grad.{}", t.name), &grads[t.offset..t.offset + t.len()], want, 1e-4);
    }
}

#[test]
fn multihead_attention_on_sequences_of_mixed_lengths_computes_as_pytorch() {
    check_mixed_lengths::<Attention>("attention");
}

#[test]
fn causal_multihead_attention_computes_as_pytorch() {
    check_mixed_lengths::<CausalAttention>("attention_causal");
}

#[test]
fn a_transformer_encoder_loads_and_computes_as_pytorch() {
    let mut net: Encoder = loaded("encoder");
    check("encoder", &mut net, &fixed::<5>("encoder"));
}

#[test]
fn a_norm_first_encoder_layer_loads_and_computes_as_pytorch() {
    let mut net: NormFirst = loaded("encoder_norm_first");
    check("encoder_norm_first", &mut net, &fixed::<5>("encoder_norm_first"));
}

#[test]
fn a_gpt_style_stack_of_pytorch_layers_loads_and_computes_as_pytorch() {
    let mut net: Gpt = loaded("gpt");
    let ids: Vec<[u32; 8]> =
        data("gpt")["input"].values.chunks_exact(8).map(|c| std::array::from_fn(|t| c[t] as u32)).collect();
    check("gpt", &mut net, &ids);
    // Generation with the cache gives the logits of the whole window at every step.
    let whole = net.forward(&ids[0]);
    let mut state = net.initial_state();
    for (t, &id) in ids[0].iter().enumerate() {
        let y = net.step(id, &mut state);
        close(&format!("step {t}"), &y, &whole[t], 1e-5);
    }
}
