//! The layers that networks which branch are built from — `LayerNorm`, `Embedding`, `ConvTranspose2d`,
//! `Upsample`, `GlobalAvgPool`, `Identity`, `Unflatten` — against central finite differences and against
//! PyTorch's equations written out as direct loops in f64.

use super::tests::{backward, forward, grad_check, grad_check_params, EVAL, N};
use super::*;
use crate::test_util::{assert_close, random_vec};

#[test]
fn layer_norm_gradients() {
    // Random γ and β, not the initial ones and zeros, so that every term of the gradient is exercised.
    grad_check_params(LayerNorm::<6, 6, true, true>::new(0, 1e-5), random_vec(12, 3), 31, 1.0);
    grad_check_params(LayerNorm::<4, 12, true, true>::new(0, 1e-5), random_vec(8, 4), 32, 2.0);
    grad_check_params(LayerNorm::<5, 5, true, false>::new(0, 1e-3), random_vec(5, 5), 33, 1.0);
    grad_check(LayerNorm::<7, 7, false, false>::new(0, 1e-5), 34);
}

#[test]
fn layer_norm_matches_pytorchs_formula() {
    // Groups of 4 (an image's rows of 4, or a vector of 4), affine with random γ, β.
    let layer = LayerNorm::<4, 8, true, true>::new(0, 1e-5);
    let params = random_vec(8, 7);
    let x = random_vec(3 * 8, 8);
    let y = forward(&layer, &params, &x, &EVAL);
    for (xs, ys) in x.chunks_exact(4).zip(y.chunks_exact(4)) {
        let mean = xs.iter().map(|&v| f64::from(v)).sum::<f64>() / 4.0;
        let var = xs.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / 4.0;
        let want: Vec<f32> = (0..4)
            .map(|j| {
                ((f64::from(xs[j]) - mean) / (var + 1e-5).sqrt() * f64::from(params[j]) + f64::from(params[4 + j]))
                    as f32
            })
            .collect();
        assert_close(ys, &want, 2e-6, "layer norm");
    }
    assert_eq!(layer.weight(&params).unwrap()[2], params[2]);
    assert_eq!(layer.bias(&params).unwrap()[1], params[5]);
}

#[test]
fn embedding_looks_up_rows_and_scatters_their_gradients() {
    type E = Embedding<5, 3>;
    let layer = E::new(0, Some(4));
    let mut params = vec![0.0; <E as Layer>::PARAMS];
    layer.init(&mut params, &mut [], &mut crate::Rng::new(2, 0));
    assert_eq!(layer.weight(&params)[4], [0.0; 3], "the padding row starts at zeros");
    let ids: Vec<f32> = [1u32, 4, 1, 0].iter().map(|&id| f32::from_bits(id)).collect();
    let pass = Pass::single(Mode::Train, 0, 0, 4);
    let y = forward(&layer, &params, &ids, &pass);
    assert_eq!(y[..3], params[3..6]);
    assert_eq!(y[6..9], params[3..6]);
    assert_eq!(y[9..], params[..3]);
    let dy = random_vec(12, 3);
    let (grads, dx) = backward(&layer, &params, &ids, &dy, true, &pass);
    let want: Vec<f32> = (0..3).map(|j| dy[j] + dy[6 + j]).collect();
    assert_eq!(grads[3..6], want[..], "id 1's gradient is the sum of its two rows'");
    assert_eq!(grads[..3], dy[9..12]);
    assert!(grads[12..].iter().all(|&g| g == 0.0), "the padding row gets no gradient");
    assert!(dx.iter().all(|&d| d == 0.0), "ids have no gradient");
}

#[test]
#[should_panic(expected = "token id 7 is out of range: the vocabulary has 5 tokens")]
fn an_embedding_refuses_an_id_beyond_its_vocabulary() {
    let layer = Embedding::<5, 2>::new(0, None);
    forward(&layer, &[0.0; 10], &[f32::from_bits(7)], &EVAL);
}

/// PyTorch's transposed convolution as a scatter: input `(ci, i, j)` adds `x·w[ci][co][ki][kj]` at output
/// `(co, i·S − P + ki, j·S − P + kj)`, the rows and columns `output_padding` adds included.
#[allow(clippy::too_many_arguments)]
fn naive_conv_transpose(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    (c, h, wd): (usize, usize, usize),
    o: usize,
    k: usize,
    s: usize,
    p: usize,
    op: usize,
) -> Vec<f32> {
    let (oh, ow) = ((h - 1) * s + k + op - 2 * p, (wd - 1) * s + k + op - 2 * p);
    let mut y = vec![0.0f64; o * oh * ow];
    for co in 0..o {
        y[co * oh * ow..(co + 1) * oh * ow].fill(b.get(co).map_or(0.0, |&v| f64::from(v)));
    }
    for ci in 0..c {
        for i in 0..h {
            for j in 0..wd {
                for co in 0..o {
                    for ki in 0..k {
                        for kj in 0..k {
                            let (r, q) = ((i * s + ki) as isize - p as isize, (j * s + kj) as isize - p as isize);
                            if r >= 0 && q >= 0 && (r as usize) < oh && (q as usize) < ow {
                                y[(co * oh + r as usize) * ow + q as usize] += f64::from(x[(ci * h + i) * wd + j])
                                    * f64::from(w[((ci * o + co) * k + ki) * k + kj]);
                            }
                        }
                    }
                }
            }
        }
    }
    y.into_iter().map(|v| v as f32).collect()
}

