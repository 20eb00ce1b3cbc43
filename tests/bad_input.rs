//! Bad input is an error or a visible outcome, never a silently wrong model: NaN through every layer, data sets
//! whose public fields disagree, settings that can only fail later, and non-finite gradients and parameters.

mod common;

use common::{random_samples, LeNet5};
use nn::prelude::*;
use nn::Error;

network! {
    /// A ReLU MLP, as in the report of a NaN pixel vanishing.
    struct ReluMlp {
        Input<16> -> fc1: Linear<16, 8> -> ReLU -> fc2: Linear<8, 4>
    }

    /// Every element-wise layer between two linear layers.
    struct Activations {
        Input<6> -> Linear<6, 6> -> ReLU -> LeakyReLU -> ELU -> PReLU -> Sigmoid -> Tanh -> Dropout<0.3>
        -> Maxout<6, 4, 3> -> Linear<4, 3> -> Softmax
    }

    /// Batch norm per feature: a batch of one sample has one value per feature.
    struct Normalized {
        Input<4> -> fc: Linear<4, 4> -> bn: BatchNorm -> ReLU -> out: Linear<4, 2>
    }

    /// A class per step.
    struct StepTagger {
        Input<Seq, 2> -> gru: GRU<2, 4> -> out: Linear<4, 3>
    }
}

fn quiet(epochs: usize, batch_size: usize) -> TrainConfig {
    TrainConfig { epochs, batch_size, verbose: false, progress: false, ..Default::default() }
}

fn labelled(n: usize, classes: usize, seed: u64) -> Dataset<[f32; 16], usize> {
    Dataset::new(random_samples(n, -1.0, 1.0, seed), (0..n).map(|i| i % classes).collect()).unwrap()
}

#[test]
fn nan_inputs_give_nan_outputs_through_every_layer() {
    let mut net = ReluMlp::new(1);
    let y = net.forward(&[f32::NAN; 16]);
    assert!(y.iter().all(|v| v.is_nan()), "an all-NaN input gave {y:?}");
    let mut one = [0.5f32; 16];
    one[3] = f32::NAN;
    assert!(net.forward(&one).iter().all(|v| v.is_nan()), "one NaN value must reach every output");

    for mode in [Mode::Train, Mode::Eval] {
        let mut net = Activations::new(2);
        net.set_mode(mode);
        for at in 0..6 {
            let mut x = [0.25f32; 6];
            x[at] = f32::NAN;
            let y = net.predict(&[x, [0.1; 6]]);
            assert!(y[0].iter().all(|v| v.is_nan()), "{mode:?}: NaN at {at} vanished: {:?}", y[0]);
            assert!(y[1].iter().all(|v| v.is_finite()), "the other sample of the batch is untouched");
        }
    }

    let mut lenet = LeNet5::new(3);
    let mut image: common::Image = random_samples(1, 0.0, 1.0, 4)[0];
    image[0][13][9] = f32::NAN;
    assert!(lenet.forward(&image).iter().all(|v| v.is_nan()), "convolution and pooling propagate NaN");
}

#[test]
fn accuracy_never_counts_nan_outputs_as_a_class() {
    let mut net = ReluMlp::new(1);
    net.params.iter_mut().for_each(|p| *p = f32::NAN);
    let data = Dataset::new(vec![[0.5f32; 16]; 10], vec![0usize; 10]).unwrap();
    assert_eq!(net.accuracy(&data.inputs, &data.targets), 0.0);
    let result = evaluate(&mut net, &data, &CrossEntropy).unwrap();
    assert_eq!(result.accuracy, 0.0);
    assert!(result.loss.is_nan());
}

#[test]
fn fit_refuses_a_nan_pixel_before_training() {
    let mut train = labelled(200, 4, 1);
    train.inputs[137][5] = f32::NAN;
    let mut net = ReluMlp::new(1);
    let before = net.params.to_vec();
    let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() });
    let err = fit(&mut net, &mut sgd, &CrossEntropy, &train, None, &quiet(1, 32)).unwrap_err();
    assert!(matches!(err, Error::NonFiniteInput { set: "training", index: 137, .. }), "{err:?}");
    assert_eq!(net.params.to_vec(), before, "nothing was trained");

    let valid = {
        let mut v = labelled(20, 4, 2);
        v.inputs[3][0] = f32::INFINITY;
        v
    };
    let err = fit(&mut net, &mut sgd, &CrossEntropy, &labelled(50, 4, 3), Some(&valid), &quiet(1, 32)).unwrap_err();
    assert!(matches!(err, Error::NonFiniteInput { set: "validation", index: 3, .. }), "{err:?}");
    let err = evaluate(&mut net, &valid, &CrossEntropy).unwrap_err();
    assert!(matches!(err, Error::NonFiniteInput { set: "evaluation", index: 3, .. }), "{err:?}");
}

