//! L-BFGS for full-batch problems: the two-loop recursion (Nocedal & Wright, Algorithm 7.4) with a line search
//! satisfying the strong Wolfe conditions (Algorithms 3.5 and 3.6, cubic interpolation in the zoom phase).

use super::check;
use crate::loss::Loss;
use crate::net::Network;
use crate::net::{Introspection, Training};
use crate::Result;
use std::collections::VecDeque;

/// Settings of [`Lbfgs`]; the defaults follow PyTorch's `torch.optim.LBFGS` where it has the same setting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LbfgsConfig {
    /// Correction pairs kept (PyTorch: `history_size`, 100).
    pub history: usize,
    /// Iterations at most (PyTorch: `max_iter`, 20 per `step`; here per `minimize` call, default 100).
    pub max_iterations: usize,
    /// Stop when the largest gradient component is at most this (PyTorch: 1e-7).
    pub tolerance_grad: f32,
    /// Stop when the loss or the step changes by less than this (PyTorch: 1e-9).
    pub tolerance_change: f32,
    /// Wolfe's sufficient-decrease constant `c₁`.
    pub c1: f32,
    /// Wolfe's curvature constant `c₂`.
    pub c2: f32,
}

impl Default for LbfgsConfig {
    fn default() -> Self {
        Self { history: 100, max_iterations: 100, tolerance_grad: 1e-7, tolerance_change: 1e-9, c1: 1e-4, c2: 0.9 }
    }
}

/// Why [`Lbfgs::minimize`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The gradient fell below `tolerance_grad`.
    Gradient,
    /// The loss or the step changed less than `tolerance_change`.
    Change,
    /// `max_iterations` were used.
    Iterations,
    /// The line search found no point decreasing the loss (the problem is solved to machine precision, or the
    /// gradient is wrong).
    LineSearch,
}

/// What [`Lbfgs::minimize`] achieved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    /// Iterations done.
    pub iterations: usize,
    /// Loss and gradient evaluations.
    pub evaluations: usize,
    /// The final loss.
    pub loss: f32,
    /// The largest gradient component at the end.
    pub grad_max: f32,
    /// Why it stopped.
    pub stop: Stop,
}

/// Limited-memory BFGS. Unlike the other optimizers it drives the evaluations itself: give it the parameters
/// and a function computing the loss and gradient.
#[derive(Clone, Debug)]
pub struct Lbfgs {
    config: LbfgsConfig,
    s: VecDeque<Vec<f64>>,
    y: VecDeque<Vec<f64>>,
}

impl Lbfgs {
    /// An optimizer with the given settings.
    ///
    /// # Panics
    /// On invalid settings; [`Lbfgs::try_new`] returns them as an error.
    #[track_caller]
    pub fn new(config: LbfgsConfig) -> Self {
        match Self::try_new(config) {
            Ok(optimizer) => optimizer,
            Err(e) => panic!("{e}"),
        }
    }

    /// An optimizer with the given settings, or an error naming the invalid one.
    pub fn try_new(config: LbfgsConfig) -> Result<Self> {
        check("history", config.history as f32, config.history >= 1, "at least 1 correction pair")?;
        check("tolerance_grad", config.tolerance_grad, config.tolerance_grad >= 0.0, "a tolerance ≥ 0")?;
        check("tolerance_change", config.tolerance_change, config.tolerance_change >= 0.0, "a tolerance ≥ 0")?;
        let wolfe = 0.0 < config.c1 && config.c1 < config.c2 && config.c2 < 1.0;
        check("c1", config.c1, wolfe, "0 < c1 < c2 < 1")?;
        Ok(Self { config, s: VecDeque::new(), y: VecDeque::new() })
    }

