//! Batch norm: gradients through the whole batch's statistics (batches spanning several chunks), PyTorch's
//! running statistics, the eval-mode affine map, weight files with buffers, and thread independence.

mod common;

use common::{check_input_gradients, check_param_gradients, random_samples};
use nn::io::read_safetensors;
use nn::prelude::*;
use nn::{Error, Mode};

network! {
    /// Per-feature batch norm between fully connected layers.
    #[derive(Clone)]
    struct Mlp {
        Input<6> -> fc1: Linear<6, 8> -> bn1: BatchNorm -> ReLU -> fc2: Linear<8, 5> -> bn2: BatchNorm<5> -> Tanh
        -> fc3: Linear<5, 3>
    }
}

network! {
    /// Per-channel batch norm after a convolution, and as the very first layer.
    struct Cnn {
        Input<2, 6, 6> -> bn0: BatchNorm -> conv: Conv2d<2, 3, 3> -> bn: BatchNorm<3, momentum = 0.2> -> Tanh
        -> Flatten -> fc: Linear<48, 3>
    }
}

network! {
    struct Alone {
        Input<4> -> bn: BatchNorm<4, eps = 0.001>
    }
}

/// 70 samples: three chunks (32 + 32 + 6), so every statistic is reduced across chunks.
const BATCH: usize = 70;

#[test]
fn mlp_gradients_in_training_mode_span_chunks() {
    let mut net = Mlp::new(1);
    assert_eq!(net.mode(), Mode::Train, "a new network trains, as in PyTorch");
    let xs = random_samples::<[f32; 6]>(BATCH, -1.0, 2.0, 1);
    let labels: Vec<usize> = (0..BATCH).map(|i| i % 3).collect();
    check_param_gradients(&mut net, &xs, &labels, &CrossEntropy, 12);
    check_input_gradients(&mut net, &xs[..40], 2);
}

#[test]
fn cnn_gradients_in_training_mode_span_chunks() {
    let mut net = Cnn::new(2);
    let xs = random_samples::<[[[f32; 6]; 6]; 2]>(BATCH, -1.0, 1.0, 2);
    let labels: Vec<usize> = (0..BATCH).map(|i| i % 3).collect();
    check_param_gradients(&mut net, &xs, &labels, &CrossEntropy, 8);
    check_input_gradients(&mut net, &xs[..36], 2);
}

#[test]
fn gradients_in_eval_mode_are_those_of_the_affine_map() {
    let mut net = Mlp::new(3);
    let xs = random_samples::<[f32; 6]>(BATCH, -1.0, 2.0, 3);
    net.forward_batch(&xs, &mut vec![[0.0; 3]; BATCH]); // some running statistics
    net.eval();
    let labels: Vec<usize> = (0..BATCH).map(|i| i % 3).collect();
    check_param_gradients(&mut net, &xs, &labels, &CrossEntropy, 12);
    check_input_gradients(&mut net, &xs[..5], 3);
}

/// Per-feature mean and biased variance of `xs`, in f64.
fn moments(xs: &[[f32; 4]]) -> ([f64; 4], [f64; 4]) {
    let n = xs.len() as f64;
    let mean: [f64; 4] = std::array::from_fn(|f| xs.iter().map(|x| f64::from(x[f])).sum::<f64>() / n);
    let var = std::array::from_fn(|f| xs.iter().map(|x| (f64::from(x[f]) - mean[f]).powi(2)).sum::<f64>() / n);
    (mean, var)
}

#[test]
fn training_normalises_with_batch_statistics_and_updates_running_ones_as_pytorch() {
    let mut net = Alone::new(0);
    let xs: Vec<[f32; 4]> = random_samples::<[f32; 4]>(BATCH, -3.0, 5.0, 4);
    let (mean, var) = moments(&xs);
    let ys = net.predict(&xs);
    for (x, y) in xs.iter().zip(&ys) {
        for f in 0..4 {
            let want = (f64::from(x[f]) - mean[f]) / (var[f] + 0.001).sqrt();
            assert!((f64::from(y[f]) - want).abs() < 1e-4, "{} vs {want}", y[f]);
        }
    }
    let n = BATCH as f64;
    let running_mean = net.bn.running_mean(&net.buffers);
    let running_var = net.bn.running_var(&net.buffers);
    for f in 0..4 {
        assert!((f64::from(running_mean[f]) - 0.1 * mean[f]).abs() < 1e-5);
        let unbiased = var[f] * n / (n - 1.0);
        assert!((f64::from(running_var[f]) - (0.9 + 0.1 * unbiased)).abs() < 1e-5);
    }
    let tracked = Alone::BUFFER_TENSORS.iter().find(|t| t.name == "bn.num_batches_tracked").unwrap();
    assert_eq!(net.buffers[tracked.offset], 1.0);
    assert_eq!(tracked.shape, &[] as &[usize], "a scalar, as in PyTorch");
}

