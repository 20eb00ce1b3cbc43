//! From a sequence to one vector per sample: the output at each sample's last step, the recurrent layer's final
//! state, or the mean or maximum over the valid steps. Each takes `W` values per step and gives `W` (or, for
//! `FinalState`, `H·D`) per sample; steps past a sample's length are never read.

use super::super::{Backward, Forward, Layer, Op, Pass, Reduction};

/// Each sample's length in the pass.
fn length(pass: &Pass<'_>, i: usize) -> usize {
    pass.lengths.get(i).copied().unwrap_or(pass.steps)
}

/// Declares a reduction over time: a width-generic descriptor with `new`, and its `Layer` impl from a forward
/// and a backward over one sample's valid rows.
macro_rules! reduction {
    ($(#[$doc:meta])* $name:ident,
     forward: |$x:ident, $y:ident| $fwd:block,
     backward: |$bx:ident, $dy:ident, $dx:ident| $bwd:block) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name<const W: usize>;

        impl<const W: usize> $name<W> {
            /// The layer.
            pub const fn new() -> Self {
                Self
            }
        }

        impl<const W: usize> Layer for $name<W> {
            const IN: usize = W;
            const OUT: usize = W;

            fn op(&self) -> Op {
                Op::Reduce(Reduction::$name)
            }

            fn forward(&self, f: Forward<'_>) {
                let steps = f.pass.steps;
                for (i, $y) in f.y.chunks_exact_mut(W).enumerate().take(f.pass.samples) {
                    let $x = &f.x[i * steps * W..][..length(f.pass, i) * W];
                    $fwd
                }
            }

            fn backward(&self, b: Backward<'_>) {
                let Some(dx) = b.dx else { return };
                let steps = b.pass.steps;
                for (i, $dy) in b.dy.chunks_exact(W).enumerate().take(b.pass.samples) {
                    let len = length(b.pass, i);
                    let sample = &mut dx[i * steps * W..][..steps * W];
                    sample[len * W..].fill(0.0);
                    let ($bx, $dx) = (&b.x[i * steps * W..][..len * W], &mut sample[..len * W]);
                    $bwd
                }
            }
        }
    };
}

reduction!(
    /// The output at each sample's last step (PyTorch's `output[:, -1]` for sequences of one length; for a
    /// bidirectional layer its backward half there is the state after one step).
    Last,
    forward: |x, y| { y.copy_from_slice(&x[x.len() - W..]); },
    backward: |_x, dy, dx| {
        let last = dx.len() - W;
        dx[..last].fill(0.0);
        dx[last..].copy_from_slice(dy);
    }
);

reduction!(
    /// The mean over each sample's valid steps.
    MeanOverTime,
    forward: |x, y| {
        let len = (x.len() / W) as f32;
        y.fill(0.0);
        for row in x.chunks_exact(W) {
            y.iter_mut().zip(row).for_each(|(y, &v)| *y += v);
        }
        y.iter_mut().for_each(|y| *y /= len);
    },
    backward: |_x, dy, dx| {
        let len = (dx.len() / W) as f32;
        for row in dx.chunks_exact_mut(W) {
            row.iter_mut().zip(dy).for_each(|(d, &g)| *d = g / len);
        }
    }
);

reduction!(
    /// The maximum over each sample's valid steps, value by value (the first maximum; NaN counts as the largest,
    /// so it propagates); the gradient goes to that step.
    MaxOverTime,
    forward: |x, y| {
        for (j, y) in y.iter_mut().enumerate() {
            *y = x[best_step(x, W, j) * W + j];
        }
    },
    backward: |x, dy, dx| {
        dx.fill(0.0);
        for (j, &g) in dy.iter().enumerate() {
            dx[best_step(x, W, j) * W + j] = g;
        }
    }
);

/// The step of the first maximum of value `j` over the rows of `x` (NaN counts as the largest).
fn best_step(x: &[f32], width: usize, j: usize) -> usize {
    let mut best = 0;
    for (t, row) in x.chunks_exact(width).enumerate() {
        let (v, current) = (row[j], x[best * width + j]);
        if v > current || (v.is_nan() && !current.is_nan()) {
            best = t;
        }
    }
    best
}

/// The final hidden state of the last recurrent layer, directions concatenated (PyTorch's `h_n[-D:]`, what a
/// bidirectional classifier usually wants): the forward direction's output at each sample's last step, and the
/// backward direction's at its first step (where that direction ends). `H` values per direction, `D` directions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FinalState<const H: usize, const D: usize>;

impl<const H: usize, const D: usize> FinalState<H, D> {
    /// The layer.
    pub const fn new() -> Self {
        Self
    }

    /// The row of sample `i` each direction ends at.
    fn ends(pass: &Pass<'_>, i: usize) -> [usize; 2] {
        [i * pass.steps + length(pass, i) - 1, i * pass.steps]
    }
}

impl<const H: usize, const D: usize> Layer for FinalState<H, D> {
    const IN: usize = H * D;
    const OUT: usize = H * D;

    fn op(&self) -> Op {
        Op::Reduce(Reduction::FinalState)
    }

    fn forward(&self, f: Forward<'_>) {
        for (i, y) in f.y.chunks_exact_mut(H * D).enumerate().take(f.pass.samples) {
            let ends = Self::ends(f.pass, i);
            for d in 0..D {
                y[d * H..(d + 1) * H].copy_from_slice(&f.x[ends[d] * H * D + d * H..][..H]);
            }
        }
    }

    fn backward(&self, b: Backward<'_>) {
        let Some(dx) = b.dx else { return };
        dx.fill(0.0);
        for (i, dy) in b.dy.chunks_exact(H * D).enumerate().take(b.pass.samples) {
            let ends = Self::ends(b.pass, i);
            for d in 0..D {
                dx[ends[d] * H * D + d * H..][..H].copy_from_slice(&dy[d * H..(d + 1) * H]);
            }
        }
    }
}