#[test]
fn conv_transpose_matches_pytorchs_scatter() {
    macro_rules! case {
        ($c:literal, $h:literal, $w:literal, $o:literal, $k:literal, $s:literal, $p:literal, $op:literal, $bias:literal) => {{
            type L = ConvTranspose2d<$c, $h, $w, $o, $k, $s, $p, $op, $bias>;
            let layer = L::new(0, Init::PyTorch);
            let mut params = vec![0.0; <L as Layer>::PARAMS];
            layer.init(&mut params, &mut [], &mut crate::Rng::new(3, 0));
            let x = random_vec(2 * <L as Layer>::IN, 4);
            let y = forward(&layer, &params, &x, &EVAL);
            let (w, b) = params.split_at($c * $o * $k * $k);
            let out = <L as Layer>::OUT;
            for n in 0..2 {
                let input = &x[n * <L as Layer>::IN..(n + 1) * <L as Layer>::IN];
                let want = naive_conv_transpose(input, w, b, ($c, $h, $w), $o, $k, $s, $p, $op);
                assert_close(&y[n * out..(n + 1) * out], &want, 1e-5, "conv transpose");
            }
        }};
    }
    case!(2, 3, 3, 3, 3, 1, 0, 0, true);
    case!(3, 4, 5, 2, 4, 2, 1, 0, true);
    case!(2, 3, 4, 2, 3, 2, 1, 1, false);
    case!(1, 7, 7, 2, 4, 2, 1, 0, true);
    assert_eq!((ConvTranspose2d::<64, 7, 7, 32, 4, 2, 1, 0, true>::OUT_HEIGHT), 14);
}

#[test]
fn conv_transpose_gradients() {
    grad_check(ConvTranspose2d::<2, 3, 3, 2, 3, 1, 0, 0, true>::new(0, Init::PyTorch), 41);
    grad_check(ConvTranspose2d::<2, 3, 4, 3, 4, 2, 1, 0, true>::new(0, Init::PyTorch), 42);
    grad_check(ConvTranspose2d::<1, 3, 3, 2, 3, 2, 1, 1, false>::new(0, Init::HeUniform), 43);
}

#[test]
fn upsample_repeats_pixels_and_sums_their_gradients() {
    let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // 1×2×3
    let y = forward(&Upsample::<1, 2, 3, 2>::new(), &[], &x, &EVAL);
    #[rustfmt::skip]
    assert_eq!(y, [
        1.0, 1.0, 2.0, 2.0, 3.0, 3.0,
        1.0, 1.0, 2.0, 2.0, 3.0, 3.0,
        4.0, 4.0, 5.0, 5.0, 6.0, 6.0,
        4.0, 4.0, 5.0, 5.0, 6.0, 6.0,
    ]);
    grad_check(Upsample::<2, 2, 3, 2>::new(), 44);
    grad_check(Upsample::<1, 3, 1, 3>::new(), 45);
}

#[test]
fn global_average_pooling_is_each_channels_mean() {
    let x: Vec<f32> = (0..12).map(|v| v as f32).collect(); // 3×2×2
    let y = forward(&GlobalAvgPool::<3, 2, 2>::new(), &[], &x, &EVAL);
    assert_eq!(y, [1.5, 5.5, 9.5]);
    grad_check(GlobalAvgPool::<3, 2, 2>::new(), 46);
    grad_check(GlobalAvgPool::<2, 3, 5>::new(), 47);
}

#[test]
fn identity_and_unflatten_pass_values_through() {
    grad_check(Identity::<5>::new(), 48);
    grad_check(Unflatten::<2, 2, 3>::new(), 49);
    let x = random_vec(N * 12, 9);
    assert_eq!(forward(&Unflatten::<2, 2, 3>::new(), &[], &x, &EVAL), x);
}

/// A chunk of 5 samples through a layer whose column matrix holds 51,200 values per sample runs in groups of 2,
/// 2 and 1 (`conv_groups`); each sample's output and input gradient must be what it gets alone, and the weight
/// gradient the sum of the samples' own.
fn groups_agree_with_samples_alone<L: Layer>(layer: L, seed: u64) {
    const SAMPLES: usize = 5;
    let mut params = vec![0.0; L::PARAMS];
    layer.init(&mut params, &mut [], &mut crate::Rng::new(seed, 0));
    let x = random_vec(SAMPLES * L::IN, seed + 1);
    let dy = random_vec(SAMPLES * L::OUT, seed + 2);
    let pass = crate::net::Pass::single(crate::net::Mode::Train, seed, 0, SAMPLES);
    let y = forward(&layer, &params, &x, &pass);
    let (dw, dx) = backward(&layer, &params, &x, &dy, true, &pass);
    let alone_pass = crate::net::Pass::single(crate::net::Mode::Train, seed, 0, 1);
    let mut dw_sum = vec![0.0f32; L::PARAMS];
    for s in 0..SAMPLES {
        let (xs, dys) = (&x[s * L::IN..][..L::IN], &dy[s * L::OUT..][..L::OUT]);
        assert_close(&y[s * L::OUT..][..L::OUT], &forward(&layer, &params, xs, &alone_pass), 1e-6, "output");
        let (dw_alone, dx_alone) = backward(&layer, &params, xs, dys, true, &alone_pass);
        assert_close(&dx[s * L::IN..][..L::IN], &dx_alone, 1e-6, "input gradient");
        dw_sum.iter_mut().zip(&dw_alone).for_each(|(a, b)| *a += b);
    }
    assert_close(&dw, &dw_sum, 1e-4, "weight gradient");
}

#[test]
fn convolutions_over_groups_of_samples_agree_with_samples_alone() {
    groups_agree_with_samples_alone(Conv2d::<8, 32, 32, 2, 5, 2, 2, true>::new(0, Init::PyTorch), 51);
    groups_agree_with_samples_alone(ConvTranspose2d::<2, 16, 16, 8, 5, 2, 2, 1, true>::new(0, Init::PyTorch), 52);
}
