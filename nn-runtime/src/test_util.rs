//! Helpers shared by the runtime's unit tests.

use crate::Rng;

/// `n` values uniform in [-1, 1) from `seed`.
pub fn random_vec(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed, 0);
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// Asserts `got ≈ want` element-wise within `tol × (1 + |want|)`.
pub fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{what}: element {i}: got {g}, want {w}");
    }
}
