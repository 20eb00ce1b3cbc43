//! What a training run measured, epoch by epoch.

/// The measurements of one epoch.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRecord {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f32,
    /// Mean training loss over the epoch's steps (weighted by batch size).
    pub train_loss: f32,
    /// Accuracy on the training set after the epoch (if `TrainConfig::train_accuracy`).
    pub train_accuracy: Option<f32>,
    /// Loss on the validation set, if one was given.
    pub valid_loss: Option<f32>,
    /// Accuracy on the validation set, if one was given.
    pub valid_accuracy: Option<f32>,
    /// `‖update‖ / ‖weights‖` of each parameter tensor at the epoch's last step (about 1e-3 is healthy).
    pub update_ratios: Vec<(&'static str, f32)>,
    /// The largest global L2 norm of a step's gradient in the epoch, before clipping: how hard clipping worked,
    /// and the first sign of exploding gradients (`None` for epochs restored from a checkpoint written without it).
    pub largest_gradient: Option<f32>,
    /// Wall-clock seconds of the epoch (training and evaluation).
    pub seconds: f32,
}

/// A whole run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One record per completed epoch, including those before a resume.
    pub epochs: Vec<EpochRecord>,
    /// The loss of the very first training step, before any update.
    pub first_loss: Option<f32>,
    /// `ln(classes)`, the first loss a freshly initialised classifier should have.
    pub expected_first_loss: Option<f32>,
    /// The epoch after which early stopping ended the run.
    pub stopped_early: Option<usize>,
    /// Epochs restored from a checkpoint rather than run.
    pub resumed_epochs: usize,
}

impl History {
    /// The last epoch's record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    /// Serialises the scalar measurements, one line per epoch (for checkpoints).
    pub(crate) fn to_text(&self) -> String {
        let opt = |v: Option<f32>| v.map_or("-".to_string(), |v| v.to_string());
        self.epochs
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} {} {} {} {} {}",
                    r.epoch,
                    r.lr,
                    r.train_loss,
                    opt(r.train_accuracy),
                    opt(r.valid_loss),
                    opt(r.valid_accuracy),
                    r.seconds,
                    opt(r.largest_gradient)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Parses [`History::to_text`], checking every value: records numbered 1, 2, … in order, rates, training
    /// losses and times finite (and not negative where that makes no sense), accuracies in `[0, 1]`. The error
    /// names the line and the problem.
    pub(crate) fn from_text(text: &str) -> Result<Vec<EpochRecord>, String> {
        text.lines().filter(|l| !l.is_empty()).enumerate().map(|(i, line)| parse_record(i + 1, line)).collect()
    }
}

/// One line of [`History::to_text`], which must be epoch `expected`.
fn parse_record(expected: usize, line: &str) -> Result<EpochRecord, String> {
    let bad = |what: &str| format!("line {expected} (`{line}`): {what}");
    let f: Vec<&str> = line.split(' ').collect();
    // The eighth field, the largest gradient norm, is absent from checkpoints written before it existed.
    if f.len() != 7 && f.len() != 8 {
        return Err(bad(&format!("{} fields, expected 8", f.len())));
    }
    let number = |s: &str, what: &str, ok: fn(f32) -> bool| -> Result<f32, String> {
        s.parse::<f32>().ok().filter(|&v| ok(v)).ok_or_else(|| bad(&format!("`{s}` is not {what}")))
    };
    let optional = |s: &str, what: &str, ok: fn(f32) -> bool| -> Result<Option<f32>, String> {
        if s == "-" {
            Ok(None)
        } else {
            number(s, what, ok).map(Some)
        }
    };
    let epoch: usize = f[0].parse().map_err(|_| bad(&format!("`{}` is not an epoch number", f[0])))?;
    if epoch != expected {
        return Err(bad(&format!("epoch {epoch} where epoch {expected} belongs")));
    }
    let accuracy = |v: f32| (0.0..=1.0).contains(&v);
    Ok(EpochRecord {
        epoch,
        lr: number(f[1], "a finite rate ≥ 0", |v| v.is_finite() && v >= 0.0)?,
        train_loss: number(f[2], "a finite loss", f32::is_finite)?,
        train_accuracy: optional(f[3], "an accuracy in [0, 1]", accuracy)?,
        // A validation loss may be NaN or infinite (a network that diverges on held-out data only).
        valid_loss: optional(f[4], "a loss", |_| true)?,
        valid_accuracy: optional(f[5], "an accuracy in [0, 1]", accuracy)?,
        update_ratios: Vec::new(),
        seconds: number(f[6], "a finite time ≥ 0", |v| v.is_finite() && v >= 0.0)?,
        largest_gradient: match f.get(7) {
            Some(s) => optional(s, "a norm ≥ 0", |v| v.is_finite() && v >= 0.0)?,
            None => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(epoch: usize, largest_gradient: Option<f32>) -> EpochRecord {
        EpochRecord {
            epoch,
            lr: 1e-3,
            train_loss: 0.5,
            train_accuracy: None,
            valid_loss: Some(f32::NAN),
            valid_accuracy: Some(0.25),
            update_ratios: Vec::new(),
            largest_gradient,
            seconds: 1.5,
        }
    }

    #[test]
    fn the_text_form_round_trips_and_reads_the_older_seven_fields() {
        let history = History { epochs: vec![record(1, Some(12.75)), record(2, None)], ..History::default() };
        let back = History::from_text(&history.to_text()).unwrap();
        assert_eq!(back[0].largest_gradient, Some(12.75));
        assert_eq!(back[1].largest_gradient, None);
        assert_eq!((back[0].train_loss, back[1].valid_accuracy), (0.5, Some(0.25)));
        // A checkpoint written before the gradient norm was recorded.
        let old = History::from_text("1 0.001 0.5 - - 0.25 1.5").unwrap();
        assert_eq!(old[0].largest_gradient, None);
        for bad in ["1 0.001 0.5 - - 0.25 1.5 -3", "1 0.001 0.5 - - 0.25 1.5 NaN", "1 0.001 0.5 - - 0.25 1.5 2 9"] {
            assert!(History::from_text(bad).is_err(), "{bad}");
        }
    }
}
