//! LeNet-5 with batch norm on MNIST, beside plain LeNet-5 and LeNet-5 with batch norm plus augmentation (random
//! shifts of up to 2 pixels and rotations of up to 10°), all trained the same way: SGD with momentum 0.9 at
//! learning rate 0.05, batches of 64. Prints the test accuracy of each; saves the batch-norm network's weights
//! (with its running statistics, under PyTorch's names).
//!
//! `cargo run --release --example lenet_batchnorm -- [--data DIR] [--epochs N] [--out DIR]`

mod common;

use nn::prelude::*;

network! {
    /// LeNet-5 for 28×28 digits.
    pub struct LeNet5 {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten
        -> fc1: Linear<256, 120> -> ReLU
        -> fc2: Linear<120, 84> -> ReLU
        -> fc3: Linear<84, 10>
    }
}

network! {
    /// LeNet-5 with batch norm between every convolution or linear layer and its ReLU (per channel after the
    /// convolutions, per feature after the linear layers).
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

/// MNIST's usual normalisation (mean 0.1307, std 0.3081 over the training set).
const MEAN: f32 = 0.1307;
const STD: f32 = 0.3081;

/// Trains `net` and returns its test accuracy.
fn run<N: Network<Input = [[[f32; 28]; 28]; 1], Output = [f32; 10]>>(
    name: &str,
    net: &mut N,
    data: (&Images, &Images),
    epochs: usize,
    augment: Option<Augment>,
) -> f32 {
    println!("-- {name}");
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    net.set_parallelism(Parallelism::Threads(threads)).unwrap_or_else(|e| common::fail(e));
    let mut sgd = Sgd::new(SgdConfig { lr: 0.05, momentum: 0.9, ..Default::default() });
    let config = TrainConfig { epochs, batch_size: 64, shuffle: Some(42), augment, ..Default::default() };
    fit(net, &mut sgd, &CrossEntropy, data.0, Some(data.1), &config).unwrap_or_else(|e| common::fail(e));
    evaluate(net, data.1, &CrossEntropy).unwrap_or_else(|e| common::fail(e)).accuracy
}

fn main() {
    let args = common::parse("lenet_batchnorm", "data/mnist-sample", 3);
    let (mut train, mut test) = load_mnist::<[[[f32; 28]; 28]; 1]>(&args.data).unwrap_or_else(|e| common::fail(e));
    for data in [&mut train, &mut test] {
        data.normalize(MEAN, STD).unwrap_or_else(|e| common::fail(e));
    }
    let data = (&train, &test);
    let plain = run("LeNet-5", &mut LeNet5::new(42), data, args.epochs, None);
    let mut bn = LeNet5Bn::new(42);
    let with_bn = run("LeNet-5 + batch norm", &mut bn, data, args.epochs, None);
    let weights = args.out.join("lenet5_bn.safetensors");
    save_weights(&bn, &weights).unwrap_or_else(|e| common::fail(e));
    println!("weights (with running statistics): {}", weights.display());
    // Shifted-in pixels get the normalised background value.
    let augment = Augment::new(7).translate(2).rotate(10.0).fill(-MEAN / STD);
    let augmented =
        run("LeNet-5 + batch norm + augmentation", &mut LeNet5Bn::new(42), data, args.epochs, Some(augment));

    println!("\n| network | test accuracy |\n|---|---:|");
    for (name, accuracy) in
        [("LeNet-5", plain), ("LeNet-5 + batch norm", with_bn), ("LeNet-5 + batch norm + augmentation", augmented)]
    {
        println!("| {name} | {accuracy:.4} |");
    }
    println!("test accuracy: {with_bn:.4}");
}
