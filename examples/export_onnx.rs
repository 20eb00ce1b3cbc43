//! Exports networks to ONNX with `nn::io::save_onnx`, each with the inputs it was run on (the MNIST sample's
//! test images) and `nn`'s outputs for them, so that `scripts/check_onnx.py` can run the models in onnxruntime
//! and compare. The LeNet-5 is the trained one in `models/`; the batch-norm LeNet, the MLP and the ResNet are
//! trained here for `--epochs` on the sample; the others keep their seeded initial weights. The token tagger
//! reads ids made from the images' rows (ONNX gets them as int64).
//!
//! `cargo run --release --example export_onnx -- [--data DIR] [--epochs N] [--out DIR]`

mod common;

use nn::io::save_onnx;
use nn::prelude::*;
use nn::Example;
use std::path::Path;

network! {
    #[weights = "models/lenet5.safetensors"]
    pub struct LeNet5 {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc1: Linear<256, 120> -> ReLU -> fc2: Linear<120, 84> -> ReLU -> fc3: Linear<84, 10>
    }

    pub struct LeNetBn {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5, bias = false> -> bn1: BatchNorm -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5, bias = false> -> bn2: BatchNorm -> ReLU -> AvgPool<2, 2>
        -> Flatten
        -> fc1: Linear<256, 120, bias = false> -> bn3: BatchNorm -> ReLU -> Dropout<0.3>
        -> fc2: Linear<120, 10>
    }

    pub struct Mlp {
        Input<1, 28, 28> -> Flatten -> fc1: Linear<784, 256> -> ReLU -> fc2: Linear<256, 128> -> ReLU
        -> fc3: Linear<128, 10>
    }

    /// Every activation with an ONNX form, PReLU per channel and maxout.
    pub struct Activations {
        Input<1, 28, 28>
        -> conv: Conv2d<1, 4, 3, stride = 2, padding = 1> -> act: PReLU<4> -> Flatten
        -> Linear<784, 64> -> LeakyReLU<0.1> -> Linear<64, 64> -> ELU<0.7> -> Linear<64, 64> -> GELU
        -> Linear<64, 64> -> GELU<approximate = "tanh"> -> Linear<64, 64> -> SiLU -> Linear<64, 64> -> Mish
        -> Linear<64, 64> -> Softplus<2.0> -> Linear<64, 64> -> Softplus -> Linear<64, 64> -> Hardtanh<-0.5, 0.5>
        -> Linear<64, 64> -> Sigmoid -> Linear<64, 64> -> Tanh -> maxout: Maxout<64, 32, 3> -> PReLU
        -> Linear<32, 10> -> LogSoftmax
    }

    /// The image's rows as 28 steps.
    pub struct Lstm { Input<Seq<28>, 28> -> lstm: LSTM<28, 32> -> Last -> fc: Linear<32, 10> }

    pub struct Gru { Input<Seq<28>, 28> -> gru: GRU<28, 32, layers = 2> -> FinalState -> fc: Linear<32, 10> }

    pub struct BiLstm {
        Input<Seq<28>, 28> -> lstm: LSTM<28, 16, layers = 2, bidirectional = true> -> MeanOverTime
        -> fc: Linear<32, 10> -> Softmax
    }

    pub struct RnnRelu {
        Input<Seq<28>, 28> -> rnn: RNN<28, 24, nonlinearity = relu, bidirectional = true> -> Linear<48, 10>
        -> MaxOverTime
    }

    pub struct RnnTanh { Input<Seq<28>, 28> -> rnn: RNN<28, 24, bias = false> -> FinalState -> Linear<24, 10> }

    /// `FinalState` after element-wise layers: their values where the final state was made.
    pub struct SigmoidState { Input<Seq<28>, 28> -> lstm: LSTM<28, 16> -> Sigmoid -> FinalState -> fc: Linear<16, 10> }

    pub struct BiGruState {
        Input<Seq<28>, 28> -> gru: GRU<28, 12, bidirectional = true> -> Dropout<0.2> -> Tanh -> FinalState
        -> fc: Linear<24, 10>
    }

    /// A small ResNet: residual blocks (one repeated, one with a strided shortcut), batch norm, global pooling.
    pub struct ResNet {
        Input<1, 28, 28>
        -> stem: Conv2d<1, 8, 3, padding = 1> -> bn: BatchNorm -> ReLU
        -> layer1: Repeat<2> {
               Residual {
                   conv1: Conv2d<8, 8, 3, padding = 1> -> bn1: BatchNorm -> ReLU
                   -> conv2: Conv2d<8, 8, 3, padding = 1> -> bn2: BatchNorm
               } -> ReLU
           }
        -> layer2: Residual {
               conv1: Conv2d<8, 16, 3, stride = 2, padding = 1> -> bn1: BatchNorm -> ReLU
               -> conv2: Conv2d<16, 16, 3, padding = 1> -> bn2: BatchNorm
           } shortcut {
               conv: Conv2d<8, 16, 1, stride = 2> -> bn: BatchNorm
           }
        -> ReLU -> GlobalAvgPool -> fc: Linear<16, 10>
    }

    /// Two branches and the input itself, concatenated along the channels.
    pub struct TwoScales {
        Input<1, 28, 28>
        -> mix: Concat {
               a: Conv2d<1, 4, 3, padding = 1> -> ReLU
             | b: Conv2d<1, 4, 5, padding = 2> -> ReLU
             | Identity
           }
        -> MaxPool<2, 2> -> Flatten -> fc: Linear<1764, 10>
    }

    /// A decoder's layers: a code unflattened into an image, a transposed convolution, upsampling, layer norm.
    pub struct Decoder {
        Input<1, 28, 28> -> Flatten -> fc: Linear<784, 64> -> ReLU -> Unflatten<4, 4, 4>
        -> up: ConvTranspose2d<4, 2, 4, stride = 2, padding = 1> -> ReLU -> Upsample<2> -> ln: LayerNorm<16>
        -> Flatten -> out: Linear<512, 10>
    }

    /// Token ids of fixed length (an ONNX batch shares its length), an embedding, a residual MLP per step.
    pub struct TokenTagger {
        Input<Seq<12>, Tokens<50>> -> emb: Embedding<50, 16>
        -> Residual { ln: LayerNorm<16> -> fc1: Linear<16, 32> -> GELU -> fc2: Linear<32, 16> }
        -> out: Linear<16, 5>
    }

    /// A small character-level GPT: learned positions, two pre-norm blocks with causal attention.
    pub struct CharGpt {
        Input<Seq<12>, Tokens<50>>
        -> tok: Embedding<50, 32> -> pos: PositionalEmbedding<12, 32>
        -> blocks: Repeat<2> {
               Residual { ln1: LayerNorm<32> -> attn: MultiheadAttention<32, 4, causal = true> }
               -> Residual { ln2: LayerNorm<32> -> fc1: Linear<32, 64> -> GELU -> fc2: Linear<64, 32> }
           }
        -> ln_f: LayerNorm<32> -> head: Linear<32, 50>
    }

    /// A vision transformer: 7×7 patches become 16 steps, fixed sinusoidal positions, a mean over the steps.
    pub struct Vit {
        Input<1, 28, 28>
        -> patch: Conv2d<1, 32, 7, stride = 7> -> ToSeq -> PositionalEncoding<16>
        -> blocks: Repeat<2> {
               Residual { ln1: LayerNorm<32> -> attn: MultiheadAttention<32, 4> }
               -> Residual { ln2: LayerNorm<32> -> fc1: Linear<32, 64> -> GELU -> fc2: Linear<64, 32> }
           }
        -> ln: LayerNorm<32> -> MeanOverTime -> head: Linear<32, 10>
    }
}

