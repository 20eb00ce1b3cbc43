//! Weight penalties, max-norm and gradient clipping (`nn::regularize`), alone and inside `fit`.

use nn::prelude::*;
use nn::regularize::{add_weight_penalty, apply_max_norm, clip_grad_norm, clip_grad_value};
use std::path::Path;

network! {
    struct Mlp {
        Input<784> -> fc1: Linear<784, 32> -> ReLU -> fc2: Linear<32, 10>
    }
}

#[test]
fn penalties_match_their_finite_differences_and_spare_biases() {
    let net = Mlp::new(1);
    // Evaluate away from the kink of |w| at 0, which a difference step of 1e-3 could cross.
    let params: Vec<f32> = net.params.iter().map(|&w| if w.abs() < 0.01 { 0.05f32.copysign(w) } else { w }).collect();
    let (l1, l2) = (0.01, 0.1);
    let mut grads = vec![0.0; Mlp::PARAMS];
    let value = add_weight_penalty::<Mlp>(&params, &mut grads, l1, l2);
    let penalty = |p: &[f32]| -> f64 {
        let mut g = vec![0.0; Mlp::PARAMS];
        f64::from(add_weight_penalty::<Mlp>(p, &mut g, l1, l2))
    };
    assert!((f64::from(value) - penalty(&params)).abs() < 1e-6);
    for i in (0..Mlp::PARAMS).step_by(97) {
        let (mut hi, mut lo) = (params.clone(), params.clone());
        hi[i] += 1e-3;
        lo[i] -= 1e-3;
        let numeric = (penalty(&hi) - penalty(&lo)) / 2e-3;
        assert!((numeric - f64::from(grads[i])).abs() < 1e-3, "param {i}: {numeric} vs {}", grads[i]);
    }
    let bias = Mlp::TENSORS.iter().find(|t| t.name == "fc1.bias").unwrap();
    assert!(grads[bias.offset..bias.offset + bias.len()].iter().all(|&g| g == 0.0), "biases are not penalised");
}

#[test]
fn clipping_bounds_the_gradient() {
    let mut g = vec![3.0f32, -4.0, 0.0];
    assert_eq!(clip_grad_norm(&mut g, 1.0), 5.0);
    let norm = g.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5 && (g[0] / g[1] + 0.75).abs() < 1e-6, "{g:?}");
    let mut small = vec![0.1f32, 0.2];
    clip_grad_norm(&mut small, 1.0);
    assert_eq!(small, [0.1, 0.2], "short gradients are left alone");
    let mut v = vec![-5.0f32, 0.5, 2.0];
    clip_grad_value(&mut v, 1.0);
    assert_eq!(v, [-1.0, 0.5, 1.0]);
}

#[test]
fn max_norm_leaves_no_unit_above_c() {
    let mut net = Mlp::new(2);
    net.params.iter_mut().for_each(|p| *p *= 50.0);
    let bias_before = net.param("fc1.bias").unwrap().to_vec();
    apply_max_norm::<Mlp>(&mut net.params, 3.0);
    for w in net.fc1.weight(&net.params).iter() {
        let n = w.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!(n <= 3.0 + 1e-4, "{n}");
    }
    assert_eq!(net.param("fc1.bias").unwrap(), &bias_before[..]);
}

#[test]
fn fit_applies_max_norm_penalties_and_clipping() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist-sample");
    let (train, test) = load_mnist::<[f32; 784]>(&dir).unwrap();
    let quiet = |r| TrainConfig {
        epochs: 2,
        batch_size: 32,
        verbose: false,
        progress: false,
        regularization: r,
        ..Default::default()
    };
    let mut plain = Mlp::new(3);
    let mut opt = Adam::new(AdamConfig { lr: 1e-2, ..Default::default() });
    fit(&mut plain, &mut opt, &CrossEntropy, &train, Some(&test), &quiet(Regularization::default())).unwrap();
    let mut constrained = Mlp::new(3);
    let mut opt = Adam::new(AdamConfig { lr: 1e-2, ..Default::default() });
    let r = Regularization { l2: 1e-2, max_norm: Some(0.5), clip_norm: Some(1.0), ..Default::default() };
    let history = fit(&mut constrained, &mut opt, &CrossEntropy, &train, Some(&test), &quiet(r)).unwrap();
    assert!(history.last().unwrap().valid_accuracy.unwrap() > 0.6);
    // The largest gradient norm of an epoch is measured before clipping: above the clip (1) here, and at least
    // the first step's norm, recomputed on the first batch (the run is not shuffled).
    let mut fresh = Mlp::new(3);
    fresh.train();
    let first: Vec<usize> = (0..32).collect();
    let (xs, ts): (Vec<_>, Vec<_>) = first.iter().map(|&i| (train.inputs[i], train.targets[i])).unzip();
    fresh.loss_and_grad(&xs, &ts, &CrossEntropy).unwrap();
    let mut grads = fresh.grads().to_vec();
    nn::regularize::add_weight_penalty::<Mlp>(&fresh.params, &mut grads, 0.0, 1e-2);
    let first_norm = nn::regularize::grad_norm(&grads);
    let largest = history.epochs[0].largest_gradient.unwrap();
    assert!(largest >= first_norm && largest > 1.0, "largest {largest}, first step {first_norm}");
    let max_row = |net: &Mlp| {
        net.fc1.weight(&net.params).iter().map(|w| w.iter().map(|v| v * v).sum::<f32>().sqrt()).fold(0.0, f32::max)
    };
    assert!(max_row(&constrained) <= 0.5 + 1e-4);
    assert!(max_row(&plain) > 0.5, "the constraint was needed: {}", max_row(&plain));
    let bad = Regularization { l1: -1.0, ..Default::default() };
    let err = fit(&mut plain, &mut opt, &CrossEntropy, &train, None, &quiet(bad)).unwrap_err();
    assert_eq!(err.to_string(), "invalid training setting `l1`: -1 must be a finite number ≥ 0");
}

