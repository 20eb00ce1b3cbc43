//! Each optimizer against its published update rule, written out independently here in f64.

// The reference computations below read best as the index arithmetic of their formulas.
#![allow(clippy::needless_range_loop)]

use super::*;
use crate::Error;

const STEPS: usize = 4;

fn params0() -> Vec<f64> {
    vec![0.5, -1.5, 2.0, 0.0, -0.25]
}

/// A different gradient every step, so that state (momentum, moments) matters.
fn grad(step: usize, p: &[f64]) -> Vec<f64> {
    p.iter().enumerate().map(|(i, &x)| 0.3 * x + (i as f64 - 2.0) * 0.1 + (step as f64) * 0.05).collect()
}

fn run(opt: &mut dyn Optimizer) -> Vec<f64> {
    let mut p: Vec<f32> = params0().iter().map(|&v| v as f32).collect();
    for s in 0..STEPS {
        let pd: Vec<f64> = p.iter().map(|&v| v as f64).collect();
        let g: Vec<f32> = grad(s, &pd).iter().map(|&v| v as f32).collect();
        opt.step(&mut p, &g);
    }
    p.iter().map(|&v| v as f64).collect()
}

fn assert_near(got: &[f64], want: &[f64]) {
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-5 * (1.0 + w.abs()), "got {got:?}\nwant {want:?}");
    }
}

#[test]
fn sgd_momentum_dampening_weight_decay() {
    let (lr, mu, tau, wd) = (0.1, 0.9, 0.1, 0.01);
    let mut p = params0();
    let mut b = vec![0.0; p.len()];
    for s in 0..STEPS {
        let g = grad(s, &p);
        for i in 0..p.len() {
            let gi = g[i] + wd * p[i];
            b[i] = if s == 0 { gi } else { mu * b[i] + (1.0 - tau) * gi };
            p[i] -= lr * b[i];
        }
    }
    let cfg = SgdConfig { lr: 0.1, momentum: 0.9, dampening: 0.1, weight_decay: 0.01, nesterov: false };
    assert_near(&run(&mut Sgd::new(cfg)), &p);
}

#[test]
fn sgd_plain_and_nesterov() {
    let mut p = params0();
    for s in 0..STEPS {
        let g = grad(s, &p);
        p.iter_mut().zip(&g).for_each(|(p, g)| *p -= 0.05 * g);
    }
    assert_near(&run(&mut Sgd::new(SgdConfig { lr: 0.05, ..Default::default() })), &p);

    let (lr, mu) = (0.05, 0.8);
    let mut p = params0();
    let mut b = vec![0.0; p.len()];
    for s in 0..STEPS {
        let g = grad(s, &p);
        for i in 0..p.len() {
            b[i] = if s == 0 { g[i] } else { mu * b[i] + g[i] };
            p[i] -= lr * (g[i] + mu * b[i]);
        }
    }
    let cfg = SgdConfig { lr: 0.05, momentum: 0.8, nesterov: true, ..Default::default() };
    assert_near(&run(&mut Sgd::new(cfg)), &p);
}

