//! Finite-difference checks of whole generated networks: the backward pass the macro emits (layers in reverse,
//! Flatten elided, buffers shared) must give the gradient of the loss it reports.

mod common;

use common::{check_input_gradients, check_param_gradients, random_samples, LeNet5};
use nn::prelude::*;

network! {
    /// Every smooth activation between fully connected layers.
    struct Mlp {
        Input<6>
        -> fc1: Linear<6, 8> -> Tanh
        -> fc2: Linear<8, 8, init = xavier_normal> -> Sigmoid
        -> fc3: Linear<8, 8, init = he_uniform> -> ELU<0.7>
        -> fc4: Linear<8, 6, bias = false> -> LeakyReLU<0.1>
        -> fc5: Linear<6, 4> -> ReLU
        -> out: Linear<4, 3>
    }
}

network! {
    /// The newer activations, ending in log-probabilities for the `Nll` loss.
    struct Smooth {
        Input<6>
        -> fc1: Linear<6, 8> -> GELU
        -> fc2: Linear<8, 8> -> GELU<approximate = "tanh">
        -> fc3: Linear<8, 8> -> SiLU
        -> fc4: Linear<8, 8> -> Softplus<2.0, threshold = 4>
        -> fc5: Linear<8, 8> -> Mish
        -> fc6: Linear<8, 8> -> Hardtanh<-0.8, 0.9>
        -> out: Linear<8, 3> -> LogSoftmax
    }
}

network! {
    /// Strides, padding, average pooling, a bias-free convolution.
    struct StridedCnn {
        Input<3, 12, 12>
        -> Conv2d<3, 4, 3, stride = 2, padding = 1> -> Tanh
        -> AvgPool<2, 2>
        -> Conv2d<4, 6, 3, padding = 1, bias = false, init = he_normal> -> ReLU
        -> AvgPool<3, 1>
        -> Flatten
        -> Linear<6, 5>
    }
}

network! {
    /// Ends in probabilities, for MSE and softmax's backward.
    struct SoftmaxHead {
        Input<5> -> Linear<5, 7> -> Tanh -> Linear<7, 4> -> Softmax
    }
}

#[test]
fn mlp_every_parameter_under_cross_entropy() {
    let mut net = Mlp::new(1);
    let xs = random_samples::<[f32; 6]>(5, -1.0, 1.0, 1);
    let checked = check_param_gradients(&mut net, &xs, &[0, 2, 1, 1, 0], &CrossEntropy, usize::MAX);
    assert_eq!(checked, Mlp::PARAMS);
    check_input_gradients(&mut net, &xs, 6);
}

#[test]
fn newer_activations_under_nll_of_log_softmax() {
    let mut net = Smooth::new(4);
    let xs = random_samples::<[f32; 6]>(5, -2.0, 2.0, 4);
    let checked = check_param_gradients(&mut net, &xs, &[0, 2, 1, 1, 0], &Nll, usize::MAX);
    assert_eq!(checked, Smooth::PARAMS);
    check_input_gradients(&mut net, &xs, 6);
    // LogSoftmax + Nll is CrossEntropy of the logits before it.
    let log_p = net.predict(&xs);
    for row in &log_p {
        assert!((row.iter().map(|v| v.exp()).sum::<f32>() - 1.0).abs() < 1e-5, "{row:?}");
    }
}

#[test]
fn mlp_under_mse_and_binary_cross_entropy() {
    let mut net = Mlp::new(2);
    let xs = random_samples::<[f32; 6]>(4, -1.0, 1.0, 2);
    let targets = random_samples::<[f32; 3]>(4, 0.0, 1.0, 3);
    check_param_gradients(&mut net, &xs, &targets, &Mse, usize::MAX);
    check_param_gradients(&mut net, &xs, &targets, &BinaryCrossEntropyWithLogits, usize::MAX);
}

#[test]
fn lenet5_sampled_parameters_and_inputs() {
    let mut net = LeNet5::new(3);
    let xs = random_samples::<[[[f32; 28]; 28]; 1]>(3, 0.0, 1.0, 4);
    let checked = check_param_gradients(&mut net, &xs, &[3, 7, 1], &CrossEntropy, 40);
    let expected: usize = LeNet5::TENSORS.iter().map(|t| t.len().min(40)).sum();
    assert_eq!((LeNet5::TENSORS.len(), checked), (10, expected), "40 entries (or all) of each of the 10 tensors");
    check_input_gradients(&mut net, &xs, 30);
}

