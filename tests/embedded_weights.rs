//! `#[weights = "..."]`: the file is checked and embedded when the macro expands, and `pretrained()` gives what
//! `load_weights` gives, bit for bit.

#[path = "common/pretrained.rs"]
mod pretrained;

use nn::prelude::*;
use pretrained::{BnNet, BranchNet, LeNet5};
use std::path::Path;

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
fn a_network_that_branches_embeds_its_nested_tensors() {
    let embedded = BranchNet::pretrained();
    let mut loaded = BranchNet::new(0);
    load_weights(&mut loaded, Path::new("tests/data/weights/branch_net.safetensors")).unwrap();
    assert_eq!(bits(embedded.params()), bits(loaded.params()));
    assert_eq!(bits(embedded.buffers()), bits(loaded.buffers()));
    assert_eq!(embedded.block.bn.running_mean(&embedded.buffers), loaded.block.bn.running_mean(&loaded.buffers));
}

#[test]
fn pretrained_lenet_classifies_the_shipped_mnist_sample() {
    let (_, mut test) = load_mnist::<[[[f32; 28]; 28]; 1]>(Path::new("data/mnist-sample")).unwrap();
    test.normalize(0.1307, 0.3081).unwrap();
    let mut net = LeNet5::pretrained();
    let result = evaluate(&mut net, &test, &CrossEntropy).unwrap();
    assert!(result.accuracy > 0.95, "accuracy {} on {} images", result.accuracy, test.len());
}
