//! Networks that branch: residual blocks (with and without a shortcut), concatenations of branches and repeated
//! blocks, nested, on vectors, images and sequences — their names and fields, and their gradients by finite
//! differences (a value used twice gets the sum of its readers' gradients).

mod common;

use common::{check_input_gradients, check_param_gradients, random_samples, sequences};
use nn::prelude::*;

network! {
    /// A residual MLP: the body adds to its input; the second block maps 8 features to 4 through a shortcut.
    pub struct ResMlp {
        Input<8>
        -> Residual { fc1: Linear<8, 8> -> Tanh -> fc2: Linear<8, 8> } -> ReLU
        -> down: Residual { fc: Linear<8, 4> -> Sigmoid } shortcut { proj: Linear<8, 4> }
        -> out: Linear<4, 3>
    }

    /// Branches side by side, one of them the input itself.
    pub struct Branches {
        Input<6>
        -> mix: Concat { a: Linear<6, 4> -> Tanh | b: Linear<6, 2> -> ELU | Identity }
        -> out: Linear<12, 3>
    }

    /// A `Residual` inside a `Repeat` inside a `Concat` branch, beside an unnamed one.
    pub struct Nested {
        Input<5>
        -> split: Concat {
               deep: Repeat<2> { Residual { fc: Linear<5, 5> -> Tanh } -> LeakyReLU<0.1> }
             | Linear<5, 3> -> Sigmoid
           }
        -> head: Linear<8, 2>
    }

    /// Images: a residual convolution block with batch norm, a strided shortcut, channels concatenated.
    pub struct ConvBlocks {
        Input<2, 6, 6>
        -> stem: Conv2d<2, 4, 3, padding = 1> -> ReLU
        -> block: Residual {
               conv1: Conv2d<4, 4, 3, padding = 1> -> bn1: BatchNorm -> ReLU -> conv2: Conv2d<4, 4, 3, padding = 1>
           } -> ReLU
        -> down: Residual { conv: Conv2d<4, 6, 3, stride = 2, padding = 1> } shortcut { conv: Conv2d<4, 6, 1, stride = 2> }
        -> mix: Concat { a: Conv2d<6, 2, 1> | Identity }
        -> Flatten -> fc: Linear<72, 3>
    }

    /// Sequences of any length: per-step blocks around a recurrent layer.
    pub struct SeqBlocks {
        Input<Seq, 3>
        -> Residual { lstm: LSTM<3, 3> }
        -> both: Concat { gru: GRU<3, 2, bidirectional = true> | proj: Linear<3, 2> }
        -> layers: Repeat<2> { Residual { fc: Linear<6, 6> -> Tanh } }
        -> out: Linear<6, 2>
    }
}

#[test]
fn blocks_name_their_tensors_and_fields_as_pytorch_modules() {
    let names: Vec<&str> = ResMlp::TENSORS.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "fc1.weight",
            "fc1.bias",
            "fc2.weight",
            "fc2.bias",
            "down.fc.weight",
            "down.fc.bias",
            "down.shortcut.proj.weight",
            "down.shortcut.proj.bias",
            "out.weight",
            "out.bias"
        ]
    );
    let net = ResMlp::new(1);
    let _: &[[f32; 8]; 4] = net.down.shortcut.proj.weight(&net.params);
    let _: &[[f32; 8]; 8] = net.fc1.weight(&net.params);
    let names: Vec<&str> = Nested::TENSORS.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "split.deep.0.fc.weight",
            "split.deep.0.fc.bias",
            "split.deep.1.fc.weight",
            "split.deep.1.fc.bias",
            "split.1.0.weight",
            "split.1.0.bias",
            "head.weight",
            "head.bias"
        ]
    );
    let nested = Nested::new(2);
    assert_eq!(nested.split.deep.len(), 2);
    assert_ne!(nested.split.deep[0].fc, nested.split.deep[1].fc, "each copy has its own weights");
    assert_ne!(
        nested.split.deep[0].fc.weight(&nested.params),
        nested.split.deep[1].fc.weight(&nested.params),
        "and its own initial values"
    );
    let names: Vec<&str> = SeqBlocks::TENSORS.iter().map(|t| t.name).collect();
    assert!(names.contains(&"lstm.weight_ih_l0") && names.contains(&"both.gru.weight_hh_l0_reverse"));
    assert!(names.contains(&"layers.1.fc.weight"), "{names:?}");
}

#[test]
fn gradients_through_residual_blocks_and_shortcuts() {
    let mut net = ResMlp::new(3);
    let xs: Vec<[f32; 8]> = random_samples(5, -1.0, 1.0, 1);
    let labels = vec![0, 1, 2, 1, 0];
    assert!(check_param_gradients(&mut net, &xs, &labels, &CrossEntropy, 12) > 50);
    check_input_gradients(&mut net, &xs, 8);
}

