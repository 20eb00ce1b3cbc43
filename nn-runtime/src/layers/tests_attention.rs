//! `MultiheadAttention` and the positional layers: backward passes against central finite differences (every
//! head count, causal or not, sequences of one length and of mixed lengths, dropout), forward values against
//! PyTorch's equations written out in f64, independence from batch-mates, and the key/value cache against the
//! whole sequence.

use super::recurrent::tests::{grad_check, Chunk, EQUAL, VARIABLE};
use super::tests::run;
use super::*;
use crate::test_util::random_vec;

type Causal4 = MultiheadAttention<4, 2, true, true, 0>;

#[test]
fn attention_gradients_for_every_head_count_causal_or_not() {
    for (seed, lengths) in [(1, EQUAL), (2, VARIABLE)] {
        grad_check(MultiheadAttention::<4, 1, false, true, 0>::new(0, 0.0, 0), lengths, true, Mode::Eval, seed);
        grad_check(MultiheadAttention::<4, 2, false, true, 0>::new(0, 0.0, 0), lengths, true, Mode::Eval, seed);
        grad_check(MultiheadAttention::<8, 4, false, false, 0>::new(0, 0.0, 0), lengths, true, Mode::Eval, seed);
        grad_check(MultiheadAttention::<4, 1, true, true, 0>::new(0, 0.0, 0), lengths, true, Mode::Eval, seed);
        grad_check(Causal4::new(0, 0.0, 0), lengths, true, Mode::Eval, seed);
        grad_check(MultiheadAttention::<8, 4, true, true, 6>::new(0, 0.0, 0), lengths, true, Mode::Eval, seed);
    }
}

#[test]
fn attention_gradients_over_several_blocks_of_queries() {
    // More steps than a block of queries holds (32): a causal block sees the keys up to its last query only.
    let lengths: &[usize] = &[70, 33, 5];
    grad_check(MultiheadAttention::<4, 2, true, true, 0>::new(0, 0.0, 0), lengths, true, Mode::Eval, 5);
    grad_check(MultiheadAttention::<4, 2, false, true, 0>::new(0, 0.0, 0), lengths, true, Mode::Eval, 6);
    grad_check(MultiheadAttention::<4, 1, true, true, 0>::new(0, 0.2, 3), lengths, true, Mode::Train, 7);
}

#[test]
fn attention_gradients_with_dropout_of_the_weights() {
    for (seed, lengths) in [(3, EQUAL), (4, VARIABLE)] {
        grad_check(MultiheadAttention::<4, 2, false, true, 0>::new(0, 0.3, 7), lengths, true, Mode::Train, seed);
        grad_check(MultiheadAttention::<4, 2, true, true, 0>::new(0, 0.5, 7), lengths, true, Mode::Train, seed);
    }
}

/// PyTorch's `multi_head_attention_forward` for one sample of `len` steps, in f64: `q, k, v = x·Wᵢₙᵀ + bᵢₙ`,
/// per head `softmax(q·kᵀ/√d + mask)·v`, then `out_proj`.
fn reference(params: &[f32], x: &[f32], e: usize, heads: usize, causal: bool, len: usize) -> Vec<f64> {
    let d = e / heads;
    let p = |i: usize| f64::from(params[i]);
    let qkv: Vec<f64> = (0..len * 3 * e)
        .map(|k| {
            let (t, o) = (k / (3 * e), k % (3 * e));
            p(3 * e * e + o) + (0..e).map(|j| p(o * e + j) * f64::from(x[t * e + j])).sum::<f64>()
        })
        .collect();
    let mut ctx = vec![0.0; len * e];
    for h in 0..heads {
        for i in 0..len {
            let keys = if causal { i + 1 } else { len };
            let s: Vec<f64> = (0..keys)
                .map(|j| {
                    (0..d).map(|c| qkv[i * 3 * e + h * d + c] * qkv[j * 3 * e + e + h * d + c]).sum::<f64>()
                        / (d as f64).sqrt()
                })
                .collect();
            let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = s.iter().map(|v| (v - max).exp()).sum();
            for (j, sj) in s.iter().enumerate() {
                let w = (sj - max).exp() / z;
                for c in 0..d {
                    ctx[i * e + h * d + c] += w * qkv[j * 3 * e + 2 * e + h * d + c];
                }
            }
        }
    }
    let out = 3 * e * e + 3 * e;
    (0..len * e)
        .map(|k| {
            let (t, o) = (k / e, k % e);
            p(out + e * e + o) + (0..e).map(|j| p(out + o * e + j) * ctx[t * e + j]).sum::<f64>()
        })
        .collect()
}

