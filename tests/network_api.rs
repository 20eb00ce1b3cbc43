//! The generated struct and the `Network` trait as a user meets them: names, shapes, seeds, batches, errors.

mod common;

use common::{random_samples, Image, LeNet5};
use nn::prelude::*;
use nn::Error;

network! {
    /// Unnamed layers, named like a PyTorch `nn.Sequential`.
    struct Sequential {
        Input<4> -> Linear<4, 3, init = he_normal> -> ReLU -> Linear<3, 2, bias = false> -> Softmax
    }
}

#[test]
fn lenet_shapes_parameters_and_names_match_pytorch() {
    assert_eq!(LeNet5::PARAMS, 44_426);
    let names: Vec<(&str, &[usize])> = LeNet5::TENSORS.iter().map(|t| (t.name, t.shape)).collect();
    assert_eq!(
        names,
        [
            ("conv1.weight", &[6, 1, 5, 5][..]),
            ("conv1.bias", &[6]),
            ("conv2.weight", &[16, 6, 5, 5]),
            ("conv2.bias", &[16]),
            ("fc1.weight", &[120, 256]),
            ("fc1.bias", &[120]),
            ("fc2.weight", &[84, 120]),
            ("fc2.bias", &[84]),
            ("fc3.weight", &[10, 84]),
            ("fc3.bias", &[10]),
        ]
    );
    let mut offset = 0;
    for t in LeNet5::TENSORS {
        assert_eq!(t.offset, offset, "{} is contiguous after the previous tensor", t.name);
        offset += t.len();
    }
    assert_eq!(offset, LeNet5::PARAMS);
    let shapes: Vec<&[usize]> = LeNet5::LAYERS.iter().map(|l| l.output_shape).collect();
    assert_eq!(shapes[0], &[6, 24, 24]);
    assert_eq!(shapes[5], &[16, 4, 4]);
    assert_eq!(shapes[6], &[256]);
    assert_eq!(LeNet5::LAYERS[3].name, "conv2");
    assert_eq!(LeNet5::LAYERS[4].name, "layer4");
    assert!(LeNet5::LAYERS[3].field && !LeNet5::LAYERS[4].field, "the unnamed ReLU has no field");
    let summary = LeNet5::summary();
    assert!(summary.contains("conv2  Conv2d<6, 16, 5>  16×8×8     2416"), "{summary}");
    assert!(summary.lines().any(|l| l.starts_with("       ReLU")), "a layer without a field is unnamed: {summary}");
}

#[test]
fn unnamed_layers_use_sequential_indices() {
    let names: Vec<&str> = Sequential::TENSORS.iter().map(|t| t.name).collect();
    assert_eq!(names, ["0.weight", "0.bias", "2.weight"]);
    let net = Sequential::new(1);
    assert_eq!(net.param("0.bias"), Some(&[0.0, 0.0, 0.0][..]), "he_normal starts biases at zero");
    // Unnamed layers with parameters get a field by their index; unnamed ones without (the ReLU) get none.
    assert_eq!(net.layer0.weight(&net.params).len(), 3);
}

#[test]
fn softmax_head_outputs_probabilities() {
    let mut net = Sequential::new(2);
    for x in random_samples::<[f32; 4]>(10, -3.0, 3.0, 1) {
        let p = net.forward(&x);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6 && p.iter().all(|&v| v >= 0.0));
    }
}

#[test]
fn same_seed_same_network_and_same_training() {
    let xs = random_samples::<Image>(40, 0.0, 1.0, 1);
    let labels: Vec<usize> = (0..40).map(|i| i % 10).collect();
    let run = |seed| {
        let mut net = LeNet5::new(seed);
        let mut opt = Adam::new(AdamConfig::default());
        let losses: Vec<f32> = (0..3).map(|_| net.train_step(&xs, &labels, &CrossEntropy, &mut opt)).collect();
        (net.params.to_vec(), losses)
    };
    let (a, la) = run(42);
    let (b, lb) = run(42);
    assert_eq!(a, b);
    assert_eq!(la, lb);
    assert_ne!(LeNet5::new(42).params.to_vec(), LeNet5::new(43).params.to_vec());
}

#[test]
fn batches_equal_single_samples_across_chunk_boundaries() {
    let mut net = LeNet5::new(5);
    let xs = random_samples::<Image>(nn::CHUNK * 2 + 3, 0.0, 1.0, 2);
    let batch = net.predict(&xs);
    // A lone sample takes the matrix-vector path, a batch the packed product: the same sums in another order,
    // so equal to rounding (results never depend on the number of threads; that is tested bit for bit).
    for (x, y) in xs.iter().zip(&batch) {
        for (a, b) in net.forward(x).iter().zip(y) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }
    assert_eq!(net.predict(&xs), batch, "the same batch twice gives the same bits");
}