#[test]
fn gradients_through_concatenations_with_an_identity_branch() {
    let mut net = Branches::new(4);
    let xs: Vec<[f32; 6]> = random_samples(4, -1.0, 1.0, 2);
    let labels = vec![2, 0, 1, 1];
    check_param_gradients(&mut net, &xs, &labels, &CrossEntropy, 20);
    check_input_gradients(&mut net, &xs, 6);
}

#[test]
fn gradients_through_nested_blocks() {
    let mut net = Nested::new(5);
    let xs: Vec<[f32; 5]> = random_samples(4, -1.0, 1.0, 3);
    let targets: Vec<[f32; 2]> = random_samples(4, -1.0, 1.0, 4);
    check_param_gradients(&mut net, &xs, &targets, &Mse, 30);
    check_input_gradients(&mut net, &xs, 5);
}

#[test]
fn gradients_through_convolution_blocks_with_batch_norm_in_training() {
    let mut net = ConvBlocks::new(6);
    net.train();
    let xs: Vec<[[[f32; 6]; 6]; 2]> = random_samples(40, -1.0, 1.0, 5);
    let labels: Vec<usize> = (0..40).map(|i| i % 3).collect();
    check_param_gradients(&mut net, &xs, &labels, &CrossEntropy, 6);
    net.eval();
    check_input_gradients(&mut net, &xs[..3], 6);
}

network! {
    /// A whole ResNet, small: a stem, a `Repeat` of residual blocks with batch norm, a strided block whose shortcut
    /// is a 1×1 convolution with batch norm, global average pooling.
    pub struct SmallResNet {
        Input<2, 8, 8>
        -> stem: Conv2d<2, 4, 3, padding = 1, bias = false> -> bn: BatchNorm -> ReLU
        -> layer1: Repeat<2> {
               Residual {
                   conv1: Conv2d<4, 4, 3, padding = 1, bias = false> -> bn1: BatchNorm -> ReLU
                   -> conv2: Conv2d<4, 4, 3, padding = 1, bias = false> -> bn2: BatchNorm
               } -> ReLU
           }
        -> layer2: Residual {
               conv1: Conv2d<4, 8, 3, stride = 2, padding = 1, bias = false> -> bn1: BatchNorm -> ReLU
               -> conv2: Conv2d<8, 8, 3, padding = 1, bias = false> -> bn2: BatchNorm
           } shortcut {
               conv: Conv2d<4, 8, 1, stride = 2, bias = false> -> bn: BatchNorm
           }
        -> ReLU -> GlobalAvgPool -> fc: Linear<8, 3>
    }
}

#[test]
fn gradients_through_a_whole_resnet_with_batch_norm_in_training() {
    let mut net = SmallResNet::new(8);
    net.train();
    // Two chunks: the batch statistics are sums over both.
    let xs: Vec<[[[f32; 8]; 8]; 2]> = random_samples(36, -1.0, 1.0, 6);
    let labels: Vec<usize> = (0..36).map(|i| (i * 7) % 3).collect();
    assert!(check_param_gradients(&mut net, &xs, &labels, &CrossEntropy, 4) > 60);
    net.eval();
    check_input_gradients(&mut net, &xs[..3], 6);
}

#[test]
fn gradients_through_blocks_on_sequences_of_mixed_lengths() {
    let mut net = SeqBlocks::new(7);
    let xs = sequences::<3>(&[4, 1, 6, 3], 9);
    let targets: Vec<Vec<usize>> = xs.iter().map(|x| (0..x.len()).map(|t| t % 2).collect()).collect();
    check_param_gradients(&mut net, &xs, &targets, &CrossEntropy, 10);
    check_input_gradients(&mut net, &xs, 4);
}

network! {
    /// Token ids in, one block per position: the tagger.
    pub struct TokenTagger {
        Input<Seq, Tokens<100>>
        -> emb: Embedding<100, 32>
        -> Residual { ln: LayerNorm<32> -> fc1: Linear<32, 64> -> GELU -> fc2: Linear<64, 32> }
        -> out: Linear<32, 5>
    }
}

#[test]
fn a_token_tagger_learns_ids_by_their_position_in_the_vocabulary() {
    let mut net = TokenTagger::new(1);
    let xs: Vec<Vec<u32>> =
        (0..64).map(|i| (0..(3 + i % 9)).map(|t| ((i * 7 + t * 13) % 100) as u32).collect()).collect();
    let tags: Vec<Vec<usize>> = xs.iter().map(|x| x.iter().map(|&id| id as usize % 5).collect()).collect();
    let mut adam = Adam::new(AdamConfig { lr: 1e-2, ..Default::default() });
    let first = net.train_step(&xs, &tags, &CrossEntropy, &mut adam);
    let mut last = first;
    for _ in 0..60 {
        last = net.train_step(&xs, &tags, &CrossEntropy, &mut adam);
    }
    assert!(last < 0.2 * first, "{first} → {last}");
}

