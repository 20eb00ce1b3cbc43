//! L-BFGS on a network: logistic regression reaches the optimum that Newton's method finds independently.

// Newton's method below reads best as the index arithmetic of its formulas.
#![allow(clippy::needless_range_loop)]

use nn::prelude::*;
use nn::Rng;

network! {
    struct Logistic {
        Input<3> -> lin: Linear<3, 1>
    }
}

#[test]
fn logistic_regression_reaches_the_newton_optimum() {
    // Overlapping classes, so the optimum is finite and unique.
    let mut rng = Rng::new(1, 0);
    let n = 400;
    let xs: Vec<[f32; 3]> =
        (0..n).map(|_| [rng.normal(0.0, 1.0), rng.normal(0.0, 1.0), rng.normal(0.0, 1.0)]).collect();
    let ys: Vec<[f32; 1]> = xs
        .iter()
        .map(|x| {
            let z = 1.5 * x[0] - 2.0 * x[1] + 0.5 * x[2] + 0.3;
            [if rng.uniform(0.0, 1.0) < 1.0 / (1.0 + (-z).exp()) { 1.0 } else { 0.0 }]
        })
        .collect();

    // Newton's method in f64 on the mean log-loss, parameters (w0, w1, w2, b).
    let mut theta = [0.0f64; 4];
    for _ in 0..50 {
        let mut g = [0.0f64; 4];
        let mut h = [[0.0f64; 4]; 4];
        for (x, y) in xs.iter().zip(&ys) {
            let f = [x[0] as f64, x[1] as f64, x[2] as f64, 1.0];
            let z: f64 = (0..4).map(|i| theta[i] * f[i]).sum();
            let p = 1.0 / (1.0 + (-z).exp());
            for i in 0..4 {
                g[i] += (p - y[0] as f64) * f[i] / n as f64;
                for j in 0..4 {
                    h[i][j] += p * (1.0 - p) * f[i] * f[j] / n as f64;
                }
            }
        }
        // Solve h·step = g by Gaussian elimination.
        let mut a = h;
        let mut b = g;
        for c in 0..4 {
            for r in c + 1..4 {
                let k = a[r][c] / a[c][c];
                for q in c..4 {
                    a[r][q] -= k * a[c][q];
                }
                b[r] -= k * b[c];
            }
        }
        let mut step = [0.0; 4];
        for r in (0..4).rev() {
            step[r] = (b[r] - (r + 1..4).map(|q| a[r][q] * step[q]).sum::<f64>()) / a[r][r];
        }
        (0..4).for_each(|i| theta[i] -= step[i]);
    }

    let mut net = Logistic::new(2);
    let report = Lbfgs::new(LbfgsConfig::default()).train(&mut net, &xs, &ys, &BinaryCrossEntropyWithLogits).unwrap();
    let w = net.lin.weight(&net.params)[0];
    let b = net.lin.bias(&net.params).unwrap()[0];
    let found = [w[0] as f64, w[1] as f64, w[2] as f64, b as f64];
    for (f, t) in found.iter().zip(&theta) {
        assert!((f - t).abs() < 2e-3, "L-BFGS {found:?}, Newton {theta:?}, {report:?}");
    }
    assert!(report.grad_max < 1e-4, "{report:?}");
}