#[test]
fn strided_cnn_with_padding_and_average_pooling() {
    let mut net = StridedCnn::new(5);
    let xs = random_samples::<[[[f32; 12]; 12]; 3]>(3, -1.0, 1.0, 6);
    check_param_gradients(&mut net, &xs, &[4, 0, 2], &CrossEntropy, usize::MAX);
    check_input_gradients(&mut net, &xs, 40);
}

#[test]
fn softmax_output_under_mse() {
    let mut net = SoftmaxHead::new(6);
    let xs = random_samples::<[f32; 5]>(4, -2.0, 2.0, 7);
    let targets = random_samples::<[f32; 4]>(4, 0.0, 1.0, 8);
    check_param_gradients(&mut net, &xs, &targets, &Mse, usize::MAX);
    check_input_gradients(&mut net, &xs, 5);
}

#[test]
fn gradients_over_a_batch_larger_than_one_chunk_are_sums_of_chunks() {
    // 70 samples span three chunks; the mean gradient must match the mean of per-sample gradients.
    let mut net = Mlp::new(9);
    let xs = random_samples::<[f32; 6]>(70, -1.0, 1.0, 9);
    let labels: Vec<usize> = (0..70).map(|i| i % 3).collect();
    net.loss_and_grad(&xs, &labels, &CrossEntropy).unwrap();
    let batch = net.grads().to_vec();
    let mut mean = vec![0.0f64; Mlp::PARAMS];
    for (x, &l) in xs.iter().zip(&labels) {
        net.loss_and_grad(std::slice::from_ref(x), &[l], &CrossEntropy).unwrap();
        mean.iter_mut().zip(net.grads()).for_each(|(m, g)| *m += f64::from(*g) / 70.0);
    }
    for (b, m) in batch.iter().zip(&mean) {
        assert!((f64::from(*b) - m).abs() < 1e-5, "{b} vs {m}");
    }
}

network! {
    /// Other units: maxout pieces and learned leaky slopes, per channel and shared.
    struct MaxoutPrelu {
        Input<2, 5, 5>
        -> conv: Conv2d<2, 3, 3> -> act1: PReLU<3, init = 0.1>
        -> Flatten
        -> mo: Maxout<27, 6, 3> -> act2: PReLU
        -> out: Maxout<6, 3, 2, init = xavier_uniform>
    }
}

#[test]
fn maxout_and_prelu_in_a_network() {
    let mut net = MaxoutPrelu::new(9);
    assert_eq!(net.param("act1.weight").unwrap(), &[0.1; 3]);
    assert_eq!(net.param("act2.weight").unwrap(), &[0.25], "PyTorch's initial slope");
    let xs = random_samples::<[[[f32; 5]; 5]; 2]>(6, -1.0, 1.0, 9);
    let checked = check_param_gradients(&mut net, &xs, &[0, 1, 2, 0, 1, 2], &CrossEntropy, usize::MAX);
    assert_eq!(checked, MaxoutPrelu::PARAMS);
    check_input_gradients(&mut net, &xs, 8);
    // Maxout's output is the largest of its pieces.
    let flat: Vec<f32> = net.predict(&xs[..1])[0].to_vec();
    let hidden = {
        network! {
            struct Front { Input<2, 5, 5> -> conv: Conv2d<2, 3, 3> -> act1: PReLU<3> -> Flatten -> mo: Maxout<27, 6, 3> }
        }
        let mut front = Front::new(0);
        front.params.copy_from_slice(&net.params[..Front::PARAMS]);
        front.forward(&xs[0])
    };
    let slope = net.param("act2.weight").unwrap()[0];
    let hidden: Vec<f32> = hidden.iter().map(|&v| if v > 0.0 { v } else { slope * v }).collect();
    let (w, b) = (net.out.weight(&net.params), net.out.bias(&net.params));
    for (o, &y) in flat.iter().enumerate() {
        let pieces: Vec<f32> =
            (0..2).map(|k| w[o * 2 + k].iter().zip(&hidden).map(|(a, h)| a * h).sum::<f32>() + b[o * 2 + k]).collect();
        assert!((y - pieces[0].max(pieces[1])).abs() < 1e-5, "unit {o}: {y} vs {pieces:?}");
    }
}
