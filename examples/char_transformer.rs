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

use nn::prelude::*;
use nn::regularize::Regularization;
use nn::{Parallelism, Rng};
use std::path::{Path, PathBuf};

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

/// The text file `--data` names (a file, or a directory with one `.txt` file).
fn text_file(data: &Path) -> PathBuf {
    if data.is_file() {
        return data.to_path_buf();
    }
    let texts: Vec<PathBuf> = std::fs::read_dir(data)
        .unwrap_or_else(|e| common::fail(format!("cannot read {}: {e}", data.display())))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    match texts.as_slice() {
        [one] => one.clone(),
        _ => common::fail(format!("{} should hold exactly one .txt file, it holds {}", data.display(), texts.len())),
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

/// A character drawn from the softmax of `logits / temperature` over the characters that exist.
fn draw(logits: &[f32], temperature: f32, rng: &mut Rng) -> usize {
    let scaled: Vec<f32> = logits.iter().map(|&l| l / temperature).collect();
    let max = scaled.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let weights: Vec<f32> = scaled.iter().map(|&s| (s - max).exp()).collect();
    let mut pick = rng.uniform(0.0, weights.iter().sum());
    weights
        .iter()
        .position(|&w| {
            pick -= w;
            pick < 0.0
        })
        .unwrap_or(logits.len() - 1)
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
    let path = text_file(&args.data);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| common::fail(format!("{}: {e}", path.display())));
    let mut alphabet: Vec<char> = text.chars().collect();
    alphabet.sort_unstable();
    alphabet.dedup();
    if alphabet.len() > VOCAB {
        common::fail(format!(
            "{} has {} distinct characters; this model tells {VOCAB} apart",
            path.display(),
            alphabet.len()
        ));
    }
    let ids: Vec<usize> = text.chars().map(|c| alphabet.binary_search(&c).expect("in the alphabet")).collect();
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
    println!(
        "\ntrained {} epochs in {seconds:.0} s; weights: {}; curves: {}",
        args.epochs,
        weights.display(),
        args.out.join("curves.svg").display()
    );
    println!(
        "held-out next-character accuracy: {:.4}\nheld-out bits per character: {:.3}",
        held.accuracy,
        held.loss / std::f32::consts::LN_2
    );
}