fn adam_reference(decoupled: bool, wd: f64, amsgrad: bool) -> Vec<f64> {
    let (lr, b1, b2, eps) = (0.01, 0.9, 0.999, 1e-8);
    let mut p = params0();
    let (mut m, mut v, mut vmax) = (vec![0.0; p.len()], vec![0.0; p.len()], vec![0.0f64; p.len()]);
    for s in 0..STEPS {
        let g = grad(s, &p);
        let t = (s + 1) as i32;
        for i in 0..p.len() {
            let mut gi = g[i];
            if decoupled {
                p[i] *= 1.0 - lr * wd;
            } else {
                gi += wd * p[i];
            }
            m[i] = b1 * m[i] + (1.0 - b1) * gi;
            v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
            vmax[i] = vmax[i].max(v[i]);
            let m_hat = m[i] / (1.0 - b1.powi(t));
            let v_hat = if amsgrad { vmax[i] } else { v[i] } / (1.0 - b2.powi(t));
            p[i] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
    }
    p
}

#[test]
fn adam_and_adamw_follow_their_papers() {
    let cfg = AdamConfig { lr: 0.01, weight_decay: 0.1, ..Default::default() };
    assert_near(&run(&mut Adam::new(cfg)), &adam_reference(false, 0.1, false));
    let cfg = AdamConfig { lr: 0.01, amsgrad: true, ..Default::default() };
    assert_near(&run(&mut Adam::new(cfg)), &adam_reference(false, 0.0, true));
    let cfg = AdamWConfig { lr: 0.01, weight_decay: 0.1, ..Default::default() };
    assert_near(&run(&mut AdamW::new(cfg)), &adam_reference(true, 0.1, false));
}

#[test]
fn rmsprop_plain_centered_and_with_momentum() {
    for (centered, mu) in [(false, 0.0), (true, 0.0), (true, 0.5), (false, 0.9)] {
        let (lr, alpha, eps) = (0.01, 0.99, 1e-8);
        let mut p = params0();
        let (mut v, mut a, mut b) = (vec![0.0; p.len()], vec![0.0; p.len()], vec![0.0; p.len()]);
        for s in 0..STEPS {
            let g = grad(s, &p);
            for i in 0..p.len() {
                v[i] = alpha * v[i] + (1.0 - alpha) * g[i] * g[i];
                a[i] = alpha * a[i] + (1.0 - alpha) * g[i];
                let var: f64 = if centered { v[i] - a[i] * a[i] } else { v[i] };
                let d = var.sqrt() + eps;
                if mu > 0.0 {
                    b[i] = mu * b[i] + g[i] / d;
                    p[i] -= lr * b[i];
                } else {
                    p[i] -= lr * g[i] / d;
                }
            }
        }
        let cfg = RmsPropConfig { centered, momentum: mu as f32, ..Default::default() };
        assert_near(&run(&mut RmsProp::new(cfg)), &p);
    }
}

#[test]
fn defaults_are_pytorchs() {
    assert_eq!(SgdConfig::default().lr, 1e-3);
    let adam = AdamConfig::default();
    assert_eq!((adam.lr, adam.beta1, adam.beta2, adam.eps, adam.weight_decay), (1e-3, 0.9, 0.999, 1e-8, 0.0));
    assert_eq!(AdamWConfig::default().weight_decay, 1e-2);
    let rms = RmsPropConfig::default();
    assert_eq!((rms.lr, rms.alpha, rms.eps), (1e-2, 0.99, 1e-8));
}

#[test]
fn learning_rate_changes_between_steps() {
    let mut opt = Sgd::new(SgdConfig { lr: 1.0, ..Default::default() });
    let mut p = [1.0f32];
    opt.step(&mut p, &[1.0]);
    opt.set_learning_rate(0.5);
    opt.step(&mut p, &[1.0]);
    assert_eq!(p, [-0.5]);
    assert_eq!(opt.learning_rate(), 0.5);
}

#[test]
fn impossible_hyper_parameters_are_errors() {
    let err = Sgd::try_new(SgdConfig { lr: -0.1, ..Default::default() }).unwrap_err();
    assert_eq!(err.to_string(), "invalid hyper-parameter `lr` = -0.10000000149011612: a finite learning rate ≥ 0");
    assert!(matches!(
        Sgd::try_new(SgdConfig { nesterov: true, ..Default::default() }),
        Err(Error::InvalidHyperParameter { name: "momentum", .. })
    ));
    assert!(matches!(
        Adam::try_new(AdamConfig { beta1: 1.0, ..Default::default() }),
        Err(Error::InvalidHyperParameter { name: "beta1", .. })
    ));
    assert!(matches!(
        AdamW::try_new(AdamWConfig { eps: f32::NAN, ..Default::default() }),
        Err(Error::InvalidHyperParameter { name: "eps", .. })
    ));
    assert!(RmsProp::try_new(RmsPropConfig { alpha: 1.5, ..Default::default() }).is_err());
    let mut opt = Adam::new(AdamConfig::default());
    assert!(opt.try_set_learning_rate(f32::INFINITY).is_err());
}

#[test]
#[should_panic(expected = "use one optimizer per network")]
fn one_optimizer_cannot_serve_two_networks() {
    let mut opt = Adam::new(AdamConfig::default());
    opt.step(&mut [0.0; 3], &[1.0; 3]);
    opt.step(&mut [0.0; 4], &[1.0; 4]);
}

#[test]
fn state_round_trips_and_continues_identically() {
    let mut opts: Vec<(Box<dyn Optimizer>, Box<dyn Optimizer>)> = vec![
        (
            Box::new(Sgd::new(SgdConfig { momentum: 0.9, ..Default::default() })),
            Box::new(Sgd::new(SgdConfig { momentum: 0.9, ..Default::default() })),
        ),
        (
            Box::new(Adam::new(AdamConfig { amsgrad: true, ..Default::default() })),
            Box::new(Adam::new(AdamConfig { amsgrad: true, ..Default::default() })),
        ),
        (Box::new(AdamW::new(AdamWConfig::default())), Box::new(AdamW::new(AdamWConfig::default()))),
        (
            Box::new(RmsProp::new(RmsPropConfig { centered: true, momentum: 0.5, ..Default::default() })),
            Box::new(RmsProp::new(RmsPropConfig { centered: true, momentum: 0.5, ..Default::default() })),
        ),
    ];
    for (a, b) in &mut opts {
        let mut p = [0.5f32, -1.0, 2.0];
        a.step(&mut p, &[0.1, 0.2, -0.3]);
        a.step(&mut p, &[0.3, -0.2, 0.1]);
        b.load_state(&a.state()).unwrap();
        let mut q = p;
        a.step(&mut p, &[0.2, 0.2, 0.2]);
        b.step(&mut q, &[0.2, 0.2, 0.2]);
        assert_eq!(p, q, "{}", a.state().kind);
    }
    let sgd_state = Sgd::new(SgdConfig::default()).state();
    let err = Adam::new(AdamConfig::default()).load_state(&sgd_state).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid training setting `optimizer state`: it belongs to a `sgd` optimizer, not `adam`"
    );
}

