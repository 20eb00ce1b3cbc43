//! Recurrent networks on generated sequences of any length: a tag per step.
//!
//! 1. A bidirectional GRU tags each step of a sequence of symbols (0–9) with the sum of its two neighbours,
//!    divided by 4 — a task that needs the past and the future, so one direction alone cannot learn it.
//! 2. A unidirectional LSTM tags each step with how many zeros it has seen so far (mod 5), trained by truncated
//!    backpropagation through time in windows of 10 steps, then run as a stream, one step at a time.
//!
//! `cargo run --release --example sequence_tagging -- [--epochs N]`

use nn::prelude::*;
use nn::Rng;

mod common;
use common::fail;

/// Symbols per step, one-hot.
const SYMBOLS: usize = 10;

network! {
    /// Any sequence length; a bidirectional GRU; a tag per time step.
    pub struct Tagger {
        Input<Seq, 10>
        -> gru: GRU<10, 32, bidirectional = true> -> Dropout<0.2> -> out: Linear<64, 5>
    }

    /// A counter: a unidirectional LSTM, so it can run one step at a time.
    pub struct Counter {
        Input<Seq, 10> -> lstm: LSTM<10, 32> -> out: Linear<32, 5>
    }
}

/// `n` sequences of 5 to 40 random symbols, one-hot, and their symbols.
fn symbols(n: usize, seed: u64) -> (Vec<Vec<[f32; SYMBOLS]>>, Vec<Vec<usize>>) {
    let mut rng = Rng::new(seed, 0);
    let mut xs = Vec::with_capacity(n);
    let mut ss = Vec::with_capacity(n);
    for _ in 0..n {
        let len = 5 + rng.below(36);
        let s: Vec<usize> = (0..len).map(|_| rng.below(SYMBOLS)).collect();
        xs.push(s.iter().map(|&k| std::array::from_fn(|j| f32::from(u8::from(j == k)))).collect());
        ss.push(s);
    }
    (xs, ss)
}

/// The neighbours task: tag t is (symbol t−1 + symbol t+1) / 4 (0 to 4), a missing neighbour counting 0.
fn neighbours(s: &[usize]) -> Vec<usize> {
    (0..s.len()).map(|t| (t.checked_sub(1).map_or(0, |p| s[p]) + s.get(t + 1).copied().unwrap_or(0)) / 4).collect()
}

/// The counting task: tag t is the number of zeros among symbols 0..=t, mod 5.
fn zeros_so_far(s: &[usize]) -> Vec<usize> {
    s.iter()
        .scan(0, |n, &k| {
            *n += usize::from(k == 0);
            Some(*n % 5)
        })
        .collect()
}

fn dataset(n: usize, seed: u64, tags: fn(&[usize]) -> Vec<usize>) -> Dataset<Vec<[f32; SYMBOLS]>, Vec<usize>> {
    let (xs, ss) = symbols(n, seed);
    Dataset::new(xs, ss.iter().map(|s| tags(s)).collect()).unwrap_or_else(|e| fail(e))
}

/// `--epochs N` (default 15); `--help`.
fn epochs() -> usize {
    let usage = "usage: cargo run --release --example sequence_tagging -- [--epochs N]";
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => 15,
        [flag] if flag == "--help" || flag == "-h" => {
            println!("{usage}");
            std::process::exit(0)
        }
        [flag, n] if flag == "--epochs" => n.parse().ok().filter(|&n| n > 0).unwrap_or_else(|| fail(usage)),
        _ => fail(usage),
    }
}

fn main() {
    let epochs = epochs();
    let config = |tbptt| TrainConfig { epochs, batch_size: 32, verbose: false, tbptt, ..TrainConfig::default() };

    println!("1. bidirectional GRU, tag = (previous + next symbol) / 4");
    let (train, test) = (dataset(2000, 1, neighbours), dataset(500, 2, neighbours));
    let mut tagger = Tagger::new(1);
    let mut adam = Adam::new(AdamConfig { lr: 3e-3, ..AdamConfig::default() });
    let started = std::time::Instant::now();
    let history =
        fit(&mut tagger, &mut adam, &CrossEntropy, &train, Some(&test), &config(None)).unwrap_or_else(|e| fail(e));
    let last = history.epochs.last().expect("one epoch at least");
    let tagged = last.valid_accuracy.unwrap_or(0.0);
    println!(
        "   after {} epochs: per-step test accuracy {tagged:.4}, test loss {:.4} ({:.1} s)",
        last.epoch,
        last.valid_loss.unwrap_or(0.0),
        started.elapsed().as_secs_f32()
    );

    println!("2. LSTM, tag = zeros seen so far mod 5, truncated BPTT in windows of 10 steps");
    let (train, test) = (dataset(2000, 3, zeros_so_far), dataset(500, 4, zeros_so_far));
    let mut counter = Counter::new(2);
    let mut adam = Adam::new(AdamConfig { lr: 3e-3, ..AdamConfig::default() });
    let started = std::time::Instant::now();
    let history =
        fit(&mut counter, &mut adam, &CrossEntropy, &train, Some(&test), &config(Some(10))).unwrap_or_else(|e| fail(e));
    let last = history.epochs.last().expect("one epoch at least");
    println!(
        "   after {} epochs: per-step test accuracy {:.4} ({:.1} s)",
        last.epoch,
        last.valid_accuracy.unwrap_or(0.0),
        started.elapsed().as_secs_f32()
    );
    // A stream far longer than any training sequence, one step at a time, the state carried by the caller.
    let mut rng = Rng::new(5, 0);
    let long: Vec<usize> = (0..1000).map(|_| rng.below(SYMBOLS)).collect();
    let (mut hits, mut state) = (0, counter.initial_state());
    for (&symbol, &want) in long.iter().zip(&zeros_so_far(&long)) {
        let mut x = [0.0; SYMBOLS];
        x[symbol] = 1.0;
        hits += usize::from(nn::predicted_class(&counter.step(&x, &mut state)) == Some(want));
    }
    println!("   streamed 1,000 steps one at a time: accuracy {:.4}", hits as f32 / 1000.0);
    println!("test accuracy: {tagged:.4} (tagger), {:.4} (counter)", last.valid_accuracy.unwrap_or(0.0));
}
