//! A character-level language model: a 2-layer LSTM of 256 units reads a text one character at a time (one-hot)
//! and predicts the next character at every step (cross-entropy over every step). Trained by truncated
//! backpropagation through time: each training sequence of 1,000 characters is cut into windows of 50 steps, the
//! state carried from one window to the next. The last 5 % of the text is held out; the example reports its bits
//! per character and prints text sampled one character at a time with the streaming API (`step`) at two
//! temperatures.
//!
//! The corpus is `data/kjv-pentateuch/pentateuch.txt` (815 KB, public domain; see its README); `--data` takes
//! another UTF-8 text file or a directory holding one `.txt` file.
//!
//! `cargo run --release --example char_rnn -- [--data FILE|DIR] [--epochs N] [--out DIR]`

mod common;

use common::text::{corpus, draw, report, Corpus};

use nn::prelude::*;
use nn::regularize::Regularization;
use nn::{Parallelism, Rng};

/// Distinct characters the model can tell apart (the corpus has 62).
const VOCAB: usize = 64;
/// Characters per training sequence, and per window of truncated backpropagation.
const SEQUENCE: usize = 1000;
const WINDOW: usize = 50;

network! {
    /// Two stacked LSTM layers and a per-step `Linear` to the next character's logits.
    pub struct CharLstm {
        Input<Seq, 64> -> lstm: LSTM<64, 256, layers = 2> -> out: Linear<256, 64>
    }
}

/// One-hot steps of `ids`.
fn one_hot(ids: &[usize]) -> Vec<[f32; VOCAB]> {
    ids.iter().map(|&k| std::array::from_fn(|j| f32::from(u8::from(j == k)))).collect()
}

/// Sequences of `SEQUENCE + 1` characters (the last one only a target), inputs one-hot, targets the next ids.
fn sequences(ids: &[usize]) -> Dataset<Vec<[f32; VOCAB]>, Vec<usize>> {
    let (xs, ys) = ids.chunks_exact(SEQUENCE + 1).map(|c| (one_hot(&c[..SEQUENCE]), c[1..].to_vec())).unzip();
    Dataset::new(xs, ys).unwrap_or_else(|e| common::fail(e))
}

/// `length` characters sampled from the model at `temperature`, after reading `prompt`.
fn sample(net: &mut CharLstm, alphabet: &[char], prompt: &str, length: usize, temperature: f32, seed: u64) -> String {
    let index = |c: char| alphabet.iter().position(|&a| a == c);
    let mut state = net.initial_state();
    let mut logits = [0.0; VOCAB];
    for c in prompt.chars().filter_map(index) {
        logits = net.step(&one_hot(&[c])[0], &mut state);
    }
    let mut rng = Rng::new(seed, 0);
    let mut out = String::from(prompt);
    for _ in 0..length {
        let next = draw(&logits[..alphabet.len()], temperature, &mut rng);
        out.push(alphabet[next]);
        logits = net.step(&one_hot(&[next])[0], &mut state);
    }
    out
}

fn main() {
    let args = common::parse("char_rnn", "data/kjv-pentateuch", 10);
    let Corpus { path, alphabet, ids } = corpus(&args.data, VOCAB);
    let split = ids.len() * 95 / 100;
    let (train, held_out) = (sequences(&ids[..split]), sequences(&ids[split..]));
    if held_out.is_empty() {
        let least = (SEQUENCE + 1) * 20;
        common::fail(format!(
            "{} has {} characters; the 5 % held out must hold a sequence of {SEQUENCE}: at least {least}",
            path.display(),
            ids.len()
        ));
    }
    println!(
        "{}: {} characters, {} distinct; {} training sequences of {SEQUENCE}, {} held out\n{}",
        path.display(),
        ids.len(),
        alphabet.len(),
        train.len(),
        held_out.len(),
        CharLstm::summary()
    );

    let mut net = CharLstm::new(11);
    net.set_parallelism(Parallelism::Threads(2)).unwrap_or_else(|e| common::fail(e));
    let mut adam = Adam::new(AdamConfig { lr: 2e-3, ..Default::default() });
    let config = TrainConfig {
        epochs: args.epochs,
        // Two chunks of 32 sequences: one per core.
        batch_size: 64,
        shuffle: Some(11),
        tbptt: Some(WINDOW),
        regularization: Regularization { clip_norm: Some(1.0), ..Default::default() },
        schedule: Schedule::Cosine { min_lr: 1e-4 },
        checkpoint: Some(args.out.join("checkpoint.safetensors")),
        curves: Some(args.out.join("curves.svg")),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    fit(&mut net, &mut adam, &CrossEntropy, &train, Some(&held_out), &config).unwrap_or_else(|e| common::fail(e));
    let seconds = started.elapsed().as_secs_f32();
    let weights = args.out.join("char_lstm.safetensors");
    save_weights(&net, &weights).unwrap_or_else(|e| common::fail(e));
    let held = evaluate(&mut net, &held_out, &CrossEntropy).unwrap_or_else(|e| common::fail(e));
    for temperature in [0.5, 1.0] {
        println!("\n--- sampled at temperature {temperature} ---");
        println!("{}", sample(&mut net, &alphabet, "And God said", 400, temperature, 3));
    }
    report(args.epochs, seconds, &weights, &args.out.join("curves.svg"), &held);
}
