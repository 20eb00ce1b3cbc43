//! The CIFAR-10 CNN of PyTorch's "Training a classifier" tutorial: two 5×5 convolutions with max pooling,
//! then 400-120-84-10, SGD with momentum 0.9 and learning rate 1e-3 on batches of 4. Needs the CIFAR-10 binary
//! files (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`), which this repository does not ship.
//!
//! `cargo run --release --example cifar_lenet -- --data DIR [--epochs N] [--out DIR]`

mod common;

use nn::data::CIFAR10_CLASSES;
use nn::prelude::*;

network! {
    /// LeNet-style network for 3×32×32 colour images.
    pub struct CifarNet {
        Input<3, 32, 32>
        -> conv1: Conv2d<3, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten
        -> fc1: Linear<400, 120> -> ReLU
        -> fc2: Linear<120, 84> -> ReLU
        -> fc3: Linear<84, 10>
    }
}

fn main() {
    let args = common::parse("cifar_lenet", "data/cifar-10-batches-bin", 2);
    if !args.data_given && !args.data.exists() {
        common::fail(
            "CIFAR-10 is not shipped with nn: pass --data DIR, a directory holding the CIFAR-10 binary \
             version (data_batch_1.bin … data_batch_5.bin and test_batch.bin)",
        );
    }
    let (mut train, mut test) = load_cifar10::<[[[f32; 32]; 32]; 3]>(&args.data).unwrap_or_else(|e| common::fail(e));
    // The tutorial's Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)): pixels to [-1, 1].
    train.normalize(0.5, 0.5).unwrap_or_else(|e| common::fail(e));
    test.normalize(0.5, 0.5).unwrap_or_else(|e| common::fail(e));
    println!("{} training and {} test images; classes {:?}", train.len(), test.len(), CIFAR10_CLASSES);
    let mut net = CifarNet::new(0);
    let mut sgd = Sgd::new(SgdConfig { lr: 1e-3, momentum: 0.9, ..Default::default() });
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: 4,
        shuffle: Some(0),
        curves: Some(args.out.join("curves.svg")),
        checkpoint: Some(args.out.join("checkpoint.safetensors")),
        ..Default::default()
    };
    fit(&mut net, &mut sgd, &CrossEntropy, &train, Some(&test), &config).unwrap_or_else(|e| common::fail(e));
    save_weights(&net, args.out.join("cifar_net.safetensors")).unwrap_or_else(|e| common::fail(e));
    let result = evaluate(&mut net, &test, &CrossEntropy).unwrap_or_else(|e| common::fail(e));
    println!("test accuracy: {:.4}", result.accuracy);
}