#[test]
fn backward_gives_parameter_and_input_gradients() {
    let mut net = LeNet5::new(6);
    let xs = random_samples::<Image>(3, 0.0, 1.0, 3);
    let d_out = [[1.0; 10], [0.0; 10], [0.5; 10]];
    let mut d_in = vec![[[[0.0; 28]; 28]; 1]; 3];
    let grads = net.backward(&xs, &d_out, Some(&mut d_in)).unwrap().to_vec();
    assert_eq!(grads.len(), LeNet5::PARAMS);
    // fc3's bias gradient is the sum of the output gradients.
    let t = LeNet5::TENSORS.iter().find(|t| t.name == "fc3.bias").unwrap();
    assert_eq!(&grads[t.offset..t.offset + 10], &[1.5; 10]);
    assert!(d_in[1].iter().flatten().flatten().all(|&v| v == 0.0), "a zero output gradient gives zero");
    assert!(d_in[0].iter().flatten().flatten().any(|&v| v != 0.0));
}

#[test]
fn bad_batches_are_errors_and_leave_parameters_alone() {
    let mut net = LeNet5::new(7);
    let before = net.params.to_vec();
    let mut opt = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() });
    let xs = random_samples::<Image>(2, 0.0, 1.0, 4);
    assert_eq!(
        net.try_train_step(&xs, &[1, 10], &CrossEntropy, &mut opt),
        Err(Error::LabelOutOfRange { label: 10, index: 1, classes: 10 })
    );
    assert_eq!(
        net.try_train_step(&xs, &[1], &CrossEntropy, &mut opt),
        Err(Error::LengthMismatch { inputs: 2, other: 1, what: "targets" })
    );
    assert_eq!(net.try_train_step(&[], &[], &CrossEntropy, &mut opt), Err(Error::EmptyBatch));
    assert_eq!(net.params.to_vec(), before);
    let err = net.try_forward_batch(&xs, &mut [[0.0; 10]; 3]).unwrap_err();
    assert_eq!(err.to_string(), "the batch has 2 samples but 3 output slots");
}

#[test]
#[should_panic(expected = "label 10 of sample 0 is out of range: the network has 10 classes (0..10)")]
fn train_step_panics_with_the_error_message() {
    let mut net = LeNet5::new(8);
    let mut opt = Sgd::new(SgdConfig::default());
    net.train_step(&[[[[0.0; 28]; 28]; 1]], &[10], &CrossEntropy, &mut opt);
}

#[test]
fn training_lowers_the_loss_and_clones_are_independent() {
    // Noise with a bright 7×7 block whose position gives the class.
    let mut xs = random_samples::<Image>(16, 0.0, 0.5, 5);
    let labels: Vec<usize> = (0..16).map(|i| i % 4).collect();
    for (x, &l) in xs.iter_mut().zip(&labels) {
        for row in &mut x[0][7 * l..7 * l + 7] {
            row[..7].iter_mut().for_each(|v| *v += 1.0);
        }
    }
    let mut net = LeNet5::new(9);
    let frozen = net.clone();
    let mut opt = Adam::new(AdamConfig { lr: 3e-3, ..Default::default() });
    let first = net.train_step(&xs, &labels, &CrossEntropy, &mut opt);
    let mut last = first;
    for _ in 0..30 {
        last = net.train_step(&xs, &labels, &CrossEntropy, &mut opt);
    }
    assert!(last < first * 0.5, "{first} → {last}");
    assert_ne!(frozen.params.to_vec(), net.params.to_vec());
    // The first loss of a fresh 10-class network is close to ln 10.
    assert!((first - 10f32.ln()).abs() < 0.3, "{first}");
}

#[test]
fn initialisation_schemes_have_their_spread() {
    network! {
        struct Wide {
            Input<400> -> a: Linear<400, 300> -> b: Linear<300, 200, init = he_normal>
            -> c: Linear<200, 100, init = xavier_uniform>
        }
    }
    let net = Wide::new(1);
    let std = |name: &str| {
        let w = net.param(name).unwrap();
        (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt()
    };
    // PyTorch default: U(±1/√400), std = 1/(√400·√3).
    assert!((std("a.weight") - 1.0 / (20.0 * 3f32.sqrt())).abs() < 1e-3);
    assert!((std("b.weight") - (2.0f32 / 300.0).sqrt()).abs() < 2e-3);
    assert!((std("c.weight") - (6.0f32 / 300.0).sqrt() / 3f32.sqrt()).abs() < 2e-3);
    assert!(net.param("b.bias").unwrap().iter().all(|&v| v == 0.0));
    assert!(net.param("a.bias").unwrap().iter().any(|&v| v != 0.0));
}

network! {
    /// A layer named with a raw identifier.
    struct Raw {
        Input<2> -> r#type: Linear<2, 3> -> ReLU -> r#loop: Linear<3, 1>
    }
}

#[test]
fn raw_identifiers_name_tensors_as_pytorch_would() {
    let names: Vec<&str> = Raw::TENSORS.iter().map(|t| t.name).collect();
    assert_eq!(names, ["type.weight", "type.bias", "loop.weight", "loop.bias"]);
    let net = Raw::new(0);
    assert_eq!(net.r#type.weight(&net.params).len(), 3);
    assert_eq!(Raw::LAYERS[0].name, "r#type");
}
