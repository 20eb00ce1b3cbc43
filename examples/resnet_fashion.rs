//! A small ResNet on Fashion-MNIST beside LeNet-5 with batch norm (the `lenet_batchnorm` recipe), trained the same
//! way for the same epochs: SGD with momentum 0.9 at learning rate 0.05 on a cosine schedule, batches of 64, random
//! crops (padding 2) and left–right flips. Prints each network's test accuracy and seconds per epoch; saves the
//! ResNet's weights under PyTorch's names (`layer1.0.conv1.weight`, `layer2.shortcut.conv.weight`, …).
//!
//! `cargo run --release --example resnet_fashion -- [--data DIR] [--epochs N] [--out DIR]`

mod common;

use nn::prelude::*;

network! {
    /// A ResNet for 28×28 images: a stem, two residual blocks at 16 channels, then one block at 32 channels and
    /// one at 64, each halving the resolution (with a strided 1×1 convolution on its shortcut), global average
    /// pooling and a linear classifier.
    pub struct ResNet10 {
        Input<1, 28, 28>
        -> stem: Conv2d<1, 16, 3, padding = 1, bias = false> -> bn: BatchNorm -> ReLU
        -> layer1: Repeat<2> {
               Residual {
                   conv1: Conv2d<16, 16, 3, padding = 1, bias = false> -> bn1: BatchNorm -> ReLU
                   -> conv2: Conv2d<16, 16, 3, padding = 1, bias = false> -> bn2: BatchNorm
               } -> ReLU
           }
        -> layer2: Residual {
               conv1: Conv2d<16, 32, 3, stride = 2, padding = 1, bias = false> -> bn1: BatchNorm -> ReLU
               -> conv2: Conv2d<32, 32, 3, padding = 1, bias = false> -> bn2: BatchNorm
           } shortcut {
               conv: Conv2d<16, 32, 1, stride = 2, bias = false> -> bn: BatchNorm
           }
        -> ReLU
        -> layer3: Residual {
               conv1: Conv2d<32, 64, 3, stride = 2, padding = 1, bias = false> -> bn1: BatchNorm -> ReLU
               -> conv2: Conv2d<64, 64, 3, padding = 1, bias = false> -> bn2: BatchNorm
           } shortcut {
               conv: Conv2d<32, 64, 1, stride = 2, bias = false> -> bn: BatchNorm
           }
        -> ReLU -> GlobalAvgPool -> fc: Linear<64, 10>
    }
}

network! {
    /// LeNet-5 with batch norm between every convolution or linear layer and its ReLU.
    pub struct LeNet5Bn {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5, bias = false> -> bn1: BatchNorm -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5, bias = false> -> bn2: BatchNorm -> ReLU -> MaxPool<2, 2>
        -> Flatten
        -> fc1: Linear<256, 120, bias = false> -> bn3: BatchNorm -> ReLU
        -> fc2: Linear<120, 84, bias = false> -> bn4: BatchNorm -> ReLU
        -> fc3: Linear<84, 10>
    }
}

type Images = Dataset<[[[f32; 28]; 28]; 1], usize>;

/// Fashion-MNIST's training-set mean and standard deviation.
const MEAN: f32 = 0.2860;
const STD: f32 = 0.3530;

/// Trains `net`; returns its test accuracy and the mean seconds per epoch (training and the epoch's evaluation).
fn run<N: Network<Input = [[[f32; 28]; 28]; 1], Output = [f32; 10]>>(
    name: &str,
    net: &mut N,
    data: (&Images, &Images),
    epochs: usize,
) -> (f32, f32) {
    println!("-- {name}: {} parameters, {} multiply-adds per image", N::PARAMS, N::FORWARD_MACS);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    net.set_parallelism(Parallelism::Threads(threads)).unwrap_or_else(|e| common::fail(e));
    let mut sgd = Sgd::new(SgdConfig { lr: 0.05, momentum: 0.9, ..Default::default() });
    // Padding and flipped-in pixels get the normalised background value.
    let augment = Augment::new(7).random_crop(2).horizontal_flip().fill(-MEAN / STD);
    let config = TrainConfig {
        epochs,
        batch_size: 64,
        shuffle: Some(42),
        schedule: Schedule::Cosine { min_lr: 0.0 },
        augment: Some(augment),
        ..Default::default()
    };
    let history = fit(net, &mut sgd, &CrossEntropy, data.0, Some(data.1), &config).unwrap_or_else(|e| common::fail(e));
    let seconds = history.epochs.iter().map(|e| e.seconds).sum::<f32>() / history.epochs.len().max(1) as f32;
    let accuracy = evaluate(net, data.1, &CrossEntropy).unwrap_or_else(|e| common::fail(e)).accuracy;
    (accuracy, seconds)
}

fn main() {
    let args = common::parse("resnet_fashion", "data/fashion-mnist-sample", 3);
    let (mut train, mut test) = load_mnist::<[[[f32; 28]; 28]; 1]>(&args.data).unwrap_or_else(|e| common::fail(e));
    for data in [&mut train, &mut test] {
        data.normalize(MEAN, STD).unwrap_or_else(|e| common::fail(e));
    }
    let data = (&train, &test);
    let mut resnet = ResNet10::new(42);
    let (resnet_accuracy, resnet_seconds) = run("ResNet10", &mut resnet, data, args.epochs);
    let weights = args.out.join("resnet10.safetensors");
    save_weights(&resnet, &weights).unwrap_or_else(|e| common::fail(e));
    println!("weights (with running statistics): {}", weights.display());
    let (lenet_accuracy, lenet_seconds) = run("LeNet-5 + batch norm", &mut LeNet5Bn::new(42), data, args.epochs);

    println!("\n| network | test accuracy | seconds per epoch |\n|---|---:|---:|");
    for (name, accuracy, seconds) in
        [("ResNet10", resnet_accuracy, resnet_seconds), ("LeNet-5 + batch norm", lenet_accuracy, lenet_seconds)]
    {
        println!("| {name} | {accuracy:.4} | {seconds:.1} |");
    }
    println!("test accuracy: {resnet_accuracy:.4}");
}
