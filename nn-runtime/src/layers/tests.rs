//! Every layer's backward pass against central finite differences, and forward values against direct loops and
//! PyTorch's formulas.

use super::*;
use crate::test_util::{assert_close, random_vec};

/// Samples per check: more than one, so that batch handling (accumulation over samples) is exercised.
pub(super) const N: usize = 3;

/// A layer run forward, with what its backward pass needs: buffers and scratch start as NaN, so a value read
/// before it is written shows.
pub(super) struct Ran {
    /// The output.
    pub y: Vec<f32>,
    /// The state after the pass (recurrent layers).
    pub state: Vec<f32>,
    saved: Vec<f32>,
    scratch: Vec<f32>,
    buffers: Vec<f32>,
}

/// `layer` run forward on `x` (rows of `L::IN`) into `out_rows` output rows, from `state`.
pub(super) fn run<L: Layer>(
    layer: &L,
    params: &[f32],
    x: &[f32],
    out_rows: usize,
    state: &[f32],
    pass: &Pass<'_>,
) -> Ran {
    // Exactly the sizes the layer's rules give, filled with NaN: reading anything unwritten shows.
    let extent =
        Extent { samples: pass.samples, steps: x.len() / L::IN / pass.samples.max(1), backward: pass.backward };
    let mut ran = Ran {
        y: vec![f32::NAN; out_rows * L::OUT],
        state: state.to_vec(),
        saved: vec![f32::NAN; L::saved_len(extent)],
        scratch: vec![f32::NAN; L::scratch_len(extent)],
        buffers: vec![0.0; L::BUFFERS],
    };
    layer.forward(Forward {
        params,
        buffers: &ran.buffers,
        x,
        y: &mut ran.y,
        saved: &mut ran.saved,
        scratch: &mut ran.scratch,
        stats: &[],
        state: &mut ran.state,
        pass,
    });
    ran
}

impl Ran {
    /// `layer`'s parameter gradient and (if `with_dx`) input gradient for output gradient `dy`, after this
    /// forward pass of `x`.
    pub(super) fn backward<L: Layer>(
        mut self,
        layer: &L,
        params: &[f32],
        x: &[f32],
        dy: &[f32],
        with_dx: bool,
        pass: &Pass<'_>,
    ) -> (Vec<f32>, Vec<f32>) {
        let mut grads = vec![f32::NAN; L::PARAMS];
        let mut dx = vec![f32::NAN; x.len()];
        layer.backward(Backward {
            params,
            buffers: &self.buffers,
            x,
            y: &self.y,
            saved: &self.saved,
            dy,
            dx: with_dx.then_some(&mut dx[..]),
            grads: &mut grads,
            scratch: &mut self.scratch,
            stats: &[],
            pass,
        });
        (grads, dx)
    }
}

/// `layer`'s output for `x` (as many rows out as in), with `params` (and no buffers, statistics or state).
pub(super) fn forward<L: Layer>(layer: &L, params: &[f32], x: &[f32], pass: &Pass<'_>) -> Vec<f32> {
    run(layer, params, x, x.len() / L::IN, &[], pass).y
}

/// `layer`'s parameter gradient and (if `with_dx`) input gradient for output gradient `dy`.
pub(super) fn backward<L: Layer>(
    layer: &L,
    params: &[f32],
    x: &[f32],
    dy: &[f32],
    with_dx: bool,
    pass: &Pass<'_>,
) -> (Vec<f32>, Vec<f32>) {
    run(layer, params, x, x.len() / L::IN, &[], pass).backward(layer, params, x, dy, with_dx, pass)
}

/// Checks parameter and input gradients of `layer` against central differences of `f = ⟨r, layer(x)⟩`, in f32
/// with step `EPS`, at inputs uniform in ±`scale`; tolerance `|analytic − numeric| ≤ 2e-3 + 2e-2·|numeric|`.
fn grad_check_at<L: Layer>(layer: L, seed: u64, scale: f32) {
    let mut params = vec![0.0; L::PARAMS];
    layer.init(&mut params, &mut vec![0.0; L::BUFFERS], &mut crate::Rng::new(seed, 0));
    grad_check_params(layer, params, seed, scale);
}