/// Saves `net` as `{name}.onnx` beside `{name}.input.bin` (the samples: f32, or token ids as i64) and
/// `{name}.output.bin` (`nn`'s outputs in eval mode, f32), and prints its line of the manifest.
fn export<N: Network>(net: &mut N, name: &str, xs: &[N::Input], out: &Path) -> String
where
    N::Output: Sample,
{
    net.eval();
    let mut ys = vec![N::Output::zeroed(); xs.len()];
    net.forward_batch(xs, &mut ys);
    let values = xs.iter().flat_map(|x| x.values());
    let (inputs, dtype): (Vec<u8>, _) = if <N::Input as Example>::TOKENS {
        (values.flat_map(|v| i64::from(v.to_bits()).to_le_bytes()).collect(), "i64")
    } else {
        (values.flat_map(|v| v.to_le_bytes()).collect(), "f32")
    };
    let outputs: Vec<u8> = N::Output::flat(&ys).iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(out.join(format!("{name}.input.bin")), inputs).unwrap_or_else(|e| common::fail(e));
    std::fs::write(out.join(format!("{name}.output.bin")), outputs).unwrap_or_else(|e| common::fail(e));
    save_onnx(net, out.join(format!("{name}.onnx"))).unwrap_or_else(|e| common::fail(e));
    let shape = |s: &[usize]| s.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    let last = N::LAYERS.last().map_or(N::INPUT_SHAPE, |l| l.output_shape);
    format!("{name} {} {} {} {dtype}", xs.len(), shape(N::INPUT_SHAPE), shape(last))
}

