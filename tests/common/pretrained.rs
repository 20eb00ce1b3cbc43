//! Networks with weights embedded at compile time (`#[weights]`), included (`#[path]`) by `tests/embedded_weights.rs` and
//! `tests/embedded_agreement.rs`: the trained LeNet-5 of `models/` and the three networks whose files
//! `tests/weight_fixtures.rs` makes.

use nn::prelude::*;

network! {
    #[weights = "models/lenet5.safetensors"]
    pub struct LeNet5 {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc1: Linear<256, 120> -> ReLU -> fc2: Linear<120, 84> -> ReLU -> fc3: Linear<84, 10>
    }

    #[weights = "tests/data/weights/bn_net.safetensors"]
    pub struct BnNet {
        Input<1, 8, 8> -> conv: Conv2d<1, 4, 3, bias = false> -> bn: BatchNorm -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc: Linear<36, 3>
    }

    #[weights = "tests/data/weights/seq_net.safetensors"]
    pub struct SeqNet {
        Input<Seq<6>, 3> -> lstm: LSTM<3, 5, layers = 2, bidirectional = true> -> MeanOverTime -> fc: Linear<10, 4>
    }

    #[weights = "tests/data/weights/tiny_gpt.safetensors"]
    pub struct TinyGpt {
        Input<Seq<6>, Tokens<11>>
        -> tok: Embedding<11, 8> -> pos: PositionalEmbedding<6, 8>
        -> blocks: Repeat<2> {
               Residual { ln1: LayerNorm<8> -> attn: MultiheadAttention<8, 2, causal = true> }
               -> Residual { ln2: LayerNorm<8> -> fc1: Linear<8, 16> -> GELU -> fc2: Linear<16, 8> }
           }
        -> ln_f: LayerNorm<8> -> head: Linear<8, 11>
    }

    #[weights = "tests/data/weights/branch_net.safetensors"]
    pub struct BranchNet {
        Input<1, 8, 8>
        -> stem: Conv2d<1, 4, 3, padding = 1> -> bn: BatchNorm -> ReLU
        -> block: Residual { conv: Conv2d<4, 4, 3, padding = 1> -> bn: BatchNorm -> ReLU }
        -> mix: Concat { a: Conv2d<4, 2, 1> -> Tanh | Identity }
        -> GlobalAvgPool -> fc: Linear<6, 3>
    }
}