/// [`grad_check_at`] with the given parameters (rather than the layer's initial ones).
pub(super) fn grad_check_params<L: Layer>(layer: L, params: Vec<f32>, seed: u64, scale: f32) {
    const EPS: f32 = 1e-3;
    let x: Vec<f32> = random_vec(N * L::IN, seed + 1).iter().map(|v| v * scale).collect();
    let r = random_vec(N * L::OUT, seed + 2);
    // Training mode: dropout's mask is a function of the pass, so the same mask serves every evaluation.
    let pass = Pass::single(Mode::Train, seed, 3, N);
    let f = |p: &[f32], x: &[f32]| -> f64 {
        forward(&layer, p, x, &pass).iter().zip(&r).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum()
    };
    let (grads, dx) = backward(&layer, &params, &x, &r, true, &pass);
    let compare = |what: &str, i: usize, analytic: f32, numeric: f64| {
        let err = (f64::from(analytic) - numeric).abs();
        assert!(err <= 2e-3 + 2e-2 * numeric.abs(), "{what}[{i}]: analytic {analytic}, numeric {numeric}");
    };
    for i in 0..L::PARAMS {
        let (mut hi, mut lo) = (params.clone(), params.clone());
        hi[i] += EPS;
        lo[i] -= EPS;
        compare("param", i, grads[i], (f(&hi, &x) - f(&lo, &x)) / f64::from(2.0 * EPS));
    }
    for i in 0..x.len() {
        let (mut hi, mut lo) = (x.clone(), x.clone());
        hi[i] += EPS;
        lo[i] -= EPS;
        compare("input", i, dx[i], (f(&params, &hi) - f(&params, &lo)) / f64::from(2.0 * EPS));
    }
    // Backward without an input gradient must give the same parameter gradient, overwriting what was there.
    let (again, _) = backward(&layer, &params, &x, &r, false, &pass);
    assert_eq!(grads, again);
}

pub(super) fn grad_check<L: Layer>(layer: L, seed: u64) {
    grad_check_at(layer, seed, 1.0);
}

#[test]
fn prelu_gradients() {
    grad_check(PReLU::<12, 1>::new(0, 0.25), 11);
    grad_check(PReLU::<12, 3>::new(0, -0.5), 12);
    grad_check(PReLU::<5, 5>::new(0, 0.1), 13);
}

#[test]
fn maxout_gradients() {
    grad_check(Maxout::<5, 3, 2>::new(0, Init::PyTorch), 14);
    grad_check(Maxout::<4, 2, 4>::new(0, Init::XavierNormal), 15);
    grad_check(Maxout::<3, 1, 1>::new(0, Init::PyTorch), 16);
}

#[test]
fn dropout_gradients_in_training_mode() {
    grad_check(Dropout::<16>::new(0.5, 1), 17);
    grad_check(Dropout::<7>::new(0.2, 4), 18);
    grad_check(Dropout::<7>::new(0.0, 4), 19);
}

#[test]
fn linear_gradients() {
    grad_check(Linear::<5, 4, true>::new(0, Init::PyTorch), 1);
    grad_check(Linear::<7, 3, false>::new(0, Init::HeNormal), 2);
    grad_check(Linear::<1, 1, true>::new(0, Init::XavierUniform), 3);
}

