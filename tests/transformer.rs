//! Transformers declared in the DSL: gradients of whole networks by finite differences (a GPT-shaped stack on
//! token ids, encoder blocks on sequences of mixed lengths), generation with the key/value cache against
//! `forward` on each prefix, PyTorch's names, and sequences longer than the positions.

mod common;

use common::{check_input_gradients, check_param_gradients, sequences};
use nn::prelude::*;

network! {
    /// The issue's `CharGpt`, small: 2 pre-norm blocks, causal attention, learned positions.
    pub struct TinyGpt {
        Input<Seq<6>, Tokens<11>>
        -> tok: Embedding<11, 8> -> pos: PositionalEmbedding<6, 8>
        -> blocks: Repeat<2> {
               Residual { ln1: LayerNorm<8> -> attn: MultiheadAttention<8, 2, causal = true> }
               -> Residual { ln2: LayerNorm<8> -> fc1: Linear<8, 16> -> GELU -> fc2: Linear<16, 8> }
           }
        -> ln_f: LayerNorm<8> -> head: Linear<8, 11>
    }

    /// Post-norm encoder blocks (PyTorch's `TransformerEncoderLayer` order) on sequences of any length, with
    /// fixed positions and a mean over time.
    pub struct Encoder {
        Input<Seq, 8>
        -> PositionalEncoding<16>
        -> layers: Repeat<2> {
               Residual { self_attn: MultiheadAttention<8, 4> } -> norm1: LayerNorm<8>
               -> Residual { linear1: Linear<8, 12> -> ReLU -> linear2: Linear<12, 8> } -> norm2: LayerNorm<8>
           }
        -> MeanOverTime -> fc: Linear<8, 3>
    }

    /// The issue's `Vit`, small: 4×4 patches of an 8×8 image become 4 steps.
    pub struct TinyVit {
        Input<1, 8, 8>
        -> patch: Conv2d<1, 8, 4, stride = 4> -> ToSeq -> pos: PositionalEmbedding<4, 8>
        -> blocks: Repeat<2> {
               Residual { ln1: LayerNorm<8> -> attn: MultiheadAttention<8, 2> }
               -> Residual { ln2: LayerNorm<8> -> fc1: Linear<8, 16> -> GELU -> fc2: Linear<16, 8> }
           }
        -> ln: LayerNorm<8> -> MeanOverTime -> head: Linear<8, 3>
    }

    /// Causal attention with a table of positions on sequences of any length: it streams.
    pub struct Streamer {
        Input<Seq, 4>
        -> pos: PositionalEmbedding<9, 4>
        -> Residual { attn: MultiheadAttention<4, 2, causal = true> }
        -> ln: LayerNorm<4> -> out: Linear<4, 3>
    }
}

fn token_windows(n: usize, seed: u32) -> (Vec<[u32; 6]>, Vec<[usize; 6]>) {
    let xs: Vec<[u32; 6]> =
        (0..n as u32).map(|i| std::array::from_fn(|t| (i * 5 + t as u32 * 3 + seed) % 11)).collect();
    // Next-token targets at every step.
    let targets = xs.iter().map(|x| std::array::from_fn(|t| (x[t] as usize * 2 + 1) % 11)).collect();
    (xs, targets)
}

#[test]
fn tensors_are_named_as_pytorch_names_them() {
    let names: Vec<&str> = TinyGpt::TENSORS.iter().map(|t| t.name).collect();
    for name in [
        "tok.weight",
        "pos.weight",
        "blocks.0.attn.in_proj_weight",
        "blocks.0.attn.in_proj_bias",
        "blocks.0.attn.out_proj.weight",
        "blocks.1.attn.out_proj.bias",
        "blocks.1.fc2.weight",
        "head.bias",
    ] {
        assert!(names.contains(&name), "{name} is missing from {names:?}");
    }
    let shape = |name: &str| TinyGpt::TENSORS.iter().find(|t| t.name == name).unwrap().shape;
    assert_eq!(shape("blocks.0.attn.in_proj_weight"), [24, 8]);
    assert_eq!(shape("pos.weight"), [6, 8]);
    assert!(Encoder::TENSORS.iter().all(|t| !t.name.starts_with("PositionalEncoding")), "no parameters");
}

#[test]
fn gradients_through_a_gpt_shaped_stack() {
    let mut net = TinyGpt::new(3);
    let (xs, targets) = token_windows(5, 1);
    check_param_gradients(&mut net, &xs, &targets, &CrossEntropy, 8);
}

#[test]
fn gradients_through_encoder_blocks_on_sequences_of_mixed_lengths() {
    let mut net = Encoder::new(4);
    let xs = sequences::<8>(&[5, 1, 7, 3], 9);
    let labels = vec![0, 2, 1, 2];
    check_param_gradients(&mut net, &xs, &labels, &CrossEntropy, 8);
    check_input_gradients(&mut net, &xs, 6);
}

#[test]
fn gradients_through_a_vision_transformer() {
    let mut net = TinyVit::new(5);
    let xs: Vec<[[[f32; 8]; 8]; 1]> = common::random_samples(4, -1.0, 1.0, 3);
    check_param_gradients(&mut net, &xs, &[0, 2, 1, 2], &CrossEntropy, 8);
    check_input_gradients(&mut net, &xs, 6);
}