network! {
    /// The small ResNet for 28×28 images.
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

#[test]
fn a_resnet_names_its_tensors_as_torchvision_would_and_shows_its_blocks() {
    let names: Vec<&str> = ResNet8::TENSORS.iter().map(|t| t.name).collect();
    for name in [
        "stem.weight",
        "layer1.0.conv1.weight",
        "layer1.1.bn2.bias",
        "layer2.conv2.weight",
        "layer2.shortcut.conv.weight",
        "layer2.shortcut.bn.weight",
        "fc.bias",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let buffers: Vec<&str> = ResNet8::BUFFER_TENSORS.iter().map(|t| t.name).collect();
    assert!(
        buffers.contains(&"layer1.1.bn1.running_var") && buffers.contains(&"layer2.shortcut.bn.num_batches_tracked")
    );
    let net = ResNet8::new(0);
    let _: &[[[[f32; 3]; 3]; 16]; 32] = net.layer2.conv1.weight(&net.params);
    let _: &[f32; 16] = net.layer1[1].bn1.running_mean(&net.buffers);
    let summary = ResNet8::summary();
    // Each block on a row where it begins, its layers indented under it.
    let row = |start: &str| summary.lines().find(|l| l.trim_start().starts_with(start)).unwrap_or_default();
    assert!(row("layer1: Repeat<2> { … } — copy 1").starts_with("  "), "{summary}");
    assert!(row("layer1[1].conv2").contains("    Conv2d<16, 16, 3, padding = 1>"), "{summary}");
    assert!(row("layer2.shortcut.conv").contains("Conv2d<16, 32, 1, stride = 2>"), "{summary}");
    assert!(summary.contains("layer2: Residual { … }") && summary.contains("shortcut\n"), "{summary}");
}

#[test]
fn a_network_that_branches_saves_loads_and_resumes_training_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let net = ResNet8::new(5);
    nn::io::save_weights(&net, dir.path().join("resnet.safetensors")).unwrap();
    let mut other = ResNet8::new(6);
    nn::io::load_weights(&mut other, dir.path().join("resnet.safetensors")).unwrap();
    assert_eq!(other.params.to_vec(), net.params.to_vec());
    assert_eq!(other.buffers.to_vec(), net.buffers.to_vec());

    // Two epochs straight, and one then one more from the checkpoint: the same bits.
    let xs: Vec<[f32; 8]> = random_samples(48, -1.0, 1.0, 7);
    let data = Dataset::new(xs, (0..48).map(|i| i % 3).collect()).unwrap();
    let config = |epochs, file: &str| TrainConfig {
        epochs,
        batch_size: 16,
        shuffle: Some(3),
        checkpoint: Some(dir.path().join(file)),
        resume: true,
        verbose: false,
        progress: false,
        ..Default::default()
    };
    let mut straight = ResMlp::new(8);
    fit(&mut straight, &mut Adam::new(AdamConfig::default()), &CrossEntropy, &data, None, &config(2, "a")).unwrap();
    let mut first = ResMlp::new(8);
    fit(&mut first, &mut Adam::new(AdamConfig::default()), &CrossEntropy, &data, None, &config(1, "b")).unwrap();
    let mut resumed = ResMlp::new(9);
    fit(&mut resumed, &mut Adam::new(AdamConfig::default()), &CrossEntropy, &data, None, &config(2, "b")).unwrap();
    assert_eq!(resumed.params.to_vec(), straight.params.to_vec());
}

#[test]
fn shared_and_static_inference_give_forward_on_networks_that_branch() {
    let mut net = ResNet8::new(3);
    net.eval();
    let xs: Vec<[[[f32; 28]; 28]; 1]> = random_samples(3, 0.0, 1.0, 4);
    let mut ws = net.workspace();
    let mut buffer = vec![f32::NAN; ResNet8::STATIC_FLOATS];
    let buffer: &mut [f32; ResNet8::STATIC_FLOATS] = buffer.as_mut_slice().try_into().unwrap();
    for x in &xs {
        let y = net.forward(x);
        assert_eq!(net.forward_with(&mut ws, x), y, "bit for bit");
        let s = net.forward_static(x, buffer);
        for (a, b) in s.iter().zip(&y) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }
    let mut tagger = TokenTagger::new(2);
    tagger.eval();
    let ids = vec![3u32, 99, 0, 42];
    let mut ws = tagger.workspace();
    assert_eq!(tagger.forward_with(&mut ws, &ids), tagger.forward(&ids));
    let err = tagger.try_forward_batch(&[ids.clone(), vec![5, 100]], &mut [Vec::new(), Vec::new()]).unwrap_err();
    assert_eq!(err, nn::Error::TokenOutOfRange { index: 1, position: 1, token: 100, vocab: 100 });
}