#[test]
fn conv_gradients() {
    grad_check(Conv2d::<2, 5, 5, 3, 3, 1, 0, true>::new(0, Init::PyTorch), 4);
    grad_check(Conv2d::<2, 6, 7, 3, 3, 2, 1, true>::new(0, Init::HeUniform), 5);
    grad_check(Conv2d::<1, 4, 4, 2, 4, 1, 2, false>::new(0, Init::XavierNormal), 6);
    grad_check(Conv2d::<3, 5, 5, 2, 1, 1, 0, true>::new(0, Init::PyTorch), 7);
    // The direct path's input gradient (full correlation with flipped kernels) on non-square inputs, at the
    // largest direct kernel, and one size beyond it (im2col).
    grad_check(Conv2d::<3, 9, 7, 4, 5, 1, 0, false>::new(0, Init::PyTorch), 8);
    grad_check(Conv2d::<2, 10, 9, 3, 8, 1, 0, true>::new(0, Init::PyTorch), 9);
    grad_check(Conv2d::<1, 10, 11, 2, 9, 1, 0, true>::new(0, Init::PyTorch), 10);
}

#[test]
fn pooling_gradients() {
    grad_check(MaxPool::<2, 4, 6, 2, 2>::new(), 8);
    grad_check(MaxPool::<1, 5, 5, 3, 1>::new(), 9);
    grad_check(AvgPool::<2, 4, 6, 2, 2>::new(), 10);
    grad_check(AvgPool::<1, 5, 5, 3, 2>::new(), 11);
}

#[test]
fn activation_gradients() {
    grad_check(ReLU::<7>::new(), 12);
    grad_check(LeakyReLU::<7>::new(0.2), 13);
    grad_check(ELU::<7>::new(1.0), 14);
    grad_check(ELU::<7>::new(0.5), 15);
    grad_check(Sigmoid::<7>::new(), 16);
    grad_check(Tanh::<7>::new(), 17);
    grad_check(Softmax::<6>::new(), 18);
    grad_check(Flatten::<6>::new(), 19);
    // Over ±4, to reach the curved parts of the newer activations.
    for (i, scale) in [1.0, 4.0].into_iter().enumerate() {
        let seed = 20 + 10 * i as u64;
        grad_check_at(GELU::<9>::new(0.0), seed, scale);
        grad_check_at(GELU::<9>::new(1.0), seed + 1, scale);
        grad_check_at(SiLU::<9>::new(), seed + 2, scale);
        grad_check_at(Softplus::<9>::new(1.0, 20.0), seed + 3, scale);
        grad_check_at(Softplus::<9>::new(2.5, 3.3), seed + 4, scale);
        grad_check_at(Hardtanh::<9>::new(-0.5, 0.75), seed + 5, scale);
        grad_check_at(Mish::<9>::new(), seed + 6, scale);
        grad_check_at(LogSoftmax::<9>::new(), seed + 7, scale);
    }
}

/// The functions as PyTorch defines them (its documentation's formulas), in f64.
fn pytorch_formula(name: &str, x: f64) -> f64 {
    let softplus =
        |x: f64, beta: f64, threshold: f64| if beta * x > threshold { x } else { (beta * x).exp().ln_1p() / beta };
    let sigmoid = |x: f64| 1.0 / (1.0 + (-x).exp());
    match name {
        "gelu" => 0.5 * x * (1.0 + libm::erf(x / core::f64::consts::SQRT_2)),
        "gelu_tanh" => 0.5 * x * (1.0 + ((2.0 / core::f64::consts::PI).sqrt() * (x + 0.044715 * x.powi(3))).tanh()),
        "silu" => x * sigmoid(x),
        "softplus" => softplus(x, 1.0, 20.0),
        "softplus_beta" => softplus(x, 2.5, 3.3),
        "hardtanh" => x.clamp(-0.5, 0.75),
        "mish" => x * softplus(x, 1.0, 20.0).tanh(),
        other => panic!("no formula for {other}"),
    }
}

