//! A character-level GPT beside `char_rnn`'s LSTM: 4 pre-norm transformer blocks (causal attention over 128
//! characters, learned positions) predict the next character at every position of windows of 128 characters.
//! Same text, same alphabet and the same held-out last 5 % as `char_rnn`, and about as many parameters (826,176
//! against the LSTM's 872,512); the example reports held-out bits per character and prints text sampled with the
//! key/value cache (`step`) at two temperatures. Five epochs take about as long as `char_rnn`'s ten.
//!
//! The corpus is `data/kjv-pentateuch/pentateuch.txt` (815 KB, public domain; see its README); `--data` takes
//! another UTF-8 text file or a directory holding one `.txt` file.
//!
//! `cargo run --release --example char_transformer -- [--data FILE|DIR] [--epochs N] [--out DIR]`

mod common;

use common::text::{corpus, draw, report, Corpus};

use nn::prelude::*;
use nn::regularize::Regularization;
use nn::{Parallelism, Rng};

/// Distinct characters the model can tell apart (the corpus has 62).
const VOCAB: usize = 64;
/// Characters a window holds: the attention's context.
const WINDOW: usize = 128;

network! {
    /// A character-level GPT: 4 pre-norm blocks, causal attention, learned positions.
    pub struct CharGpt {
        Input<Seq<128>, Tokens<64>>
        -> tok: Embedding<64, 128> -> pos: PositionalEmbedding<128, 128>
        -> blocks: Repeat<4> {
               Residual { ln1: LayerNorm<128> -> attn: MultiheadAttention<128, 4, causal = true> }
               -> Residual { ln2: LayerNorm<128> -> fc1: Linear<128, 512> -> GELU -> fc2: Linear<512, 128> }
           }
        -> ln_f: LayerNorm<128> -> head: Linear<128, 64>
    }
}

/// Windows of `WINDOW + 1` characters: the first `WINDOW` the input, the next character at every position the
/// target. Training windows start every `stride` characters.
fn windows(ids: &[usize], stride: usize) -> Dataset<[u32; WINDOW], [usize; WINDOW]> {
    let (xs, ys) = (0..ids.len().saturating_sub(WINDOW))
        .step_by(stride)
        .map(|s| (std::array::from_fn(|t| ids[s + t] as u32), std::array::from_fn(|t| ids[s + t + 1])))
        .unzip();
    Dataset::new(xs, ys).unwrap_or_else(|e| common::fail(e))
}

/// `length` characters sampled at `temperature` after `prompt`, one step at a time with the key/value cache. The
/// cache holds `WINDOW` positions; when it is full, the stream starts again from the last half window of text.
fn sample(net: &mut CharGpt, alphabet: &[char], prompt: &str, length: usize, temperature: f32, seed: u64) -> String {
    let mut ids: Vec<usize> = prompt.chars().filter_map(|c| alphabet.iter().position(|&a| a == c)).collect();
    let mut rng = Rng::new(seed, 0);
    // The state holds the characters `start..fed` of `ids`.
    let (mut state, mut start, mut fed) = (net.initial_state(), 0, 0);
    let mut logits = [0.0; VOCAB];
    let total = ids.len() + length;
    while ids.len() < total {
        while fed < ids.len() {
            if fed - start == WINDOW {
                state = net.initial_state();
                start = fed - WINDOW / 2;
                for &id in &ids[start..fed] {
                    net.step(id as u32, &mut state);
                }
            }
            logits = net.step(ids[fed] as u32, &mut state);
            fed += 1;
        }
        ids.push(draw(&logits[..alphabet.len()], temperature, &mut rng));
    }
    ids.iter().map(|&k| alphabet[k]).collect()
}

fn main() {
    let args = common::parse("char_transformer", "data/kjv-pentateuch", 5);
    let Corpus { path, alphabet, ids } = corpus(&args.data, VOCAB);
    // `char_rnn`'s split: the last 5 % held out, read in windows that do not overlap.
    let split = ids.len() * 95 / 100;
    let (train, held_out) = (windows(&ids[..split], WINDOW), windows(&ids[split..], WINDOW));
    if held_out.is_empty() {
        common::fail(format!("{} is too short: the 5 % held out must hold a window of {WINDOW}", path.display()));
    }
    println!(
        "{}: {} characters, {} distinct; {} training windows of {WINDOW}, {} held out\n{}",
        path.display(),
        ids.len(),
        alphabet.len(),
        train.len(),
        held_out.len(),
        CharGpt::summary()
    );

    let mut net = CharGpt::new(11);
    net.set_parallelism(Parallelism::Threads(2)).unwrap_or_else(|e| common::fail(e));
    let mut adam = Adam::new(AdamConfig { lr: 3e-3, ..Default::default() });
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: 64,
        shuffle: Some(11),
        regularization: Regularization { clip_norm: Some(1.0), ..Default::default() },
        schedule: Schedule::Cosine { min_lr: 1e-4 },
        checkpoint: Some(args.out.join("checkpoint.safetensors")),
        curves: Some(args.out.join("curves.svg")),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    fit(&mut net, &mut adam, &CrossEntropy, &train, Some(&held_out), &config).unwrap_or_else(|e| common::fail(e));
    let seconds = started.elapsed().as_secs_f32();
    let weights = args.out.join("char_gpt.safetensors");
    save_weights(&net, &weights).unwrap_or_else(|e| common::fail(e));
    let held = evaluate(&mut net, &held_out, &CrossEntropy).unwrap_or_else(|e| common::fail(e));
    for temperature in [0.5, 1.0] {
        println!("\n--- sampled at temperature {temperature} ---");
        println!("{}", sample(&mut net, &alphabet, "And God said", 400, temperature, 3));
    }
    report(args.epochs, seconds, &weights, &args.out.join("curves.svg"), &held);
}