#[test]
fn eval_output_is_the_affine_map_of_the_running_statistics() {
    let mut net = Alone::new(0);
    let gamma = [1.5, -0.5, 2.0, 1.0];
    let beta = [0.1, 0.2, -0.3, 0.0];
    net.param_mut("bn.weight").unwrap().copy_from_slice(&gamma);
    net.param_mut("bn.bias").unwrap().copy_from_slice(&beta);
    let (rm, rv) = ([0.5, -1.0, 2.0, 0.0], [4.0, 0.25, 1.0, 9.0]);
    net.buffers[..4].copy_from_slice(&rm);
    net.buffers[4..8].copy_from_slice(&rv);
    net.eval();
    let xs = random_samples::<[f32; 4]>(BATCH, -3.0, 3.0, 5);
    let ys = net.predict(&xs);
    for (x, y) in xs.iter().zip(&ys) {
        for f in 0..4 {
            let want = gamma[f] * (x[f] - rm[f]) / (rv[f] + 0.001).sqrt() + beta[f];
            assert!((y[f] - want).abs() < 1e-5, "{} vs {want}", y[f]);
        }
    }
    // Deterministic, independent of the batch, and the running statistics stay as they were.
    assert_eq!(net.forward(&xs[3]), ys[3]);
    assert_eq!(&net.buffers[..8], &[rm, rv].concat()[..]);
}

#[test]
fn one_value_per_channel_in_training_is_an_error() {
    let mut net = Mlp::new(0);
    let err = net.loss_and_grad(&[[0.5; 6]], &[1], &CrossEntropy).unwrap_err();
    assert!(matches!(err, Error::BatchTooSmall { layer: "bn1", values: 1 }), "{err}");
    assert!(err.to_string().contains("switch the network to eval mode"), "{err}");
    net.eval();
    assert!(net.forward(&[0.5; 6]).iter().all(|v| v.is_finite()));
}

#[test]
fn weight_files_hold_running_statistics_under_pytorch_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bn.safetensors");
    let mut net = Mlp::new(5);
    let xs = random_samples::<[f32; 6]>(BATCH, -1.0, 2.0, 6);
    let labels: Vec<usize> = (0..BATCH).map(|i| i % 3).collect();
    let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() });
    for _ in 0..3 {
        net.train_step(&xs, &labels, &CrossEntropy, &mut sgd);
    }
    save_weights(&net, &path).unwrap();
    let (tensors, _) = read_safetensors(&path).unwrap();
    let mut names: Vec<&str> = tensors.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "bn1.bias",
            "bn1.num_batches_tracked",
            "bn1.running_mean",
            "bn1.running_var",
            "bn1.weight",
            "bn2.bias",
            "bn2.num_batches_tracked",
            "bn2.running_mean",
            "bn2.running_var",
            "bn2.weight",
            "fc1.bias",
            "fc1.weight",
            "fc2.bias",
            "fc2.weight",
            "fc3.bias",
            "fc3.weight"
        ]
    );
    let tracked = &tensors["bn1.num_batches_tracked"];
    assert_eq!((tracked.dtype, tracked.shape.len(), tracked.values[0]), (nn::io::Dtype::I64, 0, 3.0));

    let mut loaded = Mlp::new(6);
    load_weights(&mut loaded, &path).unwrap();
    assert_eq!(loaded.buffers.to_vec(), net.buffers.to_vec());
    net.eval();
    loaded.eval();
    assert_eq!(loaded.predict(&xs), net.predict(&xs));

    // A file without the running statistics does not fit, and says what is missing.
    network! {
        struct NoNorm {
            Input<6> -> fc1: Linear<6, 8> -> ReLU -> fc2: Linear<8, 5> -> Tanh -> fc3: Linear<5, 3>
        }
    }
    let plain = dir.path().join("plain.safetensors");
    save_weights(&NoNorm::new(0), &plain).unwrap();
    let err = load_weights(&mut loaded, &plain).unwrap_err().to_string();
    assert!(err.contains("missing tensor `bn1.running_var`"), "{err}");
    assert!(err.contains("missing tensor `bn2.num_batches_tracked`"), "{err}");
}

#[test]
fn training_with_batch_norm_is_bit_identical_for_any_thread_count() {
    let xs = random_samples::<[[[f32; 6]; 6]; 2]>(100, -1.0, 1.0, 7);
    let labels: Vec<usize> = (0..100).map(|i| i % 3).collect();
    let run = |threads: usize| {
        let mut net = Cnn::new(8);
        if threads > 0 {
            net.set_parallelism(Parallelism::Threads(threads)).unwrap();
        }
        let mut adam = Adam::new(AdamConfig::default());
        let losses: Vec<f32> = (0..4).map(|_| net.train_step(&xs, &labels, &CrossEntropy, &mut adam)).collect();
        (losses, net.params.to_vec(), net.buffers.to_vec())
    };
    let reference = run(0);
    for threads in 1..=4 {
        assert!(run(threads) == reference, "{threads} threads");
    }
}

network! {
    /// Awkward placements: two batch norms in a row, dropout between, and batch norm last.
    struct Stacked {
        Input<5> -> a: BatchNorm -> b: BatchNorm<eps = 0.01> -> Dropout<0.2> -> fc: Linear<5, 6> -> ReLU
        -> c: BatchNorm -> out: Linear<6, 3> -> d: BatchNorm
    }
}

#[test]
fn stacked_batch_norms_with_dropout_between() {
    let mut net = Stacked::new(11);
    let xs = random_samples::<[f32; 5]>(BATCH, -2.0, 2.0, 11);
    let labels: Vec<usize> = (0..BATCH).map(|i| i % 3).collect();
    check_param_gradients(&mut net, &xs, &labels, &CrossEntropy, usize::MAX);
    check_input_gradients(&mut net, &xs[..35], 3);
}