#[test]
fn newer_activations_match_pytorchs_formulas() {
    let x: Vec<f32> = (-80..=80).map(|i| i as f32 * 0.1).chain([-30.0, 25.0, 1e-4, -1e-4, 0.0]).collect();
    let pass = Pass::single(Mode::Eval, 0, 0, 1);
    let cases: [(&str, Vec<f32>); 7] = [
        ("gelu", x.iter().map(|&v| GELU::<1>::new(0.0).value(v)).collect()),
        ("gelu_tanh", x.iter().map(|&v| GELU::<1>::new(1.0).value(v)).collect()),
        ("silu", x.iter().map(|&v| SiLU::<1>::new().value(v)).collect()),
        ("softplus", x.iter().map(|&v| Softplus::<1>::new(1.0, 20.0).value(v)).collect()),
        ("softplus_beta", x.iter().map(|&v| Softplus::<1>::new(2.5, 3.3).value(v)).collect()),
        ("hardtanh", x.iter().map(|&v| Hardtanh::<1>::new(-0.5, 0.75).value(v)).collect()),
        ("mish", x.iter().map(|&v| Mish::<1>::new().value(v)).collect()),
    ];
    for (name, got) in cases {
        let want: Vec<f32> = x.iter().map(|&v| pytorch_formula(name, f64::from(v)) as f32).collect();
        assert_close(&got, &want, 2e-6, name);
    }
    // LogSoftmax is log(softmax), row by row.
    let row = [0.5f32, -1.0, 2.0, 0.0, 3.5];
    let got = forward(&LogSoftmax::<5>::new(), &[], &row, &pass);
    let total: f64 = row.iter().map(|&v| f64::from(v).exp()).sum();
    let want: Vec<f32> = row.iter().map(|&v| (f64::from(v) - total.ln()) as f32).collect();
    assert_close(&got, &want, 1e-6, "log_softmax");
}

/// A NaN input gives a NaN output through every layer (as through PyTorch's), in both modes.
#[test]
fn nan_propagates_through_every_activation_and_layer() {
    fn check<L: Layer>(layer: L, what: &str) {
        let mut params = vec![0.0; L::PARAMS];
        layer.init(&mut params, &mut vec![0.0; L::BUFFERS], &mut crate::Rng::new(1, 0));
        for mode in [Mode::Train, Mode::Eval] {
            let mut x = random_vec(L::IN, 5);
            x[0] = f32::NAN;
            let y = forward(&layer, &params, &x, &Pass::single(mode, 1, 1, 1));
            assert!(y.iter().any(|v| v.is_nan()), "{what} ({mode:?}) turned NaN into {y:?}");
        }
    }
    check(ReLU::<4>::new(), "ReLU");
    check(LeakyReLU::<4>::new(0.01), "LeakyReLU");
    check(ELU::<4>::new(1.0), "ELU");
    check(Sigmoid::<4>::new(), "Sigmoid");
    check(Tanh::<4>::new(), "Tanh");
    check(GELU::<4>::new(0.0), "GELU");
    check(GELU::<4>::new(1.0), "GELU tanh");
    check(SiLU::<4>::new(), "SiLU");
    check(Softplus::<4>::new(1.0, 20.0), "Softplus");
    check(Hardtanh::<4>::new(-1.0, 1.0), "Hardtanh");
    check(Mish::<4>::new(), "Mish");
    check(Softmax::<4>::new(), "Softmax");
    check(LogSoftmax::<4>::new(), "LogSoftmax");
    check(PReLU::<4, 1>::new(0, 0.25), "PReLU");
    check(Maxout::<4, 2, 3>::new(0, Init::PyTorch), "Maxout");
    check(Linear::<4, 3, true>::new(0, Init::PyTorch), "Linear");
    check(Dropout::<4>::new(0.5, 0), "Dropout");
    check(MaxPool::<1, 2, 2, 2, 2>::new(), "MaxPool");
    check(AvgPool::<1, 2, 2, 2, 2>::new(), "AvgPool");
    check(Conv2d::<1, 2, 2, 1, 1, 1, 0, true>::new(0, Init::PyTorch), "Conv2d");
}

