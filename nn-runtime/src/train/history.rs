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
                    "{} {} {} {} {} {} {}",
                    r.epoch,
                    r.lr,
                    r.train_loss,
                    opt(r.train_accuracy),
                    opt(r.valid_loss),
                    opt(r.valid_accuracy),
                    r.seconds
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Parses [`History::to_text`]; `None` if malformed.
    pub(crate) fn from_text(text: &str) -> Option<Vec<EpochRecord>> {
        let opt = |s: &str| if s == "-" { Some(None) } else { s.parse().ok().map(Some) };
        text.lines()
            .filter(|l| !l.is_empty())
            .map(|line| {
                let f: Vec<&str> = line.split(' ').collect();
                if f.len() != 7 {
                    return None;
                }
                Some(EpochRecord {
                    epoch: f[0].parse().ok()?,
                    lr: f[1].parse().ok()?,
                    train_loss: f[2].parse().ok()?,
                    train_accuracy: opt(f[3])?,
                    valid_loss: opt(f[4])?,
                    valid_accuracy: opt(f[5])?,
                    update_ratios: Vec::new(),
                    seconds: f[6].parse().ok()?,
                })
            })
            .collect()
    }
}
