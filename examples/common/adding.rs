//! The adding problem's data (Hochreiter & Schmidhuber 1997), and the sensitivity of a network's output to each
//! step, shared by `adding_problem` and `transformer_adding`.

use nn::prelude::*;
use nn::Rng;

/// A sequence of (value, marker) steps.
pub type Steps = Vec<[f32; 2]>;

/// `n` sequences of `steps` steps and their targets.
pub fn adding(n: usize, steps: usize, seed: u64) -> Dataset<Steps, [f32; 1]> {
    let mut rng = Rng::new(seed, 0);
    let (mut xs, mut ys) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let mut x: Steps = (0..steps).map(|_| [rng.uniform(0.0, 1.0), 0.0]).collect();
        let half = steps / 2;
        let (a, b) = (rng.below(half), half + rng.below(steps - half));
        x[a][1] = 1.0;
        x[b][1] = 1.0;
        ys.push([x[a][0] + x[b][0]]);
        xs.push(x);
    }
    Dataset::new(xs, ys).unwrap_or_else(|e| super::fail(e))
}

/// Per step t, the root-mean-square over `xs` of ‖∂output/∂x_t‖.
pub fn sensitivity<N: Network<Input = Steps, Output = [f32; 1]>>(net: &mut N, xs: &[Steps]) -> Vec<f32> {
    net.eval();
    let ones = vec![[1.0f32]; xs.len()];
    let mut dx: Vec<Steps> = xs.iter().map(|x| vec![[0.0; 2]; x.len()]).collect();
    net.backward(xs, &ones, Some(&mut dx)).unwrap_or_else(|e| super::fail(e));
    let steps = xs[0].len();
    (0..steps)
        .map(|t| {
            let sum: f32 = dx.iter().map(|d| d[t][0] * d[t][0] + d[t][1] * d[t][1]).sum();
            (sum / xs.len() as f32).sqrt()
        })
        .collect()
}