#[test]
fn a_sample_does_not_depend_on_its_batch_mates() {
    let mut net = Encoder::new(5);
    let xs = sequences::<8>(&[3, 7, 2], 11);
    let others = sequences::<8>(&[1, 9, 4], 12);
    let together = net.predict(&xs);
    // Sample 0 among other batch-mates, of other lengths: the same bits.
    let mixed = net.predict(&[xs[0].clone(), others[1].clone(), others[2].clone()]);
    assert_eq!(mixed[0], together[0]);
    let mixed = net.predict(&[others[0].clone(), xs[1].clone(), others[1].clone()]);
    assert_eq!(mixed[1], together[1]);
}

/// The largest difference between two rows in units of the last place of the row's largest value.
fn row_ulps(got: &[f32], want: &[f32]) -> f32 {
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    got.iter().zip(want).map(|(a, b)| (a - b).abs() / (f32::EPSILON * scale)).fold(0.0, f32::max)
}

#[test]
fn generation_with_the_cache_gives_forward_on_every_prefix() {
    let mut net = TinyGpt::new(6);
    let (xs, targets) = token_windows(16, 2);
    let mut adam = Adam::new(AdamConfig { lr: 1e-2, ..Default::default() });
    for _ in 0..5 {
        net.train_step(&xs, &targets, &CrossEntropy, &mut adam);
    }
    let whole = net.forward(&xs[3]);
    let (mut state, mut static_state) = (net.initial_state(), net.initial_state());
    let mut buffer = vec![0.0; TinyGpt::STATIC_FLOATS];
    let mut worst = 0.0f32;
    for t in 0..6 {
        let y = net.step(xs[3][t], &mut state);
        worst = worst.max(row_ulps(&y, &whole[t]));
        // The same step in a caller's buffer, as the `no_std` build runs it: the same bits.
        let y_static = net.step_static(xs[3][t], &mut static_state, buffer.as_mut_slice().try_into().unwrap());
        assert_eq!(y, y_static, "step {t}");
    }
    assert_eq!(state, static_state);
    // The projections of one step are matrix-vector products, of six steps packed products: they sum in
    // different orders, so the logits agree to a few units in the last place of the largest logit.
    assert!(worst <= 8.0, "{worst} ulp");

    let mut net = Streamer::new(7);
    let x = &sequences::<4>(&[9], 3)[0];
    let whole = net.forward(x);
    let mut state = net.initial_state();
    for (t, step) in x.iter().enumerate() {
        let y = net.step(step, &mut state);
        assert!(row_ulps(&y, &whole[t]) <= 8.0, "step {t}: {y:?} against {:?}", whole[t]);
    }
}

#[test]
fn a_sequence_longer_than_the_positions_is_refused() {
    let mut net = Streamer::new(1);
    let xs = sequences::<4>(&[3, 10, 2], 1);
    let mut ys = vec![Vec::new(); 3];
    let err = net.try_forward_batch(&xs, &mut ys).unwrap_err();
    assert_eq!(
        err.to_string(),
        "sample 1 has 10 steps, but this network's positions end at 9 (`pos: PositionalEmbedding<9, 4>`)"
    );
    let labels = vec![vec![0; 3], vec![0; 10], vec![0; 2]];
    let mut sgd = Sgd::new(SgdConfig::default());
    let before = net.params().to_vec();
    assert!(net.try_train_step(&xs, &labels, &CrossEntropy, &mut sgd).is_err());
    assert_eq!(net.params(), &before[..], "a refused batch changes nothing");
    // The convenience form panics with the same message; a stream past its 9 positions panics naming the layer.
    let message = |payload: Box<dyn std::any::Any + Send>| match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast::<&str>().map(|s| s.to_string()).unwrap_or_default(),
    };
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| net.predict(&xs))).unwrap_err();
    assert!(message(err).contains("sample 1 has 10 steps"));
    let mut state = net.initial_state();
    for _ in 0..9 {
        net.step(&[0.5; 4], &mut state);
    }
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| net.step(&[0.5; 4], &mut state))).unwrap_err();
    assert_eq!(
        message(err),
        "the stream has used the 9 positions of `pos: PositionalEmbedding<9, 4>`; start another from `initial_state()`"
    );
}

#[test]
fn a_transformer_learns_to_copy_the_previous_token() {
    // Next token = the token before the current one: only attention to the previous step can do it.
    let mut net = TinyGpt::new(8);
    let xs: Vec<[u32; 6]> =
        (0..64u32).map(|i| std::array::from_fn(|t| (i * 7 + t as u32 * (i % 5 + 1)) % 11)).collect();
    let targets: Vec<[usize; 6]> =
        xs.iter().map(|x| std::array::from_fn(|t| if t == 0 { 0 } else { x[t - 1] as usize })).collect();
    let mut adam = Adam::new(AdamConfig { lr: 1e-2, ..Default::default() });
    let first = net.train_step(&xs, &targets, &CrossEntropy, &mut adam);
    let mut last = first;
    for _ in 0..150 {
        last = net.train_step(&xs, &targets, &CrossEntropy, &mut adam);
    }
    assert!(last < 0.25 * first, "{first} → {last}");
}
