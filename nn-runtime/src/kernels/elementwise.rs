//! Element-wise maps, their derivatives, and the small reductions layers need.
//!
//! Backward functions take the forward input `x` and/or output `y`, whichever gives the derivative most cheaply
//! and most accurately (sigmoid and tanh from `y`, the piecewise units from `x`).

use super::math;
use super::simd::{wide, Kernel, Simd, MAX_LANES};

/// `y[i] = f(x[i])`: an element-wise activation's forward pass. The loop is compiled for the
/// [`wide`](super::simd::wide) instruction set, so a branch-free `f` (such as [`transcendental`](super::transcendental)'s
/// functions) becomes vector code as wide as the CPU's.
#[inline(always)]
pub fn map(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32) {
    assert_eq!(x.len(), y.len(), "map: lengths differ");
    wide().run(Map { x, y, f });
}

/// `v[i] = f(v[i])` in place, compiled as [`map`] is.
#[inline(always)]
pub fn map_in_place(v: &mut [f32], f: impl Fn(f32) -> f32) {
    wide().run(MapInPlace { v, f });
}

/// `dx[i] = g(x[i], y[i], dy[i])`: an element-wise activation's backward pass, compiled as [`map`] is.
#[inline(always)]
pub fn map_backward(x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32], g: impl Fn(f32, f32, f32) -> f32) {
    assert!(x.len() == dx.len() && y.len() == dx.len() && dy.len() == dx.len(), "map_backward: lengths differ");
    wide().run(MapBackward { x, y, dy, dx, g });
}

/// [`map`]'s loop as a kernel.
struct Map<'a, F> {
    x: &'a [f32],
    y: &'a mut [f32],
    f: F,
}

impl<F: Fn(f32) -> f32> Kernel for Map<'_, F> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<S: Simd>(self) {
        let Map { x, y, f } = self;
        let l = S::LANES;
        let (mut xs, mut ys) = (x.chunks_exact(l), y.chunks_exact_mut(l));
        for (y, x) in (&mut ys).zip(&mut xs) {
            // SAFETY: `S` is supported (the contract of `run`); each chunk holds LANES values.
            unsafe { map_lanes::<S, 1>(load_lanes::<S, 1>([x]), y, |[x]| f(x)) };
        }
        let (x, y) = (xs.remainder(), ys.into_remainder());
        if x.is_empty() {
            return;
        }
        // SAFETY: `S` is supported (the contract of `run`).
        unsafe { map_lanes::<S, 1>(load_lanes::<S, 1>([x]), y, |[x]| f(x)) };
    }
}

/// [`map_in_place`]'s loop as a kernel.
struct MapInPlace<'a, F> {
    v: &'a mut [f32],
    f: F,
}

impl<F: Fn(f32) -> f32> Kernel for MapInPlace<'_, F> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<S: Simd>(self) {
        let MapInPlace { v, f } = self;
        let l = S::LANES;
        let mut chunks = v.chunks_exact_mut(l);
        for v in &mut chunks {
            // SAFETY: `S` is supported (the contract of `run`); each chunk holds LANES values.
            unsafe { map_lanes::<S, 1>(load_lanes::<S, 1>([v]), v, |[x]| f(x)) };
        }
        let v = chunks.into_remainder();
        if v.is_empty() {
            return;
        }
        // SAFETY: `S` is supported (the contract of `run`).
        unsafe { map_lanes::<S, 1>(load_lanes::<S, 1>([v]), v, |[x]| f(x)) };
    }
}

/// [`map_backward`]'s loop as a kernel.
struct MapBackward<'a, G> {
    x: &'a [f32],
    y: &'a [f32],
    dy: &'a [f32],
    dx: &'a mut [f32],
    g: G,
}

