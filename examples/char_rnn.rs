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

use nn::prelude::*;
use nn::regularize::Regularization;
use nn::{Parallelism, Rng};
use std::path::{Path, PathBuf};

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
        // Softmax of logits / temperature over the characters that exist.
        let scaled: Vec<f32> = logits[..alphabet.len()].iter().map(|&l| l / temperature).collect();
        let max = scaled.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let weights: Vec<f32> = scaled.iter().map(|&s| (s - max).exp()).collect();
        let mut pick = rng.uniform(0.0, weights.iter().sum());
        let next = weights.iter().position(|&w| {
            pick -= w;
            pick < 0.0
        });
        let next = next.unwrap_or(alphabet.len() - 1);
        out.push(alphabet[next]);
        logits = net.step(&one_hot(&[next])[0], &mut state);
    }
    out
}

fn main() {
    let args = common::parse("char_rnn", "data/kjv-pentateuch", 10);
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
