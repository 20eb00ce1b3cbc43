//! A text corpus for the character-level language models (`char_rnn`, `char_transformer`): the file, its alphabet
//! and its characters as ids, the held-out report, and drawing the next character at a temperature.

use nn::Rng;
use std::path::{Path, PathBuf};

/// A text read as character ids.
pub struct Corpus {
    /// The file read.
    pub path: PathBuf,
    /// Its distinct characters, sorted: id `k` is `alphabet[k]`.
    pub alphabet: Vec<char>,
    /// The text, one id per character.
    pub ids: Vec<usize>,
}

/// The text `data` names (a file, or a directory with one `.txt` file), with at most `vocab` distinct characters.
pub fn corpus(data: &Path, vocab: usize) -> Corpus {
    let path = text_file(data);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| super::fail(format!("{}: {e}", path.display())));
    let mut alphabet: Vec<char> = text.chars().collect();
    alphabet.sort_unstable();
    alphabet.dedup();
    if alphabet.len() > vocab {
        super::fail(format!(
            "{} has {} distinct characters; this model tells {vocab} apart",
            path.display(),
            alphabet.len()
        ));
    }
    let ids = text.chars().map(|c| alphabet.binary_search(&c).expect("in the alphabet")).collect();
    Corpus { path, alphabet, ids }
}

/// The text file `data` names (a file, or a directory with one `.txt` file).
fn text_file(data: &Path) -> PathBuf {
    if data.is_file() {
        return data.to_path_buf();
    }
    let texts: Vec<PathBuf> = std::fs::read_dir(data)
        .unwrap_or_else(|e| super::fail(format!("cannot read {}: {e}", data.display())))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    match texts.as_slice() {
        [one] => one.clone(),
        _ => super::fail(format!("{} should hold exactly one .txt file, it holds {}", data.display(), texts.len())),
    }
}

/// A character drawn from the softmax of `logits / temperature` (the logits of the characters that exist).
pub fn draw(logits: &[f32], temperature: f32, rng: &mut Rng) -> usize {
    let scaled: Vec<f32> = logits.iter().map(|&l| l / temperature).collect();
    let max = scaled.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let weights: Vec<f32> = scaled.iter().map(|&s| (s - max).exp()).collect();
    let mut pick = rng.uniform(0.0, weights.iter().sum());
    let next = weights.iter().position(|&w| {
        pick -= w;
        pick < 0.0
    });
    next.unwrap_or(logits.len() - 1)
}

/// The last lines of a language model's run: its training time, files, and held-out accuracy and bits per
/// character (from the mean cross-entropy in nats).
pub fn report(epochs: usize, seconds: f32, weights: &Path, curves: &Path, held: &nn::train::Evaluation) {
    println!(
        "\ntrained {epochs} epochs in {seconds:.0} s; weights: {}; curves: {}",
        weights.display(),
        curves.display()
    );
    println!(
        "held-out next-character accuracy: {:.4}\nheld-out bits per character: {:.3}",
        held.accuracy,
        held.loss / std::f32::consts::LN_2
    );
}