impl<G: Fn(f32, f32, f32) -> f32> Kernel for MapBackward<'_, G> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<S: Simd>(self) {
        let MapBackward { x, y, dy, dx, g } = self;
        let l = S::LANES;
        let full = dx.len() / l * l;
        let chunks =
            dx[..full].chunks_exact_mut(l).zip(x.chunks_exact(l)).zip(y.chunks_exact(l)).zip(dy.chunks_exact(l));
        for (((dx, x), y), dy) in chunks {
            // SAFETY: `S` is supported (the contract of `run`); each chunk holds LANES values.
            unsafe { map_lanes::<S, 3>(load_lanes::<S, 3>([x, y, dy]), dx, |[x, y, dy]| g(x, y, dy)) };
        }
        if full == dx.len() {
            return;
        }
        // SAFETY: `S` is supported (the contract of `run`).
        unsafe {
            let tails = load_lanes::<S, 3>([&x[full..], &y[full..], &dy[full..]]);
            map_lanes::<S, 3>(tails, &mut dx[full..], |[x, y, dy]| g(x, y, dy));
        }
    }
}

/// `≤ LANES` values of each of `N` operands (the same count in each), loaded as whole vectors — with masks for a
/// tail, whose other lanes are zero — into arrays on the stack: the loads all come before any store of the
/// results, which the compiler could not assume of the slices (an output may alias no input, but that is lost by
/// the time it vectorises), so the map runs as vector code.
///
/// # Safety
/// `S` must be supported by the CPU.
#[inline(always)]
unsafe fn load_lanes<S: Simd, const N: usize>(operands: [&[f32]; N]) -> [[f32; MAX_LANES]; N] {
    core::array::from_fn(|t| {
        let mut lanes = [0.0; MAX_LANES];
        let n = operands[t].len();
        debug_assert!(n <= S::LANES);
        // SAFETY: the operand holds `n ≤ LANES ≤ MAX_LANES` values; `S` is supported (the contract).
        unsafe {
            let v =
                if n == S::LANES { S::load(operands[t].as_ptr()) } else { S::load_partial(operands[t].as_ptr(), n) };
            S::store(lanes.as_mut_ptr(), v);
        }
        lanes
    })
}

/// `out[i] = f(lane i of each operand)` for the `out.len() ≤ LANES` values of the operands loaded by
/// [`load_lanes`]: `f` runs over whole vectors, and the results are stored (with a mask for a tail).
///
/// # Safety
/// `S` must be supported by the CPU.
#[inline(always)]
unsafe fn map_lanes<S: Simd, const N: usize>(
    lanes: [[f32; MAX_LANES]; N],
    out: &mut [f32],
    f: impl Fn([f32; N]) -> f32,
) {
    let mut results = [0.0; MAX_LANES];
    // A loop of exactly LANES iterations: one vector.
    for (i, r) in results[..S::LANES].iter_mut().enumerate() {
        *r = f(core::array::from_fn(|t| lanes[t][i]));
    }
    // SAFETY: `out` holds `len ≤ LANES` values; `S` is supported (the contract).
    unsafe {
        let v = S::load(results.as_ptr());
        if out.len() == S::LANES {
            S::store(out.as_mut_ptr(), v);
        } else {
            S::store_partial(out.as_mut_ptr(), v, out.len());
        }
    }
}

/// The logistic function, stable for either sign of `x`.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + math::exp(-x))
    } else {
        let e = math::exp(x);
        e / (1.0 + e)
    }
}

/// Softmax of each row of `width` elements, shifted by the row maximum so `exp` cannot overflow.
pub fn softmax_forward(width: usize, x: &[f32], y: &mut [f32]) {
    for (x, y) in x.chunks_exact(width).zip(y.chunks_exact_mut(width)) {
        let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for (y, &x) in y.iter_mut().zip(x) {
            *y = math::exp(x - max);
            sum += *y;
        }
        let inv = 1.0 / sum;
        y.iter_mut().for_each(|y| *y *= inv);
    }
}

/// The softmax Jacobian-vector product per row: `dx = y ⊙ (dy − ⟨dy, y⟩)`.
pub fn softmax_backward(width: usize, y: &[f32], dy: &[f32], dx: &mut [f32]) {
    for ((y, dy), dx) in y.chunks_exact(width).zip(dy.chunks_exact(width)).zip(dx.chunks_exact_mut(width)) {
        let dot: f32 = y.iter().zip(dy).map(|(a, b)| a * b).sum();
        for ((dx, &y), &dy) in dx.iter_mut().zip(y).zip(dy) {
            *dx = y * (dy - dot);
        }
    }
}