fn random_params<L: Layer>(seed: u64) -> Vec<f32> {
    random_vec(L::PARAMS, seed).iter().map(|v| v * 0.5).collect()
}

#[test]
fn attention_is_pytorchs_and_ignores_padding() {
    for causal in [false, true] {
        let params = random_params::<Causal4>(11);
        let chunk = Chunk::new(&[5, 2, 4], 4, 12);
        let pass = chunk.pass(Mode::Eval);
        let y = match causal {
            true => run(&Causal4::new(0, 0.0, 0), &params, &chunk.x, 15, &[], &pass).y,
            false => {
                run(&MultiheadAttention::<4, 2, false, true, 0>::new(0, 0.0, 0), &params, &chunk.x, 15, &[], &pass).y
            }
        };
        for (i, &len) in chunk.lengths.iter().enumerate() {
            let want = reference(&params, &chunk.x[i * 5 * 4..], 4, 2, causal, len);
            for (k, w) in want.iter().enumerate() {
                let got = f64::from(y[i * 5 * 4 + k]);
                assert!((got - w).abs() <= 1e-5 * (1.0 + w.abs()), "sample {i} value {k}: {got} against {w}");
            }
        }
    }
}

#[test]
fn a_samples_outputs_and_gradients_do_not_depend_on_its_batch_mates() {
    let layer = MultiheadAttention::<8, 2, false, true, 0>::new(0, 0.0, 0);
    let params = random_params::<MultiheadAttention<8, 2, false, true, 0>>(21);
    let alone = Chunk::new(&[3], 8, 22);
    let mut mates = Chunk::new(&[6, 3, 2], 8, 23);
    // Sample 1 of the batch is the lone sample, padded to the batch's 6 steps.
    mates.x[6 * 8..6 * 8 + 3 * 8].copy_from_slice(&alone.x);
    let (pass_alone, pass_mates) = (alone.pass(Mode::Train), mates.pass(Mode::Train));
    let ran_alone = run(&layer, &params, &alone.x, 3, &[], &pass_alone);
    let ran_mates = run(&layer, &params, &mates.x, 18, &[], &pass_mates);
    assert_eq!(ran_alone.y[..], ran_mates.y[6 * 8..9 * 8], "outputs");
    let dy_alone = random_vec(3 * 8, 24);
    let mut dy_mates = vec![0.0; 18 * 8];
    dy_mates[6 * 8..9 * 8].copy_from_slice(&dy_alone);
    let (g_alone, dx_alone) = ran_alone.backward(&layer, &params, &alone.x, &dy_alone, true, &pass_alone);
    let (g_mates, dx_mates) = ran_mates.backward(&layer, &params, &mates.x, &dy_mates, true, &pass_mates);
    assert_eq!(dx_alone[..], dx_mates[6 * 8..9 * 8], "input gradients");
    for (a, b) in g_alone.iter().zip(&g_mates) {
        assert!((a - b).abs() <= 1e-6 * (1.0 + a.abs()), "parameter gradients: {a} against {b}");
    }
}

/// The largest difference between two rows, in units of the last place of the row's largest value (a sum's
/// rounding is relative to its terms, not to a result that cancels to near 0).
pub(super) fn row_ulps(got: &[f32], want: &[f32]) -> f32 {
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let ulp = f32::EPSILON * scale;
    got.iter().zip(want).map(|(a, b)| (a - b).abs() / ulp).fold(0.0, f32::max)
}

