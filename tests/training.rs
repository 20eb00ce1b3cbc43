//! The training loop on the shipped MNIST sample: learning, exact resume from checkpoints, NaN detection, early
//! stopping, schedules, diagnostics and curves.

use nn::prelude::*;
use nn::train::History;
use nn::Error;
use std::path::Path;

network! {
    struct Mlp {
        Input<784> -> Linear<784, 32> -> ReLU -> Linear<32, 10>
    }
}

type Data = Dataset<[f32; 784], usize>;

fn sample() -> (Data, Data) {
    load_mnist(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-sample").as_path()).expect("shipped sample")
}

fn quiet(epochs: usize) -> TrainConfig {
    TrainConfig { epochs, batch_size: 32, verbose: false, progress: false, ..Default::default() }
}

#[test]
fn shipped_sample_loads_and_a_small_mlp_learns_it() {
    let (train, test) = sample();
    assert_eq!((train.len(), test.len()), (2000, 500));
    assert_eq!(&train.targets[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    let first: f32 = train.inputs[0].iter().sum::<f32>() * 255.0;
    assert!((first - 27525.0).abs() < 0.5, "pixel sum of the first image {first}");
    let mut net = Mlp::new(1);
    let mut opt = Adam::new(AdamConfig::default());
    let history = fit(&mut net, &mut opt, &CrossEntropy, &train, Some(&test), &quiet(5)).unwrap();
    let last = history.last().unwrap();
    assert!(last.valid_accuracy.unwrap() > 0.80, "{last:?}");
    assert!(history.epochs[0].train_loss > last.train_loss);
    let first = history.first_loss.unwrap();
    assert!((first - 10f32.ln()).abs() < 0.5, "first loss {first}");
    assert_eq!(history.expected_first_loss, Some(10f32.ln()));
    let ratios = &last.update_ratios;
    assert_eq!(ratios.len(), 4);
    assert!(ratios.iter().all(|(_, r)| r.is_finite() && *r > 0.0 && *r < 1.0), "{ratios:?}");
}

fn strip_times(h: &History) -> Vec<(usize, f32, f32, Option<f32>)> {
    h.epochs.iter().map(|r| (r.epoch, r.lr, r.train_loss, r.valid_accuracy)).collect()
}

#[test]
fn training_resumes_exactly_from_a_checkpoint() {
    let (train, test) = sample();
    let (train, test) = (train.take(600), test.take(200));
    let dir = tempfile::tempdir().unwrap();
    let config = |epochs, ckpt: &str| TrainConfig {
        checkpoint: Some(dir.path().join(ckpt)),
        resume: true,
        schedule: Schedule::Step { every: 2, gamma: 0.5 },
        ..quiet(epochs)
    };
    let mut straight = Mlp::new(3);
    let mut opt = Adam::new(AdamConfig::default());
    let full = fit(&mut straight, &mut opt, &CrossEntropy, &train, Some(&test), &config(4, "a.ckpt")).unwrap();

    let mut first = Mlp::new(3);
    let mut opt = Adam::new(AdamConfig::default());
    fit(&mut first, &mut opt, &CrossEntropy, &train, Some(&test), &config(2, "b.ckpt")).unwrap();
    // A new process: fresh network and optimizer, continued from the file.
    let mut resumed = Mlp::new(99);
    let mut opt = Adam::new(AdamConfig::default());
    let rest = fit(&mut resumed, &mut opt, &CrossEntropy, &train, Some(&test), &config(4, "b.ckpt")).unwrap();
    assert_eq!(rest.resumed_epochs, 2);
    assert_eq!(resumed.params.to_vec(), straight.params.to_vec(), "bit-identical parameters");
    assert_eq!(strip_times(&rest), strip_times(&full));
    assert_eq!(full.epochs.iter().map(|r| r.lr).collect::<Vec<_>>(), [1e-3, 1e-3, 5e-4, 5e-4]);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "only the two checkpoints, no temporary files: {leftovers:?}");
}

network! {
    struct Regularized {
        Input<784> -> Linear<784, 32> -> bn: BatchNorm -> ReLU -> Dropout<0.3> -> Linear<32, 10>
    }
}

#[test]
fn dropout_and_batch_norm_resume_exactly_too() {
    // The checkpoint holds the running statistics and the random state the dropout masks come from.
    let (train, test) = sample();
    let (train, test) = (train.take(300), test.take(100));
    let dir = tempfile::tempdir().unwrap();
    let config =
        |epochs, ckpt: &str| TrainConfig { checkpoint: Some(dir.path().join(ckpt)), resume: true, ..quiet(epochs) };
    let mut straight = Regularized::new(4);
    let mut opt = Sgd::new(SgdConfig { lr: 0.05, momentum: 0.9, ..Default::default() });
    fit(&mut straight, &mut opt, &CrossEntropy, &train, Some(&test), &config(3, "a.ckpt")).unwrap();
    let mut first = Regularized::new(4);
    let mut opt = Sgd::new(SgdConfig { lr: 0.05, momentum: 0.9, ..Default::default() });
    fit(&mut first, &mut opt, &CrossEntropy, &train, Some(&test), &config(1, "b.ckpt")).unwrap();
    let mut resumed = Regularized::new(77);
    let mut opt = Sgd::new(SgdConfig { lr: 0.05, momentum: 0.9, ..Default::default() });
    fit(&mut resumed, &mut opt, &CrossEntropy, &train, Some(&test), &config(3, "b.ckpt")).unwrap();
    assert_eq!(resumed.params.to_vec(), straight.params.to_vec());
    assert_eq!(resumed.buffers.to_vec(), straight.buffers.to_vec());
    assert_eq!(resumed.random_state(), straight.random_state());
}

#[test]
fn a_diverging_loss_stops_training_with_the_epoch_and_step() {
    let (train, _) = sample();
    let mut net = Mlp::new(4);
    let mut opt = Sgd::new(SgdConfig { lr: 1e12, ..Default::default() });
    let err = fit(&mut net, &mut opt, &CrossEntropy, &train, None, &quiet(3)).unwrap_err();
    match err {
        Error::NonFiniteLoss { epoch, step, loss } => {
            assert_eq!(epoch, 1);
            assert!(step >= 2 && !loss.is_finite(), "step {step}, loss {loss}");
            let text = Error::NonFiniteLoss { epoch, step, loss }.to_string();
            assert!(text.starts_with(&format!("the loss became {loss} at epoch 1, step {step}")), "{text}");
        }
        other => panic!("expected NonFiniteLoss, got {other:?}"),
    }
}

#[test]
fn early_stopping_waits_for_patience() {
    let (train, test) = sample();
    let mut net = Mlp::new(5);
    // A zero learning rate never improves anything: the run stops after 1 + patience epochs.
    let mut opt = Sgd::new(SgdConfig { lr: 0.0, ..Default::default() });
    let config = TrainConfig {
        early_stopping: Some(EarlyStopping { patience: 2, min_delta: 0.0, monitor: Monitor::ValidLoss }),
        ..quiet(10)
    };
    let history =
        fit(&mut net, &mut opt, &CrossEntropy, &train.take(100), Some(&test.clone().take(50)), &config).unwrap();
    assert_eq!(history.stopped_early, Some(3));
    assert_eq!(history.epochs.len(), 3);
    let err = fit(&mut net, &mut opt, &CrossEntropy, &test, None, &config).unwrap_err();
    assert_eq!(err.to_string(), "invalid training setting `early_stopping`: needs validation data");
}

#[test]
fn cosine_schedule_curves_and_training_accuracy() {
    let (train, test) = sample();
    let dir = tempfile::tempdir().unwrap();
    let curves = dir.path().join("curves.svg");
    let mut net = Mlp::new(6);
    let mut opt = Sgd::new(SgdConfig { lr: 0.1, momentum: 0.9, ..Default::default() });
    let config = TrainConfig {
        schedule: Schedule::Cosine { min_lr: 0.0 },
        curves: Some(curves.clone()),
        train_accuracy: true,
        ..quiet(3)
    };
    let history = fit(&mut net, &mut opt, &CrossEntropy, &train.take(500), Some(&test), &config).unwrap();
    let lrs: Vec<f32> = history.epochs.iter().map(|r| r.lr).collect();
    assert_eq!(lrs[0], 0.1);
    assert!((lrs[1] - 0.075).abs() < 1e-6 && (lrs[2] - 0.025).abs() < 1e-6, "{lrs:?}");
    assert!(history.epochs.iter().all(|r| r.train_accuracy.is_some()));
    let svg = std::fs::read_to_string(&curves).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("validation accuracy") && svg.contains("epoch"));
}

#[test]
fn impossible_settings_are_errors() {
    let (train, _) = sample();
    let mut net = Mlp::new(7);
    let mut opt = Sgd::new(SgdConfig::default());
    for (config, message) in [
        (TrainConfig { batch_size: 0, ..quiet(1) }, "invalid training setting `batch_size`: must be at least 1"),
        (TrainConfig { epochs: 0, ..quiet(1) }, "invalid training setting `epochs`: must be at least 1"),
        (TrainConfig { resume: true, ..quiet(1) }, "invalid training setting `resume`: needs a `checkpoint` path"),
        (
            TrainConfig { schedule: Schedule::Step { every: 0, gamma: 0.1 }, ..quiet(1) },
            "invalid training setting `schedule`: a step schedule needs `every` ≥ 1",
        ),
    ] {
        let err = fit(&mut net, &mut opt, &CrossEntropy, &train, None, &config).unwrap_err();
        assert_eq!(err.to_string(), message);
    }
}

#[test]
fn one_hot_targets_train_with_mse_and_report_accuracy() {
    let (train, test) = sample();
    let (train, test) = (train.one_hot::<10>().unwrap(), test.one_hot::<10>().unwrap());
    let mut net = Mlp::new(8);
    let mut opt = Adam::new(AdamConfig::default());
    let history = fit(&mut net, &mut opt, &Mse, &train, Some(&test), &quiet(3)).unwrap();
    assert!(history.last().unwrap().valid_accuracy.unwrap() > 0.7);
}

#[test]
fn shipped_digits_csv_loads_and_trains() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sklearn-digits/digits.csv.gz");
    let digits = nn::data::load_digits::<[f32; 64]>(&path).unwrap();
    assert_eq!(digits.len(), 1797);
    let mut counts = [0usize; 10];
    digits.targets.iter().for_each(|&c| counts[c] += 1);
    assert!(counts.iter().all(|&c| (174..=183).contains(&c)), "{counts:?}");
    assert!(digits.inputs.iter().flatten().all(|&v| (0.0..=1.0).contains(&v)));
    network! {
        struct DigitNet {
            Input<64> -> Linear<64, 32> -> Tanh -> Linear<32, 10>
        }
    }
    let (train, test) = digits.split(1400);
    let mut net = DigitNet::new(1);
    let mut opt = Adam::new(AdamConfig { lr: 3e-3, ..Default::default() });
    let history = fit(&mut net, &mut opt, &CrossEntropy, &train, Some(&test), &quiet(10)).unwrap();
    assert!(history.last().unwrap().valid_accuracy.unwrap() > 0.9, "{:?}", history.last());
}