/// Direct 7-loop convolution, written independently of im2col.
#[allow(clippy::too_many_arguments)]
fn naive_conv(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    (c, h, wd): (usize, usize, usize),
    o: usize,
    k: usize,
    s: usize,
    p: usize,
) -> Vec<f32> {
    let oh = (h + 2 * p - k) / s + 1;
    let ow = (wd + 2 * p - k) / s + 1;
    let mut y = vec![0.0; o * oh * ow];
    for oc in 0..o {
        for i in 0..oh {
            for j in 0..ow {
                let mut acc = b.get(oc).copied().unwrap_or(0.0);
                for ic in 0..c {
                    for ki in 0..k {
                        for kj in 0..k {
                            let (r, q) = ((i * s + ki) as isize - p as isize, (j * s + kj) as isize - p as isize);
                            if r >= 0 && q >= 0 && (r as usize) < h && (q as usize) < wd {
                                acc +=
                                    x[(ic * h + r as usize) * wd + q as usize] * w[((oc * c + ic) * k + ki) * k + kj];
                            }
                        }
                    }
                }
                y[(oc * oh + i) * ow + j] = acc;
            }
        }
    }
    y
}

/// A pass in eval mode, for layers that do not care.
pub(super) const EVAL: Pass<'static> = Pass::single(Mode::Eval, 0, 0, 1);

#[test]
fn conv_forward_matches_a_direct_loop_with_stride_and_padding() {
    type L = Conv2d<3, 9, 8, 4, 3, 2, 1, true>;
    let layer = L::new(0, Init::PyTorch);
    assert_eq!((L::OUT_HEIGHT, L::OUT_WIDTH), (5, 4));
    let mut params = vec![0.0; <L as Layer>::PARAMS];
    layer.init(&mut params, &mut [], &mut crate::Rng::new(1, 0));
    let x = random_vec(2 * <L as Layer>::IN, 2);
    let y = forward(&layer, &params, &x, &EVAL);
    let (w, b) = params.split_at(4 * 3 * 9);
    for n in 0..2 {
        let want = naive_conv(&x[n * 216..(n + 1) * 216], w, b, (3, 9, 8), 4, 3, 2, 1);
        assert_close(&y[n * 80..(n + 1) * 80], &want, 1e-5, "conv forward");
    }
    assert_eq!(layer.weight(&params)[1][2][0][1], w[((3 + 2) * 3) * 3 + 1]);
    assert_eq!(layer.bias(&params).unwrap()[3], b[3]);
}

#[test]
fn linear_forward_by_hand() {
    let layer = Linear::<3, 2, true>::new(0, Init::PyTorch);
    // W = [[1, 2, 3], [-1, 0, 1]], b = [0.5, -0.5]
    let params = [1.0, 2.0, 3.0, -1.0, 0.0, 1.0, 0.5, -0.5];
    let y = forward(&layer, &params, &[1.0, 1.0, 1.0, 2.0, 0.0, -1.0], &EVAL);
    assert_eq!(y, [6.5, -0.5, -0.5, -3.5]);
    let one = forward(&layer, &params, &[2.0, 0.0, -1.0], &EVAL);
    assert_eq!(one, [-0.5, -3.5], "one sample takes the matrix-vector path");
    assert_eq!(layer.weight(&params), &[[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]]);
}

#[test]
fn pool_forward_on_two_channels_by_hand() {
    let x: Vec<f32> = (0..32).map(|v| v as f32).collect(); // 2×4×4
    let y = forward(&MaxPool::<2, 4, 4, 2, 2>::new(), &[], &x, &EVAL);
    assert_eq!(y, [5.0, 7.0, 13.0, 15.0, 21.0, 23.0, 29.0, 31.0]);
    let y = forward(&AvgPool::<2, 4, 4, 2, 2>::new(), &[], &x, &EVAL);
    assert_eq!(y, [2.5, 4.5, 10.5, 12.5, 18.5, 20.5, 26.5, 28.5]);
}
