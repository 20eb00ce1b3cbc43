//! The compile-time cost model against counts made by hand.

mod common;

use common::LeNet5;
use nn::prelude::*;

network! {
    pub struct Mlp {
        Input<784> -> Linear<784, 512> -> ReLU -> Linear<512, 512> -> ReLU -> Linear<512, 10>
    }

    pub struct Padded {
        Input<3, 32, 32> -> Conv2d<3, 8, 3, stride = 2, padding = 1> -> Flatten -> Linear<2048, 10, bias = false>
    }

    pub struct Tagger { Input<Seq<20>, 4> -> LSTM<4, 16, layers = 2, bidirectional = true> -> Linear<32, 3> }

    pub struct Streaming { Input<Seq, 4> -> GRU<4, 8> -> Last -> Linear<8, 2> }

    /// The small ResNet: every branch counted.
    pub struct ResNet8 {
        Input<1, 28, 28>
        -> stem: Conv2d<1, 16, 3, padding = 1> -> bn: BatchNorm -> ReLU
        -> layer1: Repeat<2> {
               Residual {
                   conv1: Conv2d<16, 16, 3, padding = 1> -> bn1: BatchNorm -> ReLU
                   -> conv2: Conv2d<16, 16, 3, padding = 1> -> bn2: BatchNorm
               } -> ReLU
           }
        -> layer2: Residual {
               conv1: Conv2d<16, 32, 3, stride = 2, padding = 1> -> bn1: BatchNorm -> ReLU
               -> conv2: Conv2d<32, 32, 3, padding = 1> -> bn2: BatchNorm
           } shortcut {
               conv: Conv2d<16, 32, 1, stride = 2> -> bn: BatchNorm
           }
        -> ReLU -> GlobalAvgPool -> fc: Linear<32, 10>
    }
}

// The budget a user can put in their own crate: a change that breaks it does not compile.
const _: () = assert!(LeNet5::FORWARD_MACS < 500_000);

#[test]
fn lenet5_counts_by_hand() {
    // conv1: 6 × 24 × 24 outputs of 1·5·5 products; conv2: 16 × 8 × 8 of 6·5·5; then the three linear layers.
    let per_layer = [6 * 24 * 24 * 25, 0, 0, 16 * 8 * 8 * 150, 0, 0, 0, 256 * 120, 0, 120 * 84, 0, 84 * 10];
    let got: Vec<u64> = LeNet5::LAYERS.iter().map(|l| l.forward_macs).collect();
    assert_eq!(got, per_layer);
    assert_eq!(LeNet5::FORWARD_MACS, 281_640);
    // Backward: every weight gradient costs its forward product again, every input gradient but conv1's too.
    assert_eq!(LeNet5::TRAIN_MACS, 2 * 281_640 + (153_600 + 30_720 + 10_080 + 840));
    assert_eq!(LeNet5::LAYERS[0].train_macs, 2 * 86_400);
    assert_eq!(LeNet5::LAYERS[3].train_macs, 3 * 153_600);
    assert_eq!(LeNet5::PARAM_BYTES, 4 * LeNet5::PARAMS);
    // Outputs kept: 6·24·24 + 6·24·24 + 6·12·12 + 16·8·8 + 16·8·8 + 16·4·4 + 120 + 120 + 84 + 84 + 10 (Flatten
    // shares its input's buffer).
    assert_eq!(LeNet5::INFER_ACTIVATION_BYTES, 4 * (3456 + 3456 + 864 + 1024 + 1024 + 256 + 120 + 120 + 84 + 84 + 10));
    // Training adds the two gradient buffers (the widest row, conv1's 3456 values) and what layers save.
    const { assert!(LeNet5::TRAIN_ACTIVATION_BYTES >= LeNet5::INFER_ACTIVATION_BYTES + 4 * 2 * 3456) };
    const { assert!(LeNet5::STATIC_BYTES >= LeNet5::INFER_ACTIVATION_BYTES) };
    assert_eq!(LeNet5::STATIC_BYTES, 4 * LeNet5::STATIC_FLOATS);
}

#[test]
fn mlp_counts_by_hand() {
    let forward = 784 * 512 + 512 * 512 + 512 * 10;
    assert_eq!(Mlp::FORWARD_MACS, forward);
    assert_eq!(Mlp::TRAIN_MACS, 2 * forward + 512 * 512 + 512 * 10);
    assert_eq!(Mlp::PARAM_BYTES, 4 * (784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10));
    assert_eq!(Mlp::INFER_ACTIVATION_BYTES, 4 * (512 * 4 + 10));
}

#[test]
fn strided_convolution_and_recurrent_counts() {
    // 8 × 16 × 16 outputs of 3·3·3 products.
    assert_eq!(Padded::FORWARD_MACS, 8 * 16 * 16 * 27 + 2048 * 10);
    // Per step, layer 0: 2 directions × 4·16 gate rows × (4 inputs + 16 hidden); layer 1: the same over 32 + 16;
    // then the per-step output layer; 20 steps.
    let lstm_step = 2 * 64 * (4 + 16) + 2 * 64 * (32 + 16);
    assert_eq!(Tagger::LAYERS[0].forward_macs, 20 * lstm_step);
    assert_eq!(Tagger::FORWARD_MACS, 20 * (lstm_step + 32 * 3));
    // The first layer skips only the recurrent layer's input gradient (2 × 64 × 4 per step).
    assert_eq!(Tagger::LAYERS[0].train_macs, 20 * (2 * lstm_step + lstm_step - 2 * 64 * 4));
    // A sequence of any length is counted per time step.
    assert_eq!(Streaming::FORWARD_MACS, 24 * (4 + 8) + 8 * 2);
}

#[test]
fn a_resnet_counts_every_branch_by_hand() {
    // Outputs × products per output: the stem 16·28·28 × 1·3·3; four 16→16 convolutions 16·28·28 × 16·3·3; the
    // strided 16→32 one 32·14·14 × 16·3·3, the 32→32 one 32·14·14 × 32·3·3, the 1×1 shortcut 32·14·14 × 16; fc.
    let stem = 16 * 28 * 28 * 9;
    let forward = stem + 4 * (16 * 28 * 28 * 144) + 32 * 14 * 14 * 144 + 32 * 14 * 14 * 288 + 32 * 14 * 14 * 16 + 320;
    assert_eq!(ResNet8::FORWARD_MACS, forward);
    assert_eq!(forward, 10_148_416);
    // Every product's weight gradient costs it again, and so does every input gradient but the stem's.
    assert_eq!(ResNet8::TRAIN_MACS, 3 * forward - stem);
    let shortcut = ResNet8::LAYERS.iter().find(|l| l.name == "layer2.shortcut.conv").unwrap();
    assert_eq!((shortcut.forward_macs, shortcut.train_macs), (100_352, 3 * 100_352));
}

#[test]
fn the_trait_carries_the_same_figures() {
    fn figures<N: Network>() -> (u64, u64, usize) {
        (N::FORWARD_MACS, N::TRAIN_MACS, N::PARAM_BYTES)
    }
    assert_eq!(figures::<LeNet5>(), (LeNet5::FORWARD_MACS, LeNet5::TRAIN_MACS, LeNet5::PARAM_BYTES));
    let summary = LeNet5::summary();
    assert!(summary.contains("conv2  Conv2d<6, 16, 5>  16×8×8     2416  153600"), "{summary}");
    assert!(summary.contains("multiply-adds per sample: 281640 forward, 758520 per training step"), "{summary}");
}
