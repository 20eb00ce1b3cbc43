//! The seeded random source behind every random choice in `nn` (initialisation, shuffling, dropout masks).
//!
//! ChaCha8 is used because its output is fixed by specification: the same seed gives the same numbers on every
//! platform and every version of `rand_chacha`, which `SmallRng` does not promise.

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A reproducible random number generator.
///
/// `Rng::new(seed, stream)` gives independent sequences for different streams of one seed, so each layer (or
/// epoch, or worker) can draw from its own stream and adding a layer does not change the others' numbers.
#[derive(Clone, Debug)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// The generator for `seed`, on sub-stream `stream`.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Self(rng)
    }

    /// A uniform sample from `[low, high)`.
    pub fn uniform(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * self.0.random::<f32>()
    }

    /// A normal sample with the given mean and standard deviation.
    pub fn normal(&mut self, mean: f32, std: f32) -> f32 {
        let z: f32 = StandardNormal.sample(&mut self.0);
        mean + std * z
    }

    /// A uniform integer from `0..n`.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        self.0.random_range(0..n)
    }

    /// Shuffles `items` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_numbers_and_streams_differ() {
        let a: Vec<f32> = (0..8)
            .map({
                let mut r = Rng::new(7, 0);
                move |_| r.uniform(0.0, 1.0)
            })
            .collect();
        let b: Vec<f32> = (0..8)
            .map({
                let mut r = Rng::new(7, 0);
                move |_| r.uniform(0.0, 1.0)
            })
            .collect();
        let c: Vec<f32> = (0..8)
            .map({
                let mut r = Rng::new(7, 1);
                move |_| r.uniform(0.0, 1.0)
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|v| (0.0..1.0).contains(v)));
    }

    #[test]
    fn normal_has_the_requested_moments() {
        let mut r = Rng::new(3, 0);
        let xs: Vec<f64> = (0..20000).map(|_| r.normal(2.0, 0.5) as f64).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!((mean - 2.0).abs() < 0.02, "mean {mean}");
        assert!((var.sqrt() - 0.5).abs() < 0.02, "std {}", var.sqrt());
    }
}
