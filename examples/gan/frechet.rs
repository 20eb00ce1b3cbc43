//! The Fréchet distance between two sets of feature vectors, each summarised by a Gaussian: the measure behind
//! FID (Heusel et al., 2017), here over a small classifier's features instead of Inception's.
//!
//! `d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^½)`, with `tr (Σ₁ Σ₂)^½ = Σ √λᵢ` over the eigenvalues of the symmetric
//! `Σ₁^½ Σ₂ Σ₁^½`, which has the same spectrum. Both eigenproblems are symmetric, solved by cyclic Jacobi
//! rotations in f64 (exact enough for the 84×84 covariances here; no linear-algebra crate needed for that size).

/// Mean and covariance (divided by `n − 1`) of `rows`, each of `dim` values.
pub fn moments(rows: &[Vec<f32>]) -> (Vec<f64>, Vec<f64>) {
    let (n, dim) = (rows.len(), rows.first().map_or(0, Vec::len));
    let mut mean = vec![0.0; dim];
    for r in rows {
        mean.iter_mut().zip(r).for_each(|(m, &v)| *m += f64::from(v));
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut cov = vec![0.0; dim * dim];
    for r in rows {
        let centred: Vec<f64> = r.iter().zip(&mean).map(|(&v, m)| f64::from(v) - m).collect();
        for i in 0..dim {
            for j in 0..=i {
                cov[i * dim + j] += centred[i] * centred[j];
            }
        }
    }
    for i in 0..dim {
        for j in 0..=i {
            let c = cov[i * dim + j] / (n as f64 - 1.0);
            cov[i * dim + j] = c;
            cov[j * dim + i] = c;
        }
    }
    (mean, cov)
}

/// Eigenvalues and eigenvectors (columns of the returned matrix) of the symmetric `dim × dim` matrix `a`.
fn eigen(mut a: Vec<f64>, dim: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; dim * dim];
    (0..dim).for_each(|i| v[i * dim + i] = 1.0);
    for _sweep in 0..100 {
        let off: f64 = (0..dim)
            .flat_map(|i| (0..dim).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * dim + j].powi(2))
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..dim {
            for q in p + 1..dim {
                let apq = a[p * dim + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                // The rotation that zeroes a[p][q] (Golub and Van Loan, algorithm 8.4.1).
                let theta = (a[q * dim + q] - a[p * dim + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..dim {
                    let (akp, akq) = (a[k * dim + p], a[k * dim + q]);
                    a[k * dim + p] = c * akp - s * akq;
                    a[k * dim + q] = s * akp + c * akq;
                }
                for k in 0..dim {
                    let (apk, aqk) = (a[p * dim + k], a[q * dim + k]);
                    a[p * dim + k] = c * apk - s * aqk;
                    a[q * dim + k] = s * apk + c * aqk;
                }
                for k in 0..dim {
                    let (vkp, vkq) = (v[k * dim + p], v[k * dim + q]);
                    v[k * dim + p] = c * vkp - s * vkq;
                    v[k * dim + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..dim).map(|i| a[i * dim + i]).collect(), v)
}

/// `a · b` for `dim × dim` matrices.
fn product(a: &[f64], b: &[f64], dim: usize) -> Vec<f64> {
    let mut c = vec![0.0; dim * dim];
    for i in 0..dim {
        for k in 0..dim {
            let aik = a[i * dim + k];
            for j in 0..dim {
                c[i * dim + j] += aik * b[k * dim + j];
            }
        }
    }
    c
}

/// The Fréchet distance (squared, as FID reports it) between the Gaussians of `first` and `second`.
pub fn distance(first: &[Vec<f32>], second: &[Vec<f32>]) -> f64 {
    let ((m1, s1), (m2, s2)) = (moments(first), moments(second));
    let dim = m1.len();
    // Σ₁^½ = V diag(√λ) Vᵀ.
    let (values, vectors) = eigen(s1.clone(), dim);
    let mut root = vec![0.0; dim * dim];
    for i in 0..dim {
        for j in 0..dim {
            root[i * dim + j] =
                (0..dim).map(|k| vectors[i * dim + k] * values[k].max(0.0).sqrt() * vectors[j * dim + k]).sum();
        }
    }
    let middle = product(&product(&root, &s2, dim), &root, dim);
    let (middle_values, _) = eigen(middle, dim);
    let trace_root: f64 = middle_values.iter().map(|&l| l.max(0.0).sqrt()).sum();
    let mean_term: f64 = m1.iter().zip(&m2).map(|(a, b)| (a - b).powi(2)).sum();
    let trace = |s: &[f64]| (0..dim).map(|i| s[i * dim + i]).sum::<f64>();
    mean_term + trace(&s1) + trace(&s2) - 2.0 * trace_root
}

#[cfg(test)]
mod tests {
    /// Two diagonal Gaussians: `d² = Σ (μ₁ − μ₂)² + Σ (σ₁ − σ₂)²` (their covariances commute).
    #[test]
    fn diagonal_gaussians_have_the_closed_form_distance() {
        let a: Vec<Vec<f32>> = (0..4).map(|i| vec![[1.0, -1.0, 1.0, -1.0][i], [2.0, 2.0, -2.0, -2.0][i]]).collect();
        let b: Vec<Vec<f32>> = a.iter().map(|r| vec![3.0 * r[0] + 1.0, r[1]]).collect();
        let (s1, s2) = ((4.0f64 / 3.0).sqrt(), (16.0f64 / 3.0).sqrt());
        let expected = 1.0 + (3.0 * s1 - s1).powi(2) + (s2 - s2).powi(2);
        assert!((super::distance(&a, &b) - expected).abs() < 1e-9);
    }
}