/// A loss that is finite but whose gradient is not: what a user's own loss can do.
struct PoisonedGradient;

impl Loss<[f32; 4]> for PoisonedGradient {
    type Target = usize;

    fn sample_loss(&self, _: &[f32], _: &usize, _: usize, scale: f32, grad: &mut [f32]) -> nn::Result<f32> {
        grad.fill(f32::NAN);
        Ok(scale)
    }
}

/// A finite loss whose gradient is so large that one SGD step overflows the parameters.
struct HugeGradient;

impl Loss<[f32; 4]> for HugeGradient {
    type Target = usize;

    fn sample_loss(&self, _: &[f32], _: &usize, _: usize, scale: f32, grad: &mut [f32]) -> nn::Result<f32> {
        grad.fill(1e30);
        Ok(scale)
    }
}

#[test]
fn fit_stops_on_a_non_finite_gradient_or_parameter_naming_epoch_and_step() {
    let train = labelled(64, 4, 1);
    let mut net = ReluMlp::new(1);
    let before = net.params.to_vec();
    let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() });
    let err = fit(&mut net, &mut sgd, &PoisonedGradient, &train, None, &quiet(2, 32)).unwrap_err();
    assert_eq!(err, Error::NonFiniteGradient { epoch: 1, step: 1, tensor: "fc1.weight" });
    assert_eq!(net.params.to_vec(), before, "the parameters are those before the step");

    let mut sgd = Sgd::new(SgdConfig { lr: 1e10, ..Default::default() });
    let err = fit(&mut net, &mut sgd, &HugeGradient, &train, None, &quiet(2, 32)).unwrap_err();
    assert_eq!(err, Error::NonFiniteParameter { epoch: 1, step: 1, tensor: "fc1.weight" });
    assert!(err.to_string().contains("epoch 1, step 1"), "{err}");
}

#[test]
fn data_sets_whose_fields_disagree_are_errors_not_panics_or_wrong_numbers() {
    let mut net = ReluMlp::new(1);
    let mut sgd = Sgd::new(SgdConfig::default());
    let mut bad = labelled(2000, 4, 1);
    bad.targets.truncate(1000);
    let err = fit(&mut net, &mut sgd, &CrossEntropy, &bad, None, &quiet(1, 32)).unwrap_err();
    assert_eq!(err, Error::DatasetMismatch { set: "training", inputs: 2000, targets: 1000 });

    let mut short = labelled(500, 4, 2);
    short.targets.truncate(100);
    let err = evaluate(&mut net, &short, &CrossEntropy).unwrap_err();
    assert_eq!(err, Error::DatasetMismatch { set: "evaluation", inputs: 500, targets: 100 });
    let err = fit(&mut net, &mut sgd, &CrossEntropy, &labelled(64, 4, 3), Some(&short), &quiet(1, 32)).unwrap_err();
    assert_eq!(err, Error::DatasetMismatch { set: "validation", inputs: 500, targets: 100 });
    assert!(short.one_hot::<4>().is_err());
}