/// Solves `A·x = b` by Gaussian elimination with partial pivoting, in f64.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs())).unwrap();
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..n {
            let f = a[r][c] / a[c][c];
            for k in c..n {
                a[r][k] -= f * a[c][k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        x[r] = (b[r] - (r + 1..n).map(|k| a[r][k] * x[k]).sum::<f64>()) / a[r][r];
    }
    x
}

#[test]
fn lbfgs_finds_the_minimum_of_a_convex_quadratic() {
    // f(x) = ½ xᵀAx − bᵀx with A = MᵀM + I (positive definite), minimum at A⁻¹b.
    let n = 6;
    let m: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| ((i * 7 + j * 3) % 5) as f64 - 2.0).collect()).collect();
    let a: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..n).map(|j| (0..n).map(|k| m[k][i] * m[k][j]).sum::<f64>() + if i == j { 1.0 } else { 0.0 }).collect()
        })
        .collect();
    let b: Vec<f64> = (0..n).map(|i| i as f64 - 2.5).collect();
    let optimum = solve(a.clone(), b.clone());
    let mut x = vec![0.0f32; n];
    let mut lbfgs = Lbfgs::new(LbfgsConfig { history: 5, ..Default::default() });
    let report = lbfgs
        .minimize(&mut x, |x, g| {
            let mut f = 0.0;
            for i in 0..n {
                let ax: f64 = (0..n).map(|j| a[i][j] * x[j] as f64).sum();
                g[i] = (ax - b[i]) as f32;
                f += 0.5 * x[i] as f64 * ax - b[i] * x[i] as f64;
            }
            Ok(f as f32)
        })
        .unwrap();
    for (xi, oi) in x.iter().zip(&optimum) {
        assert!((*xi as f64 - oi).abs() < 1e-3 * (1.0 + oi.abs()), "{x:?} vs {optimum:?} ({report:?})");
    }
    assert!(report.iterations < 40, "{report:?}");
}

#[test]
fn lbfgs_solves_rosenbrock() {
    let mut x = [-1.2f32, 1.0];
    let report = Lbfgs::new(LbfgsConfig { max_iterations: 200, ..Default::default() })
        .minimize(&mut x, |x, g| {
            let (a, b) = (x[0] as f64, x[1] as f64);
            g[0] = (-2.0 * (1.0 - a) - 400.0 * a * (b - a * a)) as f32;
            g[1] = (200.0 * (b - a * a)) as f32;
            Ok(((1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)) as f32)
        })
        .unwrap();
    assert!((x[0] - 1.0).abs() < 1e-3 && (x[1] - 1.0).abs() < 2e-3, "{x:?} {report:?}");
}

#[test]
fn lbfgs_rejects_impossible_settings() {
    assert!(Lbfgs::try_new(LbfgsConfig { history: 0, ..Default::default() }).is_err());
    assert!(Lbfgs::try_new(LbfgsConfig { c1: 0.95, c2: 0.9, ..Default::default() }).is_err());
}

#[test]
fn moments_of_a_gradient_that_stays_zero_go_to_zero_not_subnormal() {
    let optimizers: Vec<Box<dyn Optimizer>> = vec![
        Box::new(Adam::new(AdamConfig { amsgrad: true, ..AdamConfig::default() })),
        Box::new(AdamW::new(AdamWConfig::default())),
        Box::new(RmsProp::new(RmsPropConfig { momentum: 0.9, centered: true, ..RmsPropConfig::default() })),
        Box::new(Sgd::new(SgdConfig { momentum: 0.9, ..SgdConfig::default() })),
    ];
    for mut opt in optimizers {
        let mut params = vec![0.5f32, -0.25];
        // One real gradient, then thousands of zero ones: the moments decay geometrically through the subnormal
        // range, where arithmetic is a hundred times slower.
        opt.step(&mut params, &[1e-3, -2e-3]);
        for _ in 0..3000 {
            opt.step(&mut params, &[0.0, 0.0]);
        }
        let state = opt.state();
        for (name, values) in &state.buffers {
            assert!(
                values.iter().all(|v| *v == 0.0 || v.is_normal()),
                "{}: `{name}` holds subnormal values {values:?}",
                state.kind
            );
        }
        assert!(state.buffers.iter().any(|(_, v)| v.contains(&0.0)), "{}: nothing decayed", state.kind);
        assert!(params.iter().all(|p| p.is_finite()));
    }
}
