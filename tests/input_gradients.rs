//! `loss_and_input_grad` and `loss_and_grads`: the gradient of the batch's mean loss with respect to each input,
//! against central differences of `evaluate_loss`, on a CNN, a recurrent network (fixed and mixed lengths) and a
//! network that branches; the parameter gradient left alone, or computed alongside.

mod common;

use common::{derivative_ok, random_samples, sequences, EPS};
use nn::prelude::*;
use nn::{Example, Rng};

network! {
    /// A small CNN with smooth activations, a stride and padding.
    pub struct Cnn {
        Input<2, 7, 7>
        -> conv1: Conv2d<2, 3, 3, stride = 2, padding = 1> -> Tanh -> AvgPool<2, 2>
        -> Flatten -> fc: Linear<12, 4>
    }

    /// A recurrent network over sequences of any length.
    pub struct Rnn {
        Input<Seq, 3> -> lstm: LSTM<3, 5> -> Last -> fc: Linear<5, 3>
    }

    /// A network that branches: a residual block and a concatenation with an identity branch.
    pub struct Branched {
        Input<6>
        -> fc1: Linear<6, 6> -> Tanh
        -> Residual { fc2: Linear<6, 6> -> Sigmoid }
        -> Concat { fc3: Linear<6, 2> -> Tanh | Identity }
        -> head: Linear<8, 3>
    }
}

/// Checks `loss_and_input_grad` against central differences of the mean loss at `count` coordinates per sample,
/// and that it leaves the parameter gradient as it was.
fn check<N: Network>(net: &mut N, xs: &[N::Input], targets: &[usize], count: usize)
where
    CrossEntropy: Loss<N::Output, Target = usize>,
{
    // A parameter gradient from before, which the input gradient must not touch.
    net.loss_and_grad(xs, targets, &CrossEntropy).unwrap();
    let before: Vec<u32> = net.grads().iter().map(|g| g.to_bits()).collect();
    let mut dx = xs.to_vec();
    dx.iter_mut().for_each(|d| d.values_mut().fill(f32::NAN));
    let mid = f64::from(net.loss_and_input_grad(xs, targets, &CrossEntropy, &mut dx).unwrap());
    assert_eq!(net.grads().iter().map(|g| g.to_bits()).collect::<Vec<_>>(), before, "parameter gradient touched");
    let mut rng = Rng::new(3, 1);
    let mut probe = xs.to_vec();
    let mut loss_at = |probe: &[N::Input]| f64::from(net.evaluate_loss(probe, targets, &CrossEntropy).unwrap());
    for s in 0..xs.len() {
        for _ in 0..count {
            let i = rng.below(xs[s].values().len());
            let original = xs[s].values()[i];
            probe[s].values_mut()[i] = original + EPS;
            let hi = loss_at(&probe);
            probe[s].values_mut()[i] = original - EPS;
            let lo = loss_at(&probe);
            probe[s].values_mut()[i] = original;
            let analytic = dx[s].values()[i];
            let numeric = (hi - lo) / (2.0 * f64::from(EPS));
            assert!(derivative_ok(analytic, lo, mid, hi), "sample {s}[{i}]: analytic {analytic}, numeric {numeric}");
        }
    }
}

#[test]
fn a_cnn_input_gradient_matches_finite_differences() {
    let mut net = Cnn::new(1);
    // 40 samples: two chunks.
    let xs = random_samples::<[[[f32; 7]; 7]; 2]>(40, -1.0, 1.0, 2);
    let targets: Vec<usize> = (0..40).map(|i| i % 4).collect();
    check(&mut net, &xs, &targets, 6);
}

#[test]
fn a_recurrent_input_gradient_matches_finite_differences_on_mixed_lengths() {
    let mut net = Rnn::new(2);
    let xs = sequences::<3>(&[1, 4, 7, 2, 5], 4);
    check(&mut net, &xs, &[0, 1, 2, 1, 0], 8);
}

#[test]
fn a_branched_input_gradient_matches_finite_differences() {
    let mut net = Branched::new(3);
    let xs = random_samples::<[f32; 6]>(9, -2.0, 2.0, 5);
    let targets: Vec<usize> = (0..9).map(|i| i % 3).collect();
    check(&mut net, &xs, &targets, 6);
}

#[test]
fn loss_and_grads_gives_both_gradients_of_the_separate_calls() {
    let mut net = Branched::new(4);
    let xs = random_samples::<[f32; 6]>(37, -1.0, 1.0, 6);
    let targets: Vec<usize> = (0..37).map(|i| (i * 2) % 3).collect();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let loss = net.loss_and_grad(&xs, &targets, &CrossEntropy).unwrap();
    let params = bits(net.grads());
    let mut only = vec![[0.0; 6]; xs.len()];
    let input_loss = net.loss_and_input_grad(&xs, &targets, &CrossEntropy, &mut only).unwrap();
    let mut both = vec![[0.0; 6]; xs.len()];
    let both_loss = net.loss_and_grads(&xs, &targets, &CrossEntropy, &mut both).unwrap();
    assert_eq!([loss.to_bits(), input_loss.to_bits()], [both_loss.to_bits(); 2]);
    assert_eq!(bits(net.grads()), params);
    assert_eq!(bits(both.as_flattened()), bits(only.as_flattened()));
}

#[test]
fn bad_calls_are_errors() {
    let mut net = Branched::new(5);
    let xs = random_samples::<[f32; 6]>(3, -1.0, 1.0, 7);
    let mut short = vec![[0.0; 6]; 2];
    let error = net.loss_and_input_grad(&xs, &[0, 1, 2], &CrossEntropy, &mut short).unwrap_err();
    assert!(matches!(error, nn::Error::LengthMismatch { inputs: 3, other: 2, .. }), "{error}");
    let mut slots = vec![[0.0; 6]; 3];
    let error = net.loss_and_input_grad(&xs, &[0, 1, 7], &CrossEntropy, &mut slots).unwrap_err();
    assert!(matches!(error, nn::Error::LabelOutOfRange { .. }), "{error}");

    network! {
        struct Tagger { Input<Seq<4>, Tokens<10>> -> emb: Embedding<10, 3> -> Last -> fc: Linear<3, 2> }
    }
    let mut tagger = Tagger::new(0);
    let tokens: Vec<[u32; 4]> = vec![[1, 2, 3, 4]];
    let mut d = tokens.clone();
    let error = tagger.loss_and_input_grad(&tokens, &[1], &CrossEntropy, &mut d).unwrap_err();
    assert!(error.to_string().contains("token ids, which have no gradient"), "{error}");
}

#[test]
fn an_fgsm_step_raises_the_loss() {
    // The example of `loss_and_input_grad`'s documentation.
    network! {
        struct Classifier { Input<4> -> fc1: Linear<4, 8> -> Tanh -> fc2: Linear<8, 3> }
    }

    let mut net = Classifier::new(0);
    net.eval();
    let xs = [[0.5, -1.0, 0.25, 2.0]];
    let mut d_xs = [[0.0; 4]];
    let loss = net.loss_and_input_grad(&xs, &[2], &CrossEntropy, &mut d_xs).unwrap();
    // One step of the fast gradient sign method raises the loss.
    let adversarial = [core::array::from_fn(|i| xs[0][i] + 0.1 * d_xs[0][i].signum())];
    assert!(net.evaluate_loss(&adversarial, &[2], &CrossEntropy).unwrap() > loss);
    assert!(net.grads().iter().all(|&g| g == 0.0)); // no parameter gradient was kept
}
