//! `Dropout<P>` (Srivastava et al. 2014): in training, each value is zeroed with probability `p` and the survivors
//! are scaled by `1/(1−p)` ("inverted" dropout, as PyTorch), so evaluation is the identity.

use super::{Backward, Forward, Layer, Mode, Op, Pass};
use crate::kernels::math;

/// Drops each of `N` values per sample with probability `p` while training.
///
/// Masks are a pure function of the network's seed, the layer, the training-pass counter, the sample's index in
/// its batch and the value's index — drawn with a counter-based hash rather than a stateful generator — so a new
/// mask comes every step, the same seed replays the same masks, the thread count never matters, and backward
/// recomputes the mask instead of storing it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout<const N: usize> {
    p: f32,
    stream: u64,
}

impl<const N: usize> Dropout<N> {
    /// Dropout with probability `p` (in `[0, 1)`), drawing from random stream `stream` (the layer's index).
    ///
    /// # Panics
    /// If `p` is outside `[0, 1)` (the `network!` macro rejects such values at compile time).
    pub const fn new(p: f32, stream: u64) -> Self {
        assert!(p >= 0.0 && p < 1.0, "dropout probability must be in [0, 1)");
        Self { p, stream }
    }

    /// The probability of dropping a value.
    pub const fn p(&self) -> f32 {
        self.p
    }
}

/// Calls `f(index, factor)` for every value of a chunk's rows of `width` values, `factor` being 0 (dropped) or
/// `1/(1−p)` (kept), drawn from (the network's seed, `stream`, the pass counter, the sample's index in the batch,
/// the step, the value's index) — the same for any chunk schedule, padding or thread count.
pub(crate) fn for_each_factor(
    p: f32,
    stream: u64,
    width: usize,
    pass: &Pass<'_>,
    len: usize,
    mut f: impl FnMut(usize, f32),
) {
    let scale = 1.0 / (1.0 - p);
    // Keep when a uniform 24-bit draw is at least p·2²⁴: exact for every p that is a multiple of 2⁻²⁴.
    let threshold = math::round_f64(f64::from(p) * f64::from(1u32 << 24)) as u32;
    let pass_key = mix(mix(mix(pass.seed) ^ stream) ^ pass.step);
    for (row, start) in (0..len).step_by(width).enumerate() {
        // A row is a sample, or one step of a sequence: keyed by the sample's index in the batch and the step,
        // never by the row's place in a padded chunk.
        let (sample, step) = (row / pass.steps.max(1), row % pass.steps.max(1));
        let key = mix(pass_key ^ (pass.first + sample) as u64);
        let sample_key = if step == 0 { key } else { mix(key ^ ((step as u64) << 32)) };
        for j in 0..width {
            let draw = (mix(sample_key.wrapping_add(j as u64)) >> 40) as u32;
            f(start + j, if draw >= threshold { scale } else { 0.0 });
        }
    }
}

/// SplitMix64's finaliser: a bijective mix whose outputs pass BigCrush as a counter-based generator.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl<const N: usize> Layer for Dropout<N> {
    const IN: usize = N;
    const OUT: usize = N;

    fn op(&self) -> Op {
        Op::Dropout { p: self.p }
    }

    fn forward(&self, f: Forward<'_>) {
        let Forward { x, y, pass, .. } = f;
        if pass.mode == Mode::Eval || self.p == 0.0 {
            y.copy_from_slice(x);
            return;
        }
        for_each_factor(self.p, self.stream, N, pass, x.len(), |i, factor| y[i] = x[i] * factor);
    }

    fn backward(&self, io: Backward<'_>) {
        let Some(dx) = io.dx else { return };
        if io.pass.mode == Mode::Eval || self.p == 0.0 {
            dx.copy_from_slice(io.dy);
            return;
        }
        for_each_factor(self.p, self.stream, N, io.pass, io.dy.len(), |i, factor| dx[i] = io.dy[i] * factor);
    }
}
