//! What a run prints and measures for the user: the progress bar, each epoch's line, the first-loss check and the
//! update ratios.

use super::{EpochRecord, TrainConfig};
use crate::data::Loader;
use crate::net::Network;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// `‖after − before‖ / ‖before‖` per parameter tensor.
pub(super) fn update_ratios<N: Network>(before: &[f32], after: &[f32]) -> Vec<(&'static str, f32)> {
    N::TENSORS
        .iter()
        .map(|t| {
            let range = t.offset..t.offset + t.len();
            let (b, a) = (&before[range.clone()], &after[range]);
            let update: f64 = b.iter().zip(a).map(|(x, y)| f64::from(y - x).powi(2)).sum::<f64>().sqrt();
            let weight: f64 = b.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            (t.name, if weight > 0.0 { (update / weight) as f32 } else { f32::INFINITY })
        })
        .collect()
}

pub(super) fn progress_bar(config: &TrainConfig, loader: &Loader, epoch: usize) -> ProgressBar {
    let samples = if config.drop_last { loader.batches_per_epoch() * config.batch_size } else { loader.len() } as u64;
    let target = if config.progress && std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(samples), target);
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} {per_sec:.dim} ETA {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("epoch {epoch}"));
    bar
}

pub(super) fn report_first_loss(value: f32, expected: Option<f32>) {
    let Some(expected) = expected else { return };
    print!("first loss {value:.4}, ln(classes) = {expected:.4}");
    if value > 1.5 * expected || value < 0.5 * expected {
        println!(": far from ln(classes) — check the initialisation and the input scaling");
    } else {
        println!(": as expected for a fresh classifier");
    }
}

pub(super) fn print_epoch(r: &EpochRecord, epochs: usize) {
    let mut line = format!("epoch {:>3}/{epochs}  lr {:.2e}  train loss {:.4}", r.epoch, r.lr, r.train_loss);
    if let Some(a) = r.train_accuracy {
        line += &format!("  train acc {a:.4}");
    }
    if let Some(l) = r.valid_loss {
        line += &format!("  valid loss {l:.4}");
    }
    if let Some(a) = r.valid_accuracy {
        line += &format!("  valid acc {a:.4}");
    }
    if let Some(g) = r.largest_gradient {
        line += &format!("  max ‖grad‖ {g:.3}");
    }
    line += &format!("  ({:.1} s)", r.seconds);
    println!("{line}");
    let weights: Vec<String> = r
        .update_ratios
        .iter()
        .filter(|(n, _)| crate::regularize::is_weight(n))
        .map(|(n, v)| format!("{n} {v:.1e}"))
        .collect();
    if !weights.is_empty() {
        println!("           update/weight: {}", weights.join(", "));
    }
}