/// Whether every value is finite (no NaN, no ±∞).
///
/// Reads the whole slice without an early exit, sixteen independent lanes at a time, so the compiler vectorises
/// it: a training loop checks every gradient and parameter after each step with it.
pub fn all_finite(values: &[f32]) -> bool {
    const EXPONENT: u32 = 0x7f80_0000;
    let (chunks, rest) = values.as_chunks::<16>();
    let mut lanes = [0u32; 16];
    for chunk in chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            // All exponent bits set: ±∞ or NaN.
            *lane |= u32::from(v.to_bits() & EXPONENT == EXPONENT);
        }
    }
    lanes.iter().all(|&l| l == 0) && rest.iter().all(|v| v.is_finite())
}

/// `y = (x − max) − ln Σ e^(x − max)` for each row of `width` elements: the log-softmax, finite for any finite
/// row.
pub fn log_softmax_forward(width: usize, x: &[f32], y: &mut [f32]) {
    for (x, y) in x.chunks_exact(width).zip(y.chunks_exact_mut(width)) {
        // `f32::max` skips NaN; the sum below carries it into every output.
        let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = x.iter().map(|&v| math::exp(v - max)).sum();
        let log_sum = math::ln(sum);
        // `(x − max) − ln Σ`, not `x − (max + ln Σ)`: the sum near a large max would lose the small term.
        for (y, &x) in y.iter_mut().zip(x) {
            *y = (x - max) - log_sum;
        }
    }
}

/// The log-softmax Jacobian-vector product per row: `dx = dy − e^y · Σ dy`.
pub fn log_softmax_backward(width: usize, y: &[f32], dy: &[f32], dx: &mut [f32]) {
    for ((y, dy), dx) in y.chunks_exact(width).zip(dy.chunks_exact(width)).zip(dx.chunks_exact_mut(width)) {
        let total: f32 = dy.iter().sum();
        for ((dx, &y), &dy) in dx.iter_mut().zip(y).zip(dy) {
            *dx = dy - math::exp(y) * total;
        }
    }
}

/// `Σ term(j)` for `j < n`, as eight interleaved partial sums added pairwise at the end: a fixed order (the same
/// bits on every instruction set, machine and thread count) without a chain of `n` dependent additions, which
/// made a row's statistics (LayerNorm's, attention's softmax) take longer than the work around them.
#[inline(always)]
pub(crate) fn interleaved_sum<T: Copy + Default + core::ops::Add<Output = T>>(
    n: usize,
    term: impl Fn(usize) -> T,
) -> T {
    let mut partial = [T::default(); 8];
    let whole = n / 8 * 8;
    for j in (0..whole).step_by(8) {
        // Constant indices, so the partial sums stay in registers.
        for (lane, sum) in partial.iter_mut().enumerate() {
            *sum = *sum + term(j + lane);
        }
    }
    let rest = (whole..n).fold(T::default(), |sum, j| sum + term(j));
    let [a, b, c, d, e, f, g, h] = partial;
    (((a + e) + (c + g)) + ((b + f) + (d + h))) + rest
}

/// `acc += x`, element by element.
pub fn add_assign(acc: &mut [f32], x: &[f32]) {
    assert_eq!(acc.len(), x.len(), "add_assign: lengths differ");
    acc.iter_mut().zip(x).for_each(|(a, &x)| *a += x);
}

/// Adds `row` to every row of the row-major matrix `m` (a bias broadcast).
pub fn add_row_vector(m: &mut [f32], row: &[f32]) {
    for r in m.chunks_exact_mut(row.len()) {
        add_assign(r, row);
    }
}