#[test]
fn settings_that_would_fail_later_are_reported_before_the_first_epoch() {
    let train = labelled(64, 4, 1);
    let mut net = ReluMlp::new(1);
    let before = net.params.to_vec();
    let mut sgd = Sgd::new(SgdConfig::default());
    let empty = Dataset::new(Vec::<[f32; 16]>::new(), Vec::new()).unwrap();
    let err = fit(&mut net, &mut sgd, &CrossEntropy, &train, Some(&empty), &quiet(1, 32)).unwrap_err();
    assert!(matches!(err, Error::InvalidSetting { name: "valid", .. }), "{err:?}");

    let dir = tempfile::tempdir().unwrap();
    let missing = TrainConfig { checkpoint: Some(dir.path().join("no/such/dir/ck.safetensors")), ..quiet(1, 32) };
    let err = fit(&mut net, &mut sgd, &CrossEntropy, &train, None, &missing).unwrap_err();
    assert!(matches!(err, Error::InvalidSetting { name: "checkpoint", .. }), "{err:?}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let under_file = TrainConfig { curves: Some(file.join("curves.svg")), ..quiet(1, 32) };
    let err = fit(&mut net, &mut sgd, &CrossEntropy, &train, None, &under_file).unwrap_err();
    assert!(matches!(err, Error::InvalidSetting { name: "curves", .. }), "{err:?}");
    assert_eq!(net.params.to_vec(), before, "no epoch ran");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the write probe leaves nothing behind");

    let mut normalized = Normalized::new(1);
    let data = Dataset::new(random_samples::<[f32; 4]>(33, -1.0, 1.0, 5), vec![0usize; 33]).unwrap();
    let err = fit(&mut normalized, &mut sgd, &CrossEntropy, &data, None, &quiet(1, 32)).unwrap_err();
    assert!(matches!(err, Error::InvalidSetting { name: "batch_size", .. }), "{err:?}");
    assert!(err.to_string().contains("drop_last"), "{err}");
    let err = fit(&mut normalized, &mut sgd, &CrossEntropy, &data, None, &quiet(1, 1)).unwrap_err();
    assert!(matches!(err, Error::InvalidSetting { name: "batch_size", .. }), "{err:?}");
    let dropped = TrainConfig { drop_last: true, ..quiet(1, 32) };
    fit(&mut normalized, &mut sgd, &CrossEntropy, &data, None, &dropped).expect("the short batch is dropped");
}

#[test]
fn bad_targets_anywhere_in_a_data_set_are_refused_before_training_naming_their_index() {
    let mut train = labelled(48, 4, 1);
    train.targets[37] = 4;
    let mut net = ReluMlp::new(1);
    let before = net.params.to_vec();
    let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() });
    for shuffle in [None, Some(7)] {
        let config = TrainConfig { shuffle, ..quiet(1, 8) };
        let err = fit(&mut net, &mut sgd, &CrossEntropy, &train, None, &config).unwrap_err();
        assert_eq!(err, Error::LabelOutOfRange { label: 4, index: 37, classes: 4 });
        assert_eq!(net.params.to_vec(), before, "nothing trained");
    }
    // In the validation set too, before the first training step.
    let mut valid = labelled(20, 4, 2);
    valid.targets[13] = 9;
    let err = fit(&mut net, &mut sgd, &CrossEntropy, &labelled(48, 4, 1), Some(&valid), &quiet(1, 8)).unwrap_err();
    assert_eq!(err, Error::LabelOutOfRange { label: 9, index: 13, classes: 4 });
    assert_eq!(net.params.to_vec(), before, "nothing trained");

    // A sequence output takes one class per step: a list one short, or a class out of range, deep in the set.
    let xs: Vec<Vec<[f32; 2]>> = (0..40).map(|i| vec![[0.1 * (i % 3) as f32, 0.5]; 1 + i % 6]).collect();
    let ts: Vec<Vec<usize>> = xs.iter().map(|x| (0..x.len()).map(|t| t % 3).collect()).collect();
    let mut tagger = StepTagger::new(2);
    let before = tagger.params.to_vec();
    let mut short = Dataset::new(xs.clone(), ts.clone()).unwrap();
    short.targets[29].pop();
    let err = fit(&mut tagger, &mut sgd, &CrossEntropy, &short, None, &quiet(1, 8)).unwrap_err();
    assert_eq!(err, Error::StepMismatch { index: 29, steps: 6, given: 5, what: "targets" });
    let mut out_of_range = Dataset::new(xs, ts).unwrap();
    out_of_range.targets[33][2] = 3;
    let err = fit(&mut tagger, &mut sgd, &CrossEntropy, &out_of_range, None, &quiet(1, 8)).unwrap_err();
    assert_eq!(err, Error::LabelOutOfRange { label: 3, index: 33, classes: 3 });
    assert_eq!(tagger.params.to_vec(), before, "nothing trained");
}
