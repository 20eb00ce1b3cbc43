//! Batches of sample indices, reshuffled every epoch from the seed.

use crate::{Error, Result, Rng};

/// Cuts `0..len` into batches; with a seed, in a new random order each epoch.
///
/// The order of epoch `e` depends only on the seed and `e` (it is drawn from the seed's stream `e`), so training
/// resumed from a checkpoint at epoch `e` sees exactly the batches it would have seen.
#[derive(Clone, Debug)]
#[must_use = "a `Loader` is a value: its builder methods return the changed copy"]
pub struct Loader {
    batch_size: usize,
    shuffle: Option<u64>,
    drop_last: bool,
    order: Vec<usize>,
}

impl Loader {
    /// Batches of `batch_size` over `len` samples, in order, keeping a last short batch.
    ///
    /// # Errors
    /// If `batch_size` is 0.
    pub fn new(len: usize, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::InvalidSetting { name: "batch_size", problem: "must be at least 1".into() });
        }
        Ok(Self { batch_size, shuffle: None, drop_last: false, order: (0..len).collect() })
    }

    /// Shuffles every epoch, reproducibly from `seed`.
    pub fn shuffled(mut self, seed: u64) -> Self {
        self.shuffle = Some(seed);
        self
    }

    /// Drops the last batch of an epoch if it is shorter than the batch size.
    pub fn drop_last(mut self, drop: bool) -> Self {
        self.drop_last = drop;
        self
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Batches in one epoch.
    pub fn batches_per_epoch(&self) -> usize {
        if self.drop_last {
            self.len() / self.batch_size
        } else {
            self.len().div_ceil(self.batch_size)
        }
    }

    /// The batches of epoch `epoch` (any number; epochs are independent).
    pub fn epoch(&mut self, epoch: usize) -> impl Iterator<Item = &[usize]> {
        let len = self.order.len();
        self.order.iter_mut().enumerate().for_each(|(i, v)| *v = i);
        if let Some(seed) = self.shuffle {
            Rng::new(seed, epoch as u64).shuffle(&mut self.order);
        }
        let keep = if self.drop_last { len - len % self.batch_size } else { len };
        self.order[..keep].chunks(self.batch_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_epoch_visits_every_sample_exactly_once() {
        for (len, batch) in [(0, 3), (1, 1), (10, 3), (64, 8), (1000, 7)] {
            let mut loader = Loader::new(len, batch).unwrap().shuffled(5);
            for epoch in 0..3 {
                let mut seen = vec![0; len];
                let batches: Vec<Vec<usize>> = loader.epoch(epoch).map(<[usize]>::to_vec).collect();
                assert_eq!(batches.len(), len.div_ceil(batch));
                for b in &batches {
                    assert!(!b.is_empty() && b.len() <= batch);
                    b.iter().for_each(|&i| seen[i] += 1);
                }
                assert!(seen.iter().all(|&c| c == 1), "len {len}, batch {batch}, epoch {epoch}");
            }
        }
    }

    #[test]
    fn shuffles_differ_by_epoch_and_repeat_by_seed() {
        let mut a = Loader::new(100, 10).unwrap().shuffled(1);
        let mut b = Loader::new(100, 10).unwrap().shuffled(1);
        let e0: Vec<usize> = a.epoch(0).flatten().copied().collect();
        let e1: Vec<usize> = a.epoch(1).flatten().copied().collect();
        assert_ne!(e0, e1);
        assert_eq!(e1, b.epoch(1).flatten().copied().collect::<Vec<_>>());
        assert_eq!(e0, b.epoch(0).flatten().copied().collect::<Vec<_>>());
        let mut plain = Loader::new(5, 2).unwrap();
        assert_eq!(plain.epoch(3).collect::<Vec<_>>(), [&[0, 1][..], &[2, 3], &[4]]);
    }

    #[test]
    fn drop_last_drops_only_a_short_final_batch() {
        let mut l = Loader::new(10, 4).unwrap().drop_last(true);
        assert_eq!(l.batches_per_epoch(), 2);
        assert_eq!(l.epoch(0).map(<[usize]>::len).collect::<Vec<_>>(), [4, 4]);
        let mut l = Loader::new(8, 4).unwrap().drop_last(true);
        assert_eq!(l.epoch(0).count(), 2);
        assert!(Loader::new(8, 0).is_err());
    }
}
