//! Results are the same bits for every thread count: chunks are cut the same way and summed in the same order.

mod common;

use common::{random_samples, Image, LeNet5};
use nn::prelude::*;
use nn::Parallelism;

/// Parameters and gradients, losses, outputs, input gradients and accuracy after a few training steps.
type Run = (Vec<f32>, Vec<f32>, Vec<[f32; 10]>, Vec<Image>, f32);

fn run(parallelism: Parallelism) -> Run {
    let xs = random_samples::<Image>(150, 0.0, 1.0, 1);
    let labels: Vec<usize> = (0..150).map(|i| (i * 7) % 10).collect();
    let mut net = LeNet5::new(3);
    net.set_parallelism(parallelism).unwrap();
    let mut opt = Adam::new(AdamConfig::default());
    let losses: Vec<f32> = (0..4).map(|_| net.train_step(&xs, &labels, &CrossEntropy, &mut opt)).collect();
    let outputs = net.predict(&xs);
    let mut d_in = vec![[[[0.0; 28]; 28]; 1]; xs.len()];
    net.backward(&xs, &outputs, Some(&mut d_in)).unwrap();
    let accuracy = net.accuracy(&xs, &labels);
    let mut params = net.params.to_vec();
    params.extend(net.grads());
    (params, losses, outputs, d_in, accuracy)
}

#[test]
fn one_to_four_threads_give_identical_bits() {
    let serial = run(Parallelism::None);
    for threads in 1..=4 {
        let parallel = run(Parallelism::Threads(threads));
        assert!(serial.0 == parallel.0, "parameters and gradients differ with {threads} threads");
        assert_eq!(serial.1, parallel.1, "losses, {threads} threads");
        assert!(serial.2 == parallel.2, "outputs differ with {threads} threads");
        assert!(serial.3 == parallel.3, "input gradients differ with {threads} threads");
        assert_eq!(serial.4, parallel.4);
    }
}

#[test]
fn zero_threads_is_an_error() {
    let mut net = LeNet5::new(1);
    let err = net.set_parallelism(Parallelism::Threads(0)).unwrap_err();
    assert_eq!(err.to_string(), "invalid training setting `parallelism`: Threads(0): use at least 1");
}

#[test]
fn errors_from_any_chunk_surface_in_order() {
    let mut net = LeNet5::new(1);
    net.set_parallelism(Parallelism::Threads(2)).unwrap();
    let xs = random_samples::<Image>(100, 0.0, 1.0, 2);
    let mut labels = vec![0usize; 100];
    labels[40] = 11;
    labels[90] = 12;
    let err = net.loss_and_grad(&xs, &labels, &CrossEntropy).unwrap_err();
    assert_eq!(err, nn::Error::LabelOutOfRange { label: 11, index: 40, classes: 10 });
}