    /// Minimises `f` from `x`, where `f(x, g)` returns the loss at `x` and writes its gradient into `g`. On return
    /// `x` holds the best point found.
    pub fn minimize(&mut self, x: &mut [f32], mut f: impl FnMut(&[f32], &mut [f32]) -> Result<f32>) -> Result<Report> {
        let n = x.len();
        let cfg = self.config;
        let mut g = vec![0.0f32; n];
        let mut evaluations = 1;
        let mut loss = f(x, &mut g)?;
        let report = |iterations, evaluations, loss, g: &[f32], stop| Report {
            iterations,
            evaluations,
            loss,
            grad_max: max_abs(g),
            stop,
        };
        if max_abs(&g) <= cfg.tolerance_grad {
            return Ok(report(0, evaluations, loss, &g, Stop::Gradient));
        }
        let mut search = LineSearch::new(n);
        for iteration in 1..=cfg.max_iterations {
            let d = self.direction(&g);
            let slope: f64 = dot64(&g, &d);
            if slope > -f64::from(cfg.tolerance_change) {
                return Ok(report(iteration - 1, evaluations, loss, &g, Stop::Change));
            }
            // The first step is scaled to a unit-length move, later ones start from the quasi-Newton step.
            let t0 = if self.s.is_empty() {
                (1.0 / g.iter().map(|v| f64::from(v.abs())).sum::<f64>()).min(1.0)
            } else {
                1.0
            };
            let found = search.run(x, loss, slope, &d, t0, &cfg, &mut f)?;
            evaluations += search.evaluations;
            let Some((t, new_loss)) = found else {
                return Ok(report(iteration - 1, evaluations, loss, &g, Stop::LineSearch));
            };
            let step: Vec<f64> = d.iter().map(|di| t * di).collect();
            let change: Vec<f64> = search.best_g.iter().zip(&g).map(|(a, b)| f64::from(*a) - f64::from(*b)).collect();
            x.copy_from_slice(&search.best_x);
            g.copy_from_slice(&search.best_g);
            let previous = loss;
            loss = new_loss;
            if dot(&step, &change) > 1e-10 {
                if self.s.len() == cfg.history {
                    self.s.pop_front();
                    self.y.pop_front();
                }
                self.s.push_back(step.clone());
                self.y.push_back(change);
            }
            if max_abs(&g) <= cfg.tolerance_grad {
                return Ok(report(iteration, evaluations, loss, &g, Stop::Gradient));
            }
            let moved = step.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if moved <= f64::from(cfg.tolerance_change)
                || (f64::from(loss) - f64::from(previous)).abs() < f64::from(cfg.tolerance_change)
            {
                return Ok(report(iteration, evaluations, loss, &g, Stop::Change));
            }
        }
        Ok(report(cfg.max_iterations, evaluations, loss, &g, Stop::Iterations))
    }

    /// Minimises a network's mean loss over the whole batch `xs`, `targets`.
    pub fn train<N: Network, L: Loss<N::Output>>(
        &mut self,
        net: &mut N,
        xs: &[N::Input],
        targets: &[L::Target],
        loss: &L,
    ) -> Result<Report> {
        let mut x = net.params().to_vec();
        let report = self.minimize(&mut x, |p, g| {
            net.params_mut().copy_from_slice(p);
            let value = net.loss_and_grad(xs, targets, loss)?;
            g.copy_from_slice(net.grads());
            Ok(value)
        })?;
        net.params_mut().copy_from_slice(&x);
        Ok(report)
    }

    /// `−H·g` by the two-loop recursion, with the initial Hessian scaled by `sᵀy / yᵀy` of the newest pair.
    fn direction(&self, g: &[f32]) -> Vec<f64> {
        let mut q: Vec<f64> = g.iter().map(|&v| f64::from(v)).collect();
        let rho: Vec<f64> = self.s.iter().zip(&self.y).map(|(s, y)| 1.0 / dot(s, y)).collect();
        let mut alpha = vec![0.0; self.s.len()];
        for i in (0..self.s.len()).rev() {
            alpha[i] = rho[i] * dot(&self.s[i], &q);
            q.iter_mut().zip(&self.y[i]).for_each(|(q, y)| *q -= alpha[i] * y);
        }
        if let (Some(s), Some(y)) = (self.s.back(), self.y.back()) {
            let gamma = dot(s, y) / dot(y, y);
            q.iter_mut().for_each(|v| *v *= gamma);
        }
        for i in 0..self.s.len() {
            let beta = rho[i] * dot(&self.y[i], &q);
            q.iter_mut().zip(&self.s[i]).for_each(|(q, s)| *q += (alpha[i] - beta) * s);
        }
        q.iter_mut().for_each(|v| *v = -*v);
        q
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn dot64(a: &[f32], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| f64::from(*x) * y).sum()
}

fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0.0f32, |m, x| m.max(x.abs()))
}

/// Buffers and bookkeeping of the strong-Wolfe line search along `x + t·d`.
struct LineSearch {
    trial_x: Vec<f32>,
    trial_g: Vec<f32>,
    best_x: Vec<f32>,
    best_g: Vec<f32>,
    evaluations: usize,
}

/// A point on the search line: step, loss, directional derivative.
#[derive(Clone, Copy)]
struct Point {
    t: f64,
    f: f64,
    slope: f64,
}

