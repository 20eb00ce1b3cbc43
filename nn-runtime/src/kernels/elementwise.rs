//! Element-wise maps, their derivatives, and the small reductions layers need.
//!
//! Backward functions take the forward input `x` and/or output `y`, whichever gives the derivative most cheaply
//! and most accurately (sigmoid and tanh from `y`, the piecewise units from `x`).

/// `y = max(x, 0)`; NaN stays NaN (as PyTorch's `relu`: a NaN input must not vanish into a finite output while
/// its gradient poisons the weights).
pub fn relu_forward(x: &[f32], y: &mut [f32]) {
    // `x <= 0` is false for NaN, so NaN passes through; ±0 become +0.
    y.iter_mut().zip(x).for_each(|(y, &x)| *y = if x <= 0.0 { 0.0 } else { x });
}

/// `dx = dy · [x > 0]` (the subgradient 0 at 0, as PyTorch); a NaN input passes `dy` through, as PyTorch's
/// `threshold_backward`.
pub fn relu_backward(x: &[f32], dy: &[f32], dx: &mut [f32]) {
    dx.iter_mut().zip(x.iter().zip(dy)).for_each(|(dx, (&x, &dy))| *dx = if x <= 0.0 { 0.0 } else { dy });
}

/// `y = x` for `x > 0`, else `slope · x`.
pub fn leaky_relu_forward(slope: f32, x: &[f32], y: &mut [f32]) {
    y.iter_mut().zip(x).for_each(|(y, &x)| *y = if x > 0.0 { x } else { slope * x });
}

/// `dx = dy` for `x > 0`, else `slope · dy`.
pub fn leaky_relu_backward(slope: f32, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    dx.iter_mut().zip(x.iter().zip(dy)).for_each(|(dx, (&x, &dy))| *dx = if x > 0.0 { dy } else { slope * dy });
}

/// `y = x` for `x > 0`, else `α·(eˣ − 1)`.
pub fn elu_forward(alpha: f32, x: &[f32], y: &mut [f32]) {
    y.iter_mut().zip(x).for_each(|(y, &x)| *y = if x > 0.0 { x } else { alpha * x.exp_m1() });
}

/// `dx = dy` for `x > 0`, else `dy · α·eˣ`.
pub fn elu_backward(alpha: f32, x: &[f32], dy: &[f32], dx: &mut [f32]) {
    dx.iter_mut()
        .zip(x.iter().zip(dy))
        .for_each(|(dx, (&x, &dy))| *dx = if x > 0.0 { dy } else { dy * alpha * x.exp() });
}

/// `y = 1 / (1 + e⁻ˣ)`, evaluated without overflow for large `|x|`.
pub fn sigmoid_forward(x: &[f32], y: &mut [f32]) {
    y.iter_mut().zip(x).for_each(|(y, &x)| *y = sigmoid(x));
}

/// The logistic function, stable for either sign of `x`.
#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `dx = dy · y(1 − y)`.
pub fn sigmoid_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    dx.iter_mut().zip(y.iter().zip(dy)).for_each(|(dx, (&y, &dy))| *dx = dy * y * (1.0 - y));
}

/// `y = tanh(x)`.
pub fn tanh_forward(x: &[f32], y: &mut [f32]) {
    y.iter_mut().zip(x).for_each(|(y, &x)| *y = x.tanh());
}

/// `dx = dy · (1 − y²)`.
pub fn tanh_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    dx.iter_mut().zip(y.iter().zip(dy)).for_each(|(dx, (&y, &dy))| *dx = dy * (1.0 - y * y));
}

/// Softmax of each row of `width` elements, shifted by the row maximum so `exp` cannot overflow.
pub fn softmax_forward(width: usize, x: &[f32], y: &mut [f32]) {
    for (x, y) in x.chunks_exact(width).zip(y.chunks_exact_mut(width)) {
        let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for (y, &x) in y.iter_mut().zip(x) {
            *y = (x - max).exp();
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

    #[test]
    fn piecewise_units_by_hand() {
        let x = [-2.0, -0.5, 0.0, 0.5, 3.0];
        let mut y = [0.0; 5];
        relu_forward(&x, &mut y);
        assert_eq!(y, [0.0, 0.0, 0.0, 0.5, 3.0]);
        leaky_relu_forward(0.1, &x, &mut y);
        assert_eq!(y, [-0.2, -0.05, 0.0, 0.5, 3.0]);
        elu_forward(1.0, &x, &mut y);
        assert!((y[0] - ((-2.0f32).exp() - 1.0)).abs() < 1e-7 && y[4] == 3.0);
        let mut dx = [0.0; 5];
        relu_backward(&x, &[1.0; 5], &mut dx);
        assert_eq!(dx, [0.0, 0.0, 0.0, 1.0, 1.0]);
    }

    #[test]
    fn nan_propagates_through_every_activation() {
        let x = [f32::NAN, -1.0, 2.0];
        let mut y = [0.0; 3];
        type Forward = fn(&[f32], &mut [f32]);
        let forwards: [(&str, Forward); 6] = [
            ("relu", relu_forward),
            ("leaky relu", |x, y| leaky_relu_forward(0.01, x, y)),
            ("elu", |x, y| elu_forward(1.0, x, y)),
            ("sigmoid", sigmoid_forward),
            ("tanh", tanh_forward),
            ("softmax", |x, y| softmax_forward(3, x, y)),
        ];
        for (name, forward) in forwards {
            forward(&x, &mut y);
            assert!(y[0].is_nan(), "{name} turned NaN into {}", y[0]);
        }
        relu_forward(&[-0.0, 0.0, 3.0], &mut y);
        assert_eq!(y.map(f32::to_bits), [0.0f32, 0.0, 3.0].map(f32::to_bits), "±0 become +0");
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
        sigmoid_forward(&x, &mut y);
        assert_eq!(y[0], 0.0);
        assert_eq!(y[2], 0.5);
        assert_eq!(y[4], 1.0);
        assert!(y.iter().all(|v| v.is_finite()));
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