#[test]
fn the_key_value_cache_gives_the_whole_sequences_outputs_step_by_step() {
    type Cached = MultiheadAttention<8, 2, true, true, 7>;
    let layer = Cached::new(0, 0.0, 0);
    let params = random_params::<Cached>(31);
    let steps = 7;
    let x = random_vec(steps * 8, 32);
    let whole = Pass { backward: false, steps, ..Pass::single(Mode::Eval, 0, 0, 1) };
    let mut state = vec![0.0; Cached::STATE];
    let ran = run(&layer, &params, &x, steps, &state, &whole);
    assert_eq!(ran.state[0], 7.0, "the cache holds the 7 steps");
    let one = Pass { backward: false, ..Pass::single(Mode::Eval, 0, 0, 1) };
    let mut worst = 0.0f32;
    for t in 0..steps {
        let step = run(&layer, &params, &x[t * 8..(t + 1) * 8], 1, &state, &one);
        state = step.state;
        worst = worst.max(row_ulps(&step.y, &ran.y[t * 8..(t + 1) * 8]));
    }
    // The cache holds the same keys and values, up to the last bits of the projection (below).
    for (a, b) in state.iter().zip(&ran.state) {
        assert!((a - b).abs() <= 1e-6 * (1.0 + b.abs()), "cache: {a} against {b}");
    }
    // The projections of one row are matrix-vector products, of several rows packed products: they sum in
    // different orders, so a step differs from the whole in the last bits.
    assert!(worst <= 2.0, "{worst} ulp");
}

#[test]
fn positional_embedding_gradients_and_values() {
    for (seed, lengths) in [(41, EQUAL), (42, VARIABLE)] {
        grad_check(PositionalEmbedding::<5, 3>::new(0), lengths, true, Mode::Eval, seed);
        grad_check(PositionalEncoding::<4, 6>::new(), lengths, true, Mode::Eval, seed);
    }
    let layer = PositionalEmbedding::<4, 2>::new(0);
    let params: Vec<f32> = (0..8).map(|v| v as f32).collect();
    let chunk = Chunk::new(&[3, 1], 2, 43);
    let y = run(&layer, &params, &chunk.x, 6, &[0.0; 2], &chunk.pass(Mode::Eval)).y;
    for (k, (y, x)) in y.iter().zip(&chunk.x).enumerate() {
        let (sample, t, j) = (k / 6, k / 2 % 3, k % 2);
        let added = if t < chunk.lengths[sample] { params[t * 2 + j] } else { 0.0 };
        assert_eq!(*y, x + added, "value {k}");
    }
}

#[test]
fn to_seq_is_flatten_then_transpose_and_its_gradient_the_reverse() {
    // Two samples of 3 channels of a 2×2 image: 4 steps of 3 values each.
    let layer = ToSeq::<3, 4>::new();
    let x: Vec<f32> = (0..24).map(|v| v as f32).collect();
    let pass = Pass::single(Mode::Train, 0, 0, 2);
    let ran = run(&layer, &[], &x, 8, &[], &pass);
    // Sample 1, channel 2, position 3 becomes step 3's value 2.
    assert_eq!(ran.y[12 + 3 * 3 + 2], x[12 + 2 * 4 + 3]);
    assert_eq!(ran.y[..6], [0.0, 4.0, 8.0, 1.0, 5.0, 9.0]);
    // The gradient is the transpose back: with dy = y, dx = x.
    let dy = ran.y.clone();
    let (_, dx) = ran.backward(&layer, &[], &x, &dy, true, &pass);
    assert_eq!(dx, x);
}

#[test]
fn sinusoids_are_vaswanis() {
    // PE(t, 2i) = sin(t / 10000^(2i/E)), PE(t, 2i+1) = cos(…), for E = 6.
    for t in [0usize, 1, 5, 100] {
        for j in 0..6 {
            let angle = t as f64 / 10000f64.powf((j - j % 2) as f64 / 6.0);
            let want = if j % 2 == 0 { angle.sin() } else { angle.cos() };
            assert!((f64::from(sinusoid(t, j, 6)) - want).abs() < 1e-7, "PE({t}, {j})");
        }
    }
}

#[test]
fn positions_continue_from_the_state_in_a_stream() {
    let layer = PositionalEncoding::<8, 4>::new();
    let x = vec![0.0; 4];
    let one = Pass { backward: false, ..Pass::single(Mode::Eval, 0, 0, 1) };
    let mut state = vec![0.0];
    for t in 0..3 {
        let ran = run(&layer, &[], &x, 1, &state, &one);
        let want: Vec<f32> = (0..4).map(|j| sinusoid(t, j, 4)).collect();
        assert_eq!(ran.y, want, "step {t}");
        state = ran.state;
    }
    assert_eq!(state, [3.0]);
}