impl LineSearch {
    fn new(n: usize) -> Self {
        Self {
            trial_x: vec![0.0; n],
            trial_g: vec![0.0; n],
            best_x: vec![0.0; n],
            best_g: vec![0.0; n],
            evaluations: 0,
        }
    }

    fn eval(
        &mut self,
        x: &[f32],
        d: &[f64],
        t: f64,
        f: &mut impl FnMut(&[f32], &mut [f32]) -> Result<f32>,
    ) -> Result<Point> {
        for ((tx, &xi), &di) in self.trial_x.iter_mut().zip(x).zip(d) {
            *tx = (f64::from(xi) + t * di) as f32;
        }
        self.evaluations += 1;
        let value = f(&self.trial_x, &mut self.trial_g)?;
        Ok(Point { t, f: f64::from(value), slope: dot64(&self.trial_g, d) })
    }

    fn keep(&mut self) {
        self.best_x.copy_from_slice(&self.trial_x);
        self.best_g.copy_from_slice(&self.trial_g);
    }

    /// Returns the accepted step and loss (point and gradient in `best_x`, `best_g`), or `None` if no step
    /// decreased the loss.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &mut self,
        x: &[f32],
        f0: f32,
        slope0: f64,
        d: &[f64],
        t0: f64,
        cfg: &LbfgsConfig,
        f: &mut impl FnMut(&[f32], &mut [f32]) -> Result<f32>,
    ) -> Result<Option<(f64, f32)>> {
        self.evaluations = 0;
        let (c1, c2) = (f64::from(cfg.c1), f64::from(cfg.c2));
        let start = Point { t: 0.0, f: f64::from(f0), slope: slope0 };
        let armijo = |p: &Point| p.f <= start.f + c1 * p.t * slope0;
        let curvature = |p: &Point| p.slope.abs() <= -c2 * slope0;
        let mut prev = start;
        let mut t = t0;
        let mut best: Option<Point> = None;
        let (mut lo, mut hi);
        let mut i = 0;
        loop {
            let p = self.eval(x, d, t, f)?;
            if p.f.is_finite() && p.f < best.map_or(start.f, |b| b.f) {
                best = Some(p);
                self.keep();
            }
            if !p.f.is_finite() || !armijo(&p) || (i > 0 && p.f >= prev.f) {
                (lo, hi) = (prev, p);
                break;
            }
            if curvature(&p) {
                return Ok(Some((p.t, p.f as f32)));
            }
            if p.slope >= 0.0 {
                (lo, hi) = (p, prev);
                break;
            }
            prev = p;
            t *= 2.0;
            i += 1;
            if i >= 25 {
                return Ok(best.map(|b| (b.t, b.f as f32)));
            }
        }
        // Zoom: keep `lo` the best point satisfying sufficient decrease, `hi` across the minimum.
        for _ in 0..25 {
            if (hi.t - lo.t).abs() * d.iter().fold(0.0f64, |m, v| m.max(v.abs())) < f64::from(cfg.tolerance_change) {
                break;
            }
            let t = interpolate(&lo, &hi);
            let p = self.eval(x, d, t, f)?;
            if p.f.is_finite() && p.f < best.map_or(start.f, |b| b.f) {
                best = Some(p);
                self.keep();
            }
            if !p.f.is_finite() || !armijo(&p) || p.f >= lo.f {
                hi = p;
            } else {
                if curvature(&p) {
                    if best.is_none_or(|b| b.t != p.t) {
                        self.keep();
                    }
                    return Ok(Some((p.t, p.f as f32)));
                }
                if p.slope * (hi.t - lo.t) >= 0.0 {
                    hi = lo;
                }
                lo = p;
            }
        }
        Ok(best.map(|b| (b.t, b.f as f32)))
    }
}

/// The minimiser of the cubic through two points with their slopes, kept inside the middle 80 % of the bracket
/// (bisection when the cubic has no minimum there).
fn interpolate(a: &Point, b: &Point) -> f64 {
    let (lo, hi) = if a.t < b.t { (a.t, b.t) } else { (b.t, a.t) };
    let d1 = a.slope + b.slope - 3.0 * (a.f - b.f) / (a.t - b.t);
    let square = d1 * d1 - a.slope * b.slope;
    let margin = 0.1 * (hi - lo);
    let t = if square >= 0.0 {
        let d2 = square.sqrt() * (b.t - a.t).signum();
        b.t - (b.t - a.t) * ((b.slope + d2 - d1) / (b.slope - a.slope + 2.0 * d2))
    } else {
        f64::NAN
    };
    if t.is_finite() {
        t.clamp(lo + margin, hi - margin)
    } else {
        (lo + hi) / 2.0
    }
}
