//! Generated toy data sets, for tests and demonstrations that need no files.

use super::dataset::Dataset;
use crate::Rng;

/// Two interleaving half circles in the plane, alternating classes 0 and 1, with Gaussian noise of standard
/// deviation `noise` on both coordinates (scikit-learn's `make_moons`), reproducible from `seed`.
pub fn two_moons(n: usize, noise: f32, seed: u64) -> Dataset<[f32; 2], usize> {
    let mut rng = Rng::new(seed, 0);
    let (inputs, targets) = (0..n)
        .map(|i| {
            let class = i % 2;
            let t = rng.uniform(0.0, std::f32::consts::PI);
            let (x, y) = if class == 0 { (t.cos(), t.sin()) } else { (1.0 - t.cos(), 0.5 - t.sin()) };
            ([x + rng.normal(0.0, noise), y + rng.normal(0.0, noise)], class)
        })
        .unzip();
    Dataset { inputs, targets }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moons_are_balanced_reproducible_and_in_range() {
        let a = two_moons(200, 0.1, 3);
        assert_eq!(a, two_moons(200, 0.1, 3));
        assert_ne!(a, two_moons(200, 0.1, 4));
        assert_eq!(a.targets.iter().filter(|&&c| c == 1).count(), 100);
        // Without noise every point lies on its half circle.
        let clean = two_moons(50, 0.0, 1);
        for (p, &c) in clean.inputs.iter().zip(&clean.targets) {
            let (cx, cy) = if c == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
            assert!(((p[0] - cx).hypot(p[1] - cy) - 1.0).abs() < 1e-5);
        }
    }
}
