//! Inference on `&self`: one trained network behind an `Arc`, used by several threads at once, each with its own
//! workspace, gives every output bit for bit as a single thread does.

mod common;

use common::{random_samples, Image, LeNet5};
use nn::prelude::*;
use std::sync::Arc;

network! {
    /// Batch norm and dropout: `*_with` evaluates them in eval mode, whatever the network's mode.
    struct Regularized {
        Input<1, 12, 12> -> conv: Conv2d<1, 4, 3> -> bn: BatchNorm -> ReLU -> Flatten
        -> fc1: Linear<400, 32> -> Dropout<0.5> -> GELU -> fc2: Linear<32, 10>
    }
}

#[test]
fn four_threads_share_one_network_bit_for_bit() {
    let mut net = LeNet5::new(3);
    let xs: Vec<Image> = random_samples(100, 0.0, 1.0, 1);
    let labels: Vec<usize> = (0..100).map(|i| i % 10).collect();
    let mut sgd = Sgd::new(SgdConfig { lr: 0.05, ..Default::default() });
    net.train_step(&xs, &labels, &CrossEntropy, &mut sgd);
    net.eval();
    // The single-threaded reference: batch outputs and one-sample outputs (another summation path).
    let batch = net.predict(&xs);
    let singles: Vec<[f32; 10]> = xs.iter().map(|x| net.forward(x)).collect();

    let net = Arc::new(net);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (net, xs) = (Arc::clone(&net), xs.clone());
            std::thread::spawn(move || {
                let mut ws = net.workspace();
                let mut outputs = Vec::new();
                for round in 0..5 {
                    let ys = net.predict_with(&mut ws, &xs);
                    let one = net.forward_with(&mut ws, &xs[(t * 7 + round) % xs.len()]);
                    outputs.push((ys, (t * 7 + round) % xs.len(), one));
                }
                outputs
            })
        })
        .collect();
    for handle in handles {
        for (ys, i, one) in handle.join().expect("no panic") {
            let bits = |v: &[[f32; 10]]| v.iter().flatten().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&ys), bits(&batch), "a batch on a shared network");
            assert_eq!(bits(&[one]), bits(&[singles[i]]), "one sample on a shared network");
        }
    }
}

#[test]
fn shared_inference_is_eval_mode_and_changes_nothing() {
    let mut net = Regularized::new(5);
    let xs: Vec<[[[f32; 12]; 12]; 1]> = random_samples(40, -1.0, 1.0, 2);
    let labels: Vec<usize> = (0..40).map(|i| i % 10).collect();
    let mut adam = Adam::new(AdamConfig::default());
    net.train_step(&xs, &labels, &CrossEntropy, &mut adam);
    assert_eq!(net.mode(), Mode::Train);
    let (state, buffers) = (net.random_state(), net.buffers.to_vec());
    let mut ws = net.workspace();
    let shared = net.predict_with(&mut ws, &xs);
    assert_eq!(net.mode(), Mode::Train, "the mode is the network's, untouched");
    assert_eq!((net.random_state(), net.buffers.to_vec()), (state, buffers), "no step counted, no statistics");
    net.eval();
    assert_eq!(shared, net.predict(&xs), "the same as `predict` in eval mode");
    let mut wrong = vec![[0.0; 10]; 3];
    assert!(net.forward_batch_with(&mut ws, &xs, &mut wrong).is_err(), "one slot per sample");
}
