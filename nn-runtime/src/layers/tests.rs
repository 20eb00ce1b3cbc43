//! Every layer's backward pass against central finite differences, and forward values against direct loops.

use super::*;
use crate::test_util::{assert_close, random_vec};

/// A pass in eval mode, for layers that do not care.
const EVAL: Pass<'static> = Pass { mode: Mode::Eval, seed: 0, step: 0, first: 0, batch: 1, norms: &[] };

/// Samples per check: more than one, so that batch handling (accumulation over samples) is exercised.
const N: usize = 3;

/// Checks parameter and input gradients of `layer` against central differences of `f = ⟨r, layer(x)⟩`, in f32
/// with step `EPS`; tolerance `|analytic − numeric| ≤ 2e-3 + 2e-2·|numeric|`.
fn grad_check<L: Layer>(layer: L, seed: u64) {
    const EPS: f32 = 1e-3;
    let mut params = vec![0.0; L::PARAMS];
    layer.init(&mut params, &mut crate::Rng::new(seed, 0));
    let x = random_vec(N * L::IN, seed + 1);
    let r = random_vec(N * L::OUT, seed + 2);
    let mut scratch = vec![0.0; L::SCRATCH];
    // Training mode: dropout's mask is a function of the pass, so the same mask serves every evaluation.
    let pass = Pass::single(Mode::Train, seed, 3, N);
    let f = |p: &[f32], x: &[f32], scratch: &mut [f32]| -> f64 {
        let mut y = vec![0.0; N * L::OUT];
        layer.forward(p, x, &mut y, scratch, &pass);
        y.iter().zip(&r).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum()
    };
    let mut y = vec![0.0; N * L::OUT];
    layer.forward(&params, &x, &mut y, &mut scratch, &pass);
    let mut grads = vec![0.0; L::PARAMS];
    let mut dx = vec![f32::NAN; N * L::IN];
    layer.backward(&params, Backward { x: &x, y: &y, dy: &r, dx: Some(&mut dx), pass }, &mut grads, &mut scratch);

    let compare = |what: &str, i: usize, analytic: f32, numeric: f64| {
        let err = (f64::from(analytic) - numeric).abs();
        assert!(err <= 2e-3 + 2e-2 * numeric.abs(), "{what}[{i}]: analytic {analytic}, numeric {numeric}");
    };
    for i in 0..L::PARAMS {
        let (mut hi, mut lo) = (params.clone(), params.clone());
        hi[i] += EPS;
        lo[i] -= EPS;
        let numeric = (f(&hi, &x, &mut scratch) - f(&lo, &x, &mut scratch)) / f64::from(2.0 * EPS);
        compare("param", i, grads[i], numeric);
    }
    for i in 0..x.len() {
        let (mut hi, mut lo) = (x.clone(), x.clone());
        hi[i] += EPS;
        lo[i] -= EPS;
        let numeric = (f(&params, &hi, &mut scratch) - f(&params, &lo, &mut scratch)) / f64::from(2.0 * EPS);
        compare("input", i, dx[i], numeric);
    }
    // Backward without an input gradient must give the same parameter gradient, overwriting what was there.
    let mut again = vec![f32::NAN; L::PARAMS];
    layer.backward(&params, Backward { x: &x, y: &y, dy: &r, dx: None, pass }, &mut again, &mut scratch);
    assert_eq!(grads, again);
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
    grad_check(MaxPool2d::<2, 4, 6, 2, 2>, 8);
    grad_check(MaxPool2d::<1, 5, 5, 3, 1>, 9);
    grad_check(AvgPool2d::<2, 4, 6, 2, 2>, 10);
    grad_check(AvgPool2d::<1, 5, 5, 3, 2>, 11);
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
    grad_check(Flatten::<6>, 19);
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

#[test]
fn conv_forward_matches_a_direct_loop_with_stride_and_padding() {
    type L = Conv2d<3, 9, 8, 4, 3, 2, 1, true>;
    let layer = L::new(0, Init::PyTorch);
    assert_eq!((L::OUT_HEIGHT, L::OUT_WIDTH), (5, 4));
    let mut params = vec![0.0; <L as Layer>::PARAMS];
    layer.init(&mut params, &mut crate::Rng::new(1, 0));
    let x = random_vec(2 * <L as Layer>::IN, 2);
    let mut y = vec![0.0; 2 * <L as Layer>::OUT];
    layer.forward(&params, &x, &mut y, &mut vec![0.0; <L as Layer>::SCRATCH], &EVAL);
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
    let mut y = [0.0; 4];
    let mut scratch = vec![0.0; <Linear<3, 2, true> as Layer>::SCRATCH];
    layer.forward(&params, &[1.0, 1.0, 1.0, 2.0, 0.0, -1.0], &mut y, &mut scratch, &EVAL);
    assert_eq!(y, [6.5, -0.5, -0.5, -3.5]);
    let mut one = [0.0; 2];
    layer.forward(&params, &[2.0, 0.0, -1.0], &mut one, &mut scratch, &EVAL);
    assert_eq!(one, [-0.5, -3.5], "one sample takes the matrix-vector path");
    assert_eq!(layer.weight(&params), &[[1.0, 2.0, 3.0], [-1.0, 0.0, 1.0]]);
}

#[test]
fn pool_forward_on_two_channels_by_hand() {
    let x: Vec<f32> = (0..32).map(|v| v as f32).collect(); // 2×4×4
    let mut y = [0.0; 8];
    MaxPool2d::<2, 4, 4, 2, 2>.forward(&[], &x, &mut y, &mut [], &EVAL);
    assert_eq!(y, [5.0, 7.0, 13.0, 15.0, 21.0, 23.0, 29.0, 31.0]);
    AvgPool2d::<2, 4, 4, 2, 2>.forward(&[], &x, &mut y, &mut [], &EVAL);
    assert_eq!(y, [2.5, 4.5, 10.5, 12.5, 18.5, 20.5, 26.5, 28.5]);
}