/// `acc[j] += Σᵢ m[i][j]` for a row-major matrix `m` with `acc.len()` columns (a bias gradient).
pub fn sum_rows_into(m: &[f32], acc: &mut [f32]) {
    for r in m.chunks_exact(acc.len()) {
        add_assign(acc, r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every term counted once, whole blocks of eight and the tail, at every length up to three blocks.
    #[test]
    fn interleaved_sum_adds_every_term() {
        for n in 0..=25 {
            let terms = |j: usize| ((j * 37) % 11) as f64 - 4.5;
            let want: f64 = (0..n).map(terms).sum();
            assert_eq!(interleaved_sum(n, terms), want, "length {n}");
            assert_eq!(interleaved_sum(n, |j| terms(j) as f32), want as f32, "length {n}");
        }
    }

    #[test]
    fn log_softmax_is_the_log_of_softmax_and_stable() {
        let x = [1000.0, 1001.0, 1002.0, -5.0, 0.0, 5.0];
        let (mut p, mut l) = ([0.0; 6], [0.0; 6]);
        softmax_forward(3, &x, &mut p);
        log_softmax_forward(3, &x, &mut l);
        for (p, l) in p.iter().zip(&l) {
            assert!((p.ln() - l).abs() < 1e-5, "{p} {l}");
        }
        let mut nan = [0.0; 3];
        log_softmax_forward(3, &[0.0, f32::NAN, 1.0], &mut nan);
        assert!(nan.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn all_finite_finds_any_nan_or_infinity() {
        for len in [0, 1, 15, 16, 17, 100] {
            let clean = vec![1.5f32; len];
            assert!(all_finite(&clean));
            for at in 0..len {
                for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                    let mut v = clean.clone();
                    v[at] = bad;
                    assert!(!all_finite(&v), "{bad} at {at} of {len}");
                }
            }
        }
        assert!(all_finite(&[f32::MAX, f32::MIN, f32::MIN_POSITIVE, 0.0, -0.0]));
    }

    #[test]
    fn sigmoid_is_stable_at_extremes() {
        let x = [-1000.0, -20.0, 0.0, 20.0, 1000.0];
        let mut y = [0.0; 5];
        map(&x, &mut y, sigmoid);
        assert_eq!(y[0], 0.0);
        assert_eq!(y[2], 0.5);
        assert_eq!(y[4], 1.0);
        assert!(y.iter().all(|v| v.is_finite()));
        assert!(sigmoid(f32::NAN).is_nan());
    }

    #[test]
    fn softmax_rows_sum_to_one_even_for_huge_logits() {
        let x = [1000.0, 1001.0, 1002.0, -5.0, 0.0, 5.0];
        let mut y = [0.0; 6];
        softmax_forward(3, &x, &mut y);
        for row in y.chunks(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        assert!((y[2] - 0.665_240_9).abs() < 1e-6);
    }

    /// The maps run their closure in the wide instruction set's vector code: every value must come out with
    /// the bits of the closure called on its own, on every length (vector bodies and their tails).
    #[test]
    fn maps_give_the_bits_of_the_scalar_function_at_every_length() {
        use crate::kernels::transcendental::{exp, normal_cdf, tanh};
        let mut rng = crate::Rng::new(5, 0);
        let f = |x: f32| x * normal_cdf(x) + tanh(x) * exp(-x * x);
        let g = |x: f32, y: f32, dy: f32| dy * (normal_cdf(x) + y * exp(-0.5 * x * x));
        for len in 0..=40 {
            let x: Vec<f32> = (0..len).map(|_| rng.uniform(-9.0, 9.0)).collect();
            let y: Vec<f32> = (0..len).map(|_| rng.uniform(-2.0, 2.0)).collect();
            let dy: Vec<f32> = (0..len).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let mut out = vec![f32::NAN; len];
            map(&x, &mut out, f);
            let want: Vec<u32> = x.iter().map(|&v| f(v).to_bits()).collect();
            assert_eq!(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want, "map, length {len}");
            let mut in_place = x.clone();
            map_in_place(&mut in_place, f);
            assert_eq!(in_place.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want, "map_in_place, length {len}");
            map_backward(&x, &y, &dy, &mut out, g);
            for i in 0..len {
                assert_eq!(out[i].to_bits(), g(x[i], y[i], dy[i]).to_bits(), "map_backward, length {len}, value {i}");
            }
        }
    }

    #[test]
    fn reductions() {
        let mut m = [1.0, 2.0, 3.0, 4.0];
        add_row_vector(&mut m, &[10.0, 20.0]);
        assert_eq!(m, [11.0, 22.0, 13.0, 24.0]);
        let mut acc = [1.0, 1.0];
        sum_rows_into(&m, &mut acc);
        assert_eq!(acc, [25.0, 47.0]);
    }
}