network! {
    struct Normed {
        Input<8> -> fc: Linear<8, 4> -> bn: BatchNorm -> act: PReLU<4> -> out: Linear<4, 2>
    }
}

#[test]
fn penalties_and_max_norm_spare_batch_norm_scales_and_prelu_slopes() {
    let mut net = Normed::new(0);
    net.params.iter_mut().for_each(|p| *p = 9.0);
    let mut grads = vec![0.0; Normed::PARAMS];
    add_weight_penalty::<Normed>(&net.params, &mut grads, 0.1, 0.1);
    apply_max_norm::<Normed>(&mut net.params, 1.0);
    for name in ["bn.weight", "bn.bias", "act.weight", "fc.bias", "out.bias"] {
        let t = Normed::TENSORS.iter().find(|t| t.name == name).unwrap();
        assert!(grads[t.offset..t.offset + t.len()].iter().all(|&g| g == 0.0), "{name} penalised");
        assert!(net.param(name).unwrap().iter().all(|&v| v == 9.0), "{name} constrained");
    }
    let fc = Normed::TENSORS.iter().find(|t| t.name == "fc.weight").unwrap();
    assert!(grads[fc.offset..fc.offset + fc.len()].iter().all(|&g| g > 0.0), "weight matrices are penalised");
    assert!(net.param("fc.weight").unwrap().iter().all(|&v| v < 9.0), "and constrained");
}

network! {
    struct Recurrent {
        Input<Seq, 3> -> lstm: LSTM<3, 4, bidirectional = true> -> Last -> out: Linear<8, 2>
    }
}

#[test]
fn penalties_and_max_norm_reach_recurrent_weight_matrices_but_not_their_biases() {
    let mut net = Recurrent::new(0);
    net.params.iter_mut().for_each(|p| *p = 9.0);
    let mut grads = vec![0.0; Recurrent::PARAMS];
    add_weight_penalty::<Recurrent>(&net.params, &mut grads, 0.1, 0.1);
    apply_max_norm::<Recurrent>(&mut net.params, 1.0);
    for t in Recurrent::TENSORS {
        let penalised = grads[t.offset..t.offset + t.len()].iter().all(|&g| g > 0.0);
        let constrained = net.param(t.name).unwrap().iter().all(|&v| v < 9.0);
        let weight = t.name.contains(".weight");
        assert_eq!((penalised, constrained), (weight, weight), "{}", t.name);
    }
}

network! {
    /// The new layers inside blocks: penalties and max-norm reach their weight matrices, nothing else.
    struct Generative {
        Input<Tokens<10>> -> emb: Embedding<10, 16> -> Unflatten<1, 4, 4>
        -> block: Residual { up: ConvTranspose2d<1, 1, 3, padding = 1> -> ReLU }
        -> Flatten -> ln: LayerNorm<16> -> out: Linear<16, 2>
    }
}

#[test]
fn penalties_and_max_norm_reach_the_weights_of_new_layers_inside_blocks() {
    let mut net = Generative::new(0);
    net.params.iter_mut().for_each(|p| *p = 9.0);
    let mut grads = vec![0.0; Generative::PARAMS];
    add_weight_penalty::<Generative>(&net.params, &mut grads, 0.1, 0.1);
    apply_max_norm::<Generative>(&mut net.params, 1.0);
    for t in Generative::TENSORS {
        let penalised = grads[t.offset..t.offset + t.len()].iter().all(|&g| g > 0.0);
        let constrained = net.param(t.name).unwrap().iter().all(|&v| v < 9.0);
        let matrix = t.name.ends_with(".weight") && t.shape.len() >= 2;
        assert_eq!((penalised, constrained), (matrix, matrix), "{}", t.name);
    }
    // A transposed convolution's units are its output channels: `[in, out, K, K]`'s `[:, o]`.
    let mut net = Wide::new(0);
    net.params.iter_mut().enumerate().for_each(|(i, p)| *p = 1.0 + i as f32 * 0.01);
    apply_max_norm::<Wide>(&mut net.params, 2.0);
    let w = net.up.weight(&net.params);
    for o in 0..3 {
        let norm = w.iter().flat_map(|per_in| per_in[o].iter().flatten()).map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 2.0).abs() < 1e-4, "output channel {o}: {norm}");
    }
}

network! {
    struct Wide { Input<2, 3, 3> -> up: ConvTranspose2d<2, 3, 2, stride = 2> }
}
