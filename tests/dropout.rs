//! Dropout and the train/eval modes: inverted scaling keeps the expected activation, eval is the identity,
//! masks are new every step and replayed from the seed, gradients go through the mask.

mod common;

use common::{check_input_gradients, check_param_gradients, random_samples};
use nn::prelude::*;

network! {
    struct Drop30 {
        Input<1000> -> Dropout<0.3>
    }
}

network! {
    /// A dropout network, small.
    #[derive(Clone)]
    struct Mlp {
        Input<20> -> fc1: Linear<20, 16> -> ReLU -> Dropout<0.5> -> fc2: Linear<16, 16> -> ReLU -> Dropout
        -> fc3: Linear<16, 4>
    }
}

#[test]
fn inverted_dropout_preserves_the_expected_activation() {
    let mut net = Drop30::new(1);
    let ones = [[1.0f32; 1000]; 8];
    let (mut total, mut zeros, mut count) = (0.0f64, 0usize, 0usize);
    for _ in 0..50 {
        for y in net.predict(&ones) {
            for v in y {
                assert!(v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6, "kept values are scaled by 1/(1-p): {v}");
                total += f64::from(v);
                zeros += usize::from(v == 0.0);
                count += 1;
            }
        }
    }
    let (mean, dropped) = (total / count as f64, zeros as f64 / count as f64);
    // 400,000 draws: the standard error of the drop rate is 0.0007.
    assert!((dropped - 0.3).abs() < 0.005, "dropped {dropped}");
    assert!((mean - 1.0).abs() < 0.01, "mean activation {mean}");
}

#[test]
fn eval_mode_is_the_identity_and_deterministic() {
    let mut net = Drop30::new(1);
    let x = random_samples::<[f32; 1000]>(3, -1.0, 1.0, 2);
    net.eval();
    assert_eq!(net.mode(), Mode::Eval);
    assert_eq!(net.predict(&x), x);
    assert_eq!(net.predict(&x), x);
    net.set_mode(Mode::Train);
    assert_ne!(net.predict(&x), x);
}

#[test]
fn a_new_mask_every_step_and_the_same_masks_from_the_same_seed() {
    let x = [[1.0f32; 1000]; 40]; // two chunks
    let (mut a, mut b, mut c) = (Drop30::new(5), Drop30::new(5), Drop30::new(6));
    let first = a.predict(&x);
    let second = a.predict(&x);
    assert_ne!(first, second, "a new mask each pass");
    assert_ne!(first[0], first[1], "a different mask for each sample");
    assert_eq!(b.predict(&x), first, "same seed, same masks");
    assert_eq!(b.predict(&x), second);
    assert_ne!(c.predict(&x), first, "another seed, other masks");
    // Restoring the random state replays the masks.
    a.set_random_state(5, 1);
    assert_eq!(a.predict(&x), second);
}

#[test]
fn masks_do_not_depend_on_the_thread_count() {
    let xs = random_samples::<[f32; 20]>(100, -1.0, 1.0, 3);
    let labels: Vec<usize> = (0..100).map(|i| i % 4).collect();
    let run = |threads: usize| {
        let mut net = Mlp::new(3);
        if threads > 0 {
            net.set_parallelism(Parallelism::Threads(threads)).unwrap();
        }
        let mut sgd = Sgd::new(SgdConfig { lr: 0.1, momentum: 0.9, ..Default::default() });
        let losses: Vec<f32> = (0..5).map(|_| net.train_step(&xs, &labels, &CrossEntropy, &mut sgd)).collect();
        (losses, net.params.to_vec())
    };
    let reference = run(0);
    for threads in 1..=4 {
        assert!(run(threads) == reference, "{threads} threads");
    }
}

#[test]
fn gradients_flow_through_the_mask_in_training_mode() {
    let mut net = Mlp::new(4);
    let xs = random_samples::<[f32; 20]>(37, -1.0, 1.0, 4);
    let labels: Vec<usize> = (0..37).map(|i| i % 4).collect();
    check_param_gradients(&mut net, &xs, &labels, &CrossEntropy, 10);
    check_input_gradients(&mut net, &xs[..4], 4);
    net.eval();
    check_param_gradients(&mut net, &xs, &labels, &CrossEntropy, 10);
}

#[test]
fn fit_trains_in_training_mode_and_leaves_the_network_in_eval_mode() {
    let inputs = random_samples::<[f32; 20]>(200, -1.0, 1.0, 5);
    let targets: Vec<usize> = inputs.iter().map(|x| usize::from(x[0] > 0.0) + 2 * usize::from(x[1] > 0.0)).collect();
    let data = Dataset::new(inputs, targets).unwrap();
    let mut net = Mlp::new(6);
    let mut adam = Adam::new(AdamConfig { lr: 0.01, ..Default::default() });
    let config = TrainConfig { epochs: 30, batch_size: 20, verbose: false, progress: false, ..Default::default() };
    let steps_before = net.random_state().1;
    let history = fit(&mut net, &mut adam, &CrossEntropy, &data, Some(&data), &config).unwrap();
    assert_eq!(net.mode(), Mode::Eval);
    assert_eq!(net.random_state().1 - steps_before, 30 * 10, "one training pass per step; evaluation draws none");
    let accuracy = history.last().unwrap().valid_accuracy.unwrap();
    assert!(accuracy > 0.9, "accuracy {accuracy}");
    // `evaluate` measures in eval mode and restores the mode it found.
    net.train();
    let a = evaluate(&mut net, &data, &CrossEntropy).unwrap();
    assert_eq!(net.mode(), Mode::Train);
    assert_eq!(evaluate(&mut net, &data, &CrossEntropy).unwrap(), a, "deterministic");
}
