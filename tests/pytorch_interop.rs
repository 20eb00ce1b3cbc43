//! Networks that branch against PyTorch itself: `tests/data/pytorch/` holds state_dicts saved by PyTorch 2.15 —
//! a torchvision-style ResNet (BasicBlocks, a 1×1 downsample, batch norm with real running statistics and an
//! int64 `num_batches_tracked`), a tagger with `Embedding` (a padding index) and `LayerNorm`, a decoder with
//! `ConvTranspose2d` and `Upsample` — with PyTorch's outputs on a batch and its parameter gradients, written by
//! `scripts/interop_reference.py`. The files load unchanged, and outputs and gradients agree with PyTorch's.

#[path = "common/pytorch.rs"]
mod pytorch;

use nn::prelude::*;
use nn::Example;
use pytorch::{check, close, data, loaded};

network! {
    /// `scripts/interop_reference.py`'s `ResNet`.
    pub struct ResNet {
        Input<3, 16, 16>
        -> stem: Conv2d<3, 8, 3, padding = 1, bias = false> -> bn: BatchNorm -> ReLU
        -> layer1: Repeat<2> {
               Residual {
                   conv1: Conv2d<8, 8, 3, padding = 1, bias = false> -> bn1: BatchNorm -> ReLU
                   -> conv2: Conv2d<8, 8, 3, padding = 1, bias = false> -> bn2: BatchNorm
               } -> ReLU
           }
        -> layer2: Residual {
               conv1: Conv2d<8, 16, 3, stride = 2, padding = 1, bias = false> -> bn1: BatchNorm -> ReLU
               -> conv2: Conv2d<16, 16, 3, padding = 1, bias = false> -> bn2: BatchNorm
           } shortcut {
               conv: Conv2d<8, 16, 1, stride = 2, bias = false> -> bn: BatchNorm
           }
        -> ReLU -> GlobalAvgPool -> fc: Linear<16, 10>
    }

    /// Its `Tagger`.
    pub struct Tagger {
        Input<Seq<7>, Tokens<50>> -> emb: Embedding<50, 16, padding_idx = 0>
        -> Residual { ln: LayerNorm<16> -> fc1: Linear<16, 32> -> GELU -> fc2: Linear<32, 16> }
        -> out: Linear<16, 5>
    }

    /// Its `Decoder`.
    pub struct Decoder {
        Input<6> -> fc: Linear<6, 64> -> ReLU -> Unflatten<4, 4, 4>
        -> up: ConvTranspose2d<4, 3, 3, stride = 2, padding = 1, output_padding = 1> -> ReLU -> Upsample<2>
        -> conv: Conv2d<3, 2, 3, padding = 1> -> Sigmoid
    }
}

#[test]
fn a_torchvision_style_resnet_loads_and_computes_as_pytorch() {
    let mut net: ResNet = loaded("resnet");
    assert_eq!(net.buffers().last(), Some(&3.0), "num_batches_tracked, stored as int64, counts three batches");
    let input = &data("resnet")["input"];
    let xs: Vec<[[[f32; 16]; 16]; 3]> = input.values.chunks_exact(768).map(|c| *nn::view(c)).collect();
    check("resnet", &mut net, &xs);
}

#[test]
fn an_embedding_and_layer_norm_tagger_loads_and_computes_as_pytorch() {
    let mut net: Tagger = loaded("tagger");
    let ids: Vec<[u32; 7]> =
        data("tagger")["input"].values.chunks_exact(7).map(|c| std::array::from_fn(|t| c[t] as u32)).collect();
    assert_eq!(ids[0][2], 0, "the padding index is among the ids");
    check("tagger", &mut net, &ids);
}

#[test]
fn a_decoder_with_transposed_convolution_and_upsampling_computes_as_pytorch() {
    let mut net: Decoder = loaded("decoder");
    let xs: Vec<[f32; 6]> = data("decoder")["input"].values.chunks_exact(6).map(|c| *nn::view(c)).collect();
    check("decoder", &mut net, &xs);
}

#[test]
fn a_resnet_in_training_mode_uses_and_updates_batch_statistics_as_pytorch() {
    let reference = data("resnet_train");
    let xs: Vec<[[[f32; 16]; 16]; 3]> = reference["input"].values.chunks_exact(768).map(|c| *nn::view(c)).collect();
    assert!(xs.len() > nn::CHUNK, "the statistics span more than one chunk");
    // A training-mode forward pass: the batch's statistics, the running ones updated once (as PyTorch's was).
    let mut net: ResNet = loaded("resnet_train");
    net.train();
    let ys = net.predict(&xs);
    let got: Vec<f32> = ys.iter().flat_map(|y| y.values().to_vec()).collect();
    close("training-mode output", &got, &reference["output"].values, 1e-5);
    for t in ResNet::BUFFER_TENSORS {
        let want = &reference[&format!("after.{}", t.name)].values;
        close(&format!("after.{}", t.name), &net.buffers()[t.offset..t.offset + t.len()], want, 1e-5);
    }
    // The gradient through the batch statistics, from the state before that pass.
    let mut net: ResNet = loaded("resnet_train");
    net.train();
    let d = &reference["d_output"].values;
    let d_outputs: Vec<[f32; 10]> = d.chunks_exact(10).map(|c| *nn::view(c)).collect();
    let grads = net.backward(&xs, &d_outputs, None).unwrap().to_vec();
    for t in ResNet::TENSORS {
        let want = &reference[&format!("grad.{}", t.name)].values;
        close(&format!("training-mode grad.{}", t.name), &grads[t.offset..t.offset + t.len()], want, 1e-4);
    }
}
