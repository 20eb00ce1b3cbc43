//! `#[weights = "..."]`: the file is checked and embedded when the macro expands, and `pretrained()` gives what
//! `load_weights` gives, bit for bit.

use nn::prelude::*;
use std::path::Path;

network! {
    #[weights = "models/lenet5.safetensors"]
    pub struct LeNet5 {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc1: Linear<256, 120> -> ReLU -> fc2: Linear<120, 84> -> ReLU -> fc3: Linear<84, 10>
    }

    /// `tests/weight_fixtures.rs` makes its file.
    #[weights = "tests/data/weights/bn_net.safetensors"]
    pub struct BnNet {
        Input<1, 8, 8> -> conv: Conv2d<1, 4, 3, bias = false> -> bn: BatchNorm -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc: Linear<36, 3>
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn pretrained_equals_load_weights() {
    let embedded = LeNet5::pretrained();
    let mut loaded = LeNet5::new(0);
    load_weights(&mut loaded, Path::new("models/lenet5.safetensors")).unwrap();
    assert_eq!(bits(embedded.params()), bits(loaded.params()));
    assert_ne!(bits(embedded.params()), bits(LeNet5::new(0).params()), "the weights are the file's, not new(0)'s");
    assert_eq!(embedded.mode(), Mode::Train, "as new() gives");
}

#[test]
fn pretrained_buffers_include_the_integer_counter() {
    let mut embedded = BnNet::pretrained();
    let mut loaded = BnNet::new(0);
    load_weights(&mut loaded, Path::new("tests/data/weights/bn_net.safetensors")).unwrap();
    assert_eq!(bits(embedded.params()), bits(loaded.params()));
    assert_eq!(bits(embedded.buffers()), bits(loaded.buffers()));
    assert_eq!(embedded.buffers().last(), Some(&4.0));
    let x = [[[0.25f32; 8]; 8]];
    embedded.eval();
    loaded.eval();
    assert_eq!(bits(&embedded.forward(&x)), bits(&loaded.forward(&x)));
}

#[test]
fn pretrained_lenet_classifies_the_shipped_mnist_sample() {
    let (_, mut test) = load_mnist::<[[[f32; 28]; 28]; 1]>(Path::new("data/mnist-sample")).unwrap();
    test.normalize(0.1307, 0.3081).unwrap();
    let mut net = LeNet5::pretrained();
    let result = evaluate(&mut net, &test, &CrossEntropy).unwrap();
    assert!(result.accuracy > 0.95, "accuracy {} on {} images", result.accuracy, test.len());
}