fn main() {
    let args = common::parse("export_onnx", "data/mnist-sample", 2);
    let (mut train, mut test) = load_mnist::<[[[f32; 28]; 28]; 1]>(&args.data).unwrap_or_else(|e| common::fail(e));
    for data in [&mut train, &mut test] {
        data.normalize(0.1307, 0.3081).unwrap_or_else(|e| common::fail(e));
    }
    std::fs::create_dir_all(&args.out).unwrap_or_else(|e| common::fail(e));
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: 32,
        shuffle: Some(1),
        verbose: false,
        progress: false,
        ..Default::default()
    };
    let xs = &test.inputs;
    let rows: Vec<[[f32; 28]; 28]> = xs.iter().map(|x| x[0]).collect();
    let mut manifest = Vec::new();

    manifest.push(export(&mut LeNet5::pretrained(), "lenet5", xs, &args.out));
    let mut bn = LeNetBn::new(1);
    let mut adam = Adam::new(AdamConfig { lr: 2e-3, ..Default::default() });
    fit(&mut bn, &mut adam, &CrossEntropy, &train, None, &config).unwrap_or_else(|e| common::fail(e));
    manifest.push(export(&mut bn, "lenet_bn", xs, &args.out));
    let mut mlp = Mlp::new(2);
    let mut adam = Adam::new(AdamConfig { lr: 1e-3, ..Default::default() });
    fit(&mut mlp, &mut adam, &CrossEntropy, &train, None, &config).unwrap_or_else(|e| common::fail(e));
    manifest.push(export(&mut mlp, "mlp", xs, &args.out));
    manifest.push(export(&mut Activations::new(3), "activations", xs, &args.out));
    manifest.push(export(&mut Lstm::new(4), "lstm", &rows, &args.out));
    manifest.push(export(&mut Gru::new(5), "gru", &rows, &args.out));
    manifest.push(export(&mut BiLstm::new(6), "bilstm", &rows, &args.out));
    manifest.push(export(&mut RnnRelu::new(7), "rnn_relu", &rows, &args.out));
    manifest.push(export(&mut RnnTanh::new(8), "rnn_tanh", &rows, &args.out));
    manifest.push(export(&mut SigmoidState::new(9), "sigmoid_state", &rows, &args.out));
    manifest.push(export(&mut BiGruState::new(10), "bigru_state", &rows, &args.out));
    let mut resnet = ResNet::new(11);
    let mut adam = Adam::new(AdamConfig { lr: 2e-3, ..Default::default() });
    fit(&mut resnet, &mut adam, &CrossEntropy, &train, None, &config).unwrap_or_else(|e| common::fail(e));
    manifest.push(export(&mut resnet, "resnet", xs, &args.out));
    manifest.push(export(&mut TwoScales::new(12), "two_scales", xs, &args.out));
    manifest.push(export(&mut Decoder::new(13), "decoder", xs, &args.out));
    // Token ids from the images' pixels: each row's brightest column, one id per row (12 of them).
    let ids: Vec<[u32; 12]> =
        xs.iter().map(|x| std::array::from_fn(|r| (nn::argmax(&x[0][r * 2 + 2]) + r) as u32 % 50)).collect();
    manifest.push(export(&mut TokenTagger::new(14), "token_tagger", &ids, &args.out));
    manifest.push(export(&mut CharGpt::new(15), "char_gpt", &ids, &args.out));
    manifest.push(export(&mut Vit::new(16), "vit", xs, &args.out));
    let listing = manifest.join("\n") + "\n";
    std::fs::write(args.out.join("manifest.txt"), &listing).unwrap_or_else(|e| common::fail(e));
    print!("{listing}");
    println!("models, inputs and nn's outputs: {}", args.out.display());
}
