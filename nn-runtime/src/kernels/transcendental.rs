//! `exp`, `sigmoid`, `tanh` and the normal distribution function written for vectorising loops: the recurrent
//! cells' fused gate passes and GELU.
//!
//! Each is straight-line Rust — multiplies, fused multiply-adds, minimum and maximum, selects and integer bit
//! tricks, no branch — so that a loop applying it over a row, inlined into a kernel that `Isa::run` compiles for
//! AVX2, AVX-512 or NEON, becomes vector code (libm's `expf`/`tanhf` are a call per value). The multiply-adds
//! (the polynomials' steps and the argument reductions: a third fewer operations than separate multiplies and
//! adds) are `kernels::math::mul_add`: rounded once on every path, the instruction where there is one and a correctly
//! rounded library call elsewhere, so every instruction set computes the same bits. Accuracy,
//! measured against `f64` in the tests over the whole range: `exp` within 2 ulp, `sigmoid` within 3, `tanh`
//! within 2, `normal_cdf` within 8; ±∞ and NaN as libm (`exp(−∞) = 0`, `exp(∞) = ∞`, `σ(±∞) = 1, 0`,
//! `tanh(±∞) = ±1`, `Φ(±∞) = 1, 0`, NaN in gives NaN out).

use super::math::mul_add;

/// `log2(e)`.
const LOG2_E: f32 = core::f32::consts::LOG2_E;
/// `ln 2` split in two (Cody–Waite): `n·LN2_HI` is exact for the `n` that occur, `LN2_LO` the rest.
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// `1.5·2²³`: adding it rounds a value below `2²²` to an integer and leaves that integer in the low mantissa bits.
const ROUNDER: f32 = 12_582_912.0;
/// Below this `exp` is 0 in f32 (under half the smallest subnormal), above the other it is ∞.
const EXP_LOWEST: f32 = -104.0;
const EXP_HIGHEST: f32 = 89.0;
/// `1/k!` for k = 2..7: the Taylor polynomial of `eʳ` for `|r| ≤ ln2/2`, whose remainder is below 1e-8.
const EXP_TAYLOR: [f32; 6] = [1.0 / 2.0, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0];
/// Beyond this `|x|`, `tanh x` is ±1 in f32 (`1 − 2e^(−2|x|)` rounds to 1 from about 9.01).
const TANH_FLAT_BEYOND: f32 = 9.5;

/// `erfc(z)·e^(z²)·(1 + z/2)` as a polynomial in `t = 1/(1 + z/2)`, after its exponential's constant term: the
/// Chebyshev fit of Press et al., *Numerical Recipes* §6.2 (`erfcc`), whose relative error is below 1.2e-7 for
/// every `z ≥ 0`.
const ERFC_CONSTANT: f32 = -1.265_512_2;
const ERFC_POLYNOMIAL: [f32; 9] = [
    1.000_023_7,
    0.374_091_96,
    0.096_784_18,
    -0.186_288_06,
    0.278_868_07,
    -1.135_204,
    1.488_515_9,
    -0.822_152_2,
    0.170_872_77,
];
/// `Φ(x)` is 0 or 1 in f32 beyond this `|x|`: the argument is clamped there so that `±∞` give exact results.
const NORMAL_CDF_FLAT_BEYOND: f32 = 20.0;

/// `eˣ`.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Clamping keeps the exponent arithmetic in range.
    let c = x.clamp(EXP_LOWEST, EXP_HIGHEST);
    let (n, n_int) = nearest_multiple_of_ln2(c);
    nan_as_given(x, scaled_exp(n_int, reduce(c, n)))
}

/// `y`, or `x` itself when `x` is NaN. A NaN argument comes back bit for bit: through the arithmetic its sign could
/// come out either way (a multiply-add instruction and a library `fmaf` propagate NaN operands in different
/// orders), and every path must give the same bits.
#[inline(always)]
fn nan_as_given(x: f32, y: f32) -> f32 {
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// `x − n·ln 2`, in two exact-enough steps (Cody–Waite).
#[inline(always)]
fn reduce(x: f32, n: f32) -> f32 {
    mul_add(-n, LN2_LO, mul_add(-n, LN2_HI, x))
}

/// The integer `n` nearest `x/ln 2`, as a float and as an integer (`|x| < 2²¹`).
#[inline(always)]
fn nearest_multiple_of_ln2(x: f32) -> (f32, i32) {
    let shifted = mul_add(x, LOG2_E, ROUNDER);
    (shifted - ROUNDER, shifted.to_bits() as i32 - ROUNDER.to_bits() as i32)
}

/// `eʳ − 1` for a reduced argument `|r| ≲ ln2/2`: the Taylor polynomial, with no cancellation near 0.
#[inline(always)]
fn exp_m1_reduced(r: f32) -> f32 {
    let p = EXP_TAYLOR[..5].iter().rev().fold(EXP_TAYLOR[5], |p, &coefficient| mul_add(p, r, coefficient));
    mul_add(p * r, r, r)
}

/// `e^(hi + lo)` for `|lo| ≤ 2`, without rounding `hi + lo` first: `lo` joins the reduced argument once `hi`'s
/// multiple of `ln 2` is taken off, so a large `hi` known exactly (`normal_cdf`'s `−x²/2`) keeps its precision.
/// One exponential where `eʰⁱ·eˡᵒ` would take two; within 2 ulp of `f64` (tested).
#[inline(always)]
fn exp_of_sum(hi: f32, lo: f32) -> f32 {
    // Beyond these bounds the sum is below EXP_LOWEST or above EXP_HIGHEST whatever `lo` is.
    let c = hi.clamp(EXP_LOWEST - 8.0, EXP_HIGHEST + 8.0);
    let (n, n_int) = nearest_multiple_of_ln2(c + lo);
    scaled_exp(n_int, mul_add(-n, LN2_LO, mul_add(-n, LN2_HI, c) + lo))
}

/// `2ⁿ·eʳ` for a reduced argument `|r| ≲ ln2/2` and `n` in [−252, 254].
#[inline(always)]
fn scaled_exp(n_int: i32, r: f32) -> f32 {
    let p = exp_m1_reduced(r) + 1.0;
    // 2ⁿ as two factors, each a normal number for every n in [−252, 254]: the product underflows to subnormals
    // or overflows to ∞ as the true value does.
    let half = n_int >> 1;
    p * power_of_two(half) * power_of_two(n_int - half)
}

/// `2ᵉ` for `e` in [−126, 127], built from its exponent bits.
#[inline(always)]
fn power_of_two(e: i32) -> f32 {
    f32::from_bits(((e + 127) as u32) << 23)
}

/// The logistic function: `1/(1 + e⁻ˣ)` for `x ≥ 0`, `eˣ/(1 + eˣ)` below, so the exponential never overflows
/// and results down to the subnormals keep their precision.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    let e = exp(-x.abs());
    let numerator = if x < 0.0 { e } else { 1.0 };
    nan_as_given(x, numerator / (1.0 + e))
}

/// `tanh x`, as `−m/(2 + m)` with `m = eᵗ − 1` for `t = −2|x|`, and `x`'s sign. `m` comes from the reduced
/// argument's own `eʳ − 1` (no cancellation near 0), so small arguments keep their precision without a
/// separate series.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let t = -2.0 * x.abs().min(TANH_FLAT_BEYOND);
    let (n, n_int) = nearest_multiple_of_ln2(t);
    // eᵗ − 1 = 2ⁿ(eʳ − 1) + (2ⁿ − 1), with 2ⁿ a normal number (n ≥ −28 here) and 2ⁿ − 1 exact.
    let scale = power_of_two(n_int);
    let m = mul_add(scale, exp_m1_reduced(reduce(t, n)), scale - 1.0);
    // NaN stays NaN (`min` above would drop it, so it is put back).
    let magnitude = nan_as_given(x, (-m / (2.0 + m)).abs());
    // The sign from x, so that tanh(−0) = −0.
    f32::from_bits(magnitude.to_bits() | (x.to_bits() & 0x8000_0000))
}

/// The standard normal distribution function `Φ(x) = ½·erfc(−x/√2)`, GELU's gate.
///
/// `½·erfc(|x|/√2)` is the tail below `−|x|`, computed to full relative precision (no `1 + erf` cancellation
/// for negative `x`); the upper half is `1 −` that tail. The exponent `−x²/2` is evaluated as two exact parts
/// (the high half of `|x|`'s mantissa squared, and the rest) whose exponentials are multiplied: a single rounded
/// `x²/2` would cost its rounding error times `x²/2` in relative precision, 40 ulp at `x = −6`.
#[inline(always)]
pub fn normal_cdf(x: f32) -> f32 {
    let a = x.clamp(-NORMAL_CDF_FLAT_BEYOND, NORMAL_CDF_FLAT_BEYOND).abs();
    let t = 1.0 / mul_add(a, 0.5 * core::f32::consts::FRAC_1_SQRT_2, 1.0);
    let p = ERFC_POLYNOMIAL[..8].iter().rev().fold(ERFC_POLYNOMIAL[8], |p, &coefficient| mul_add(p, t, coefficient));
    // a = high + low with `high` of 12 significant bits, so `high²` is exact.
    let high = f32::from_bits(a.to_bits() & 0xffff_f000);
    let low = a - high;
    let square_high = 0.5 * (high * high);
    let square_low = 0.5 * ((2.0 * high + low) * low);
    let tail = 0.5 * t * exp_of_sum(-square_high, mul_add(t, p, ERFC_CONSTANT) - square_low);
    nan_as_given(x, if x >= 0.0 { 1.0 - tail } else { tail })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between `got` and the f32 nearest `want`, 0 when both are NaN or
    /// the same infinity. Subnormal results count their distance in steps of the smallest subnormal.
    fn ulps(got: f32, want: f64) -> u64 {
        let want = want as f32;
        if got.is_nan() && want.is_nan() || got == want {
            return 0;
        }
        if got.is_nan() || want.is_nan() || got.is_infinite() || want.is_infinite() {
            return u64::MAX;
        }
        let key = |v: f32| {
            let b = v.to_bits() as i64;
            if v.is_sign_negative() {
                -(b & 0x7fff_ffff)
            } else {
                b
            }
        };
        (key(got) - key(want)).unsigned_abs()
    }

    /// Every `stride`-th f32 in `[lo, hi]` (by bit pattern), both signs' orders respected, plus the ends.
    fn sweep(lo: f32, hi: f32, count: usize) -> Vec<f32> {
        let mut rng = crate::Rng::new(11, 0);
        let mut values: Vec<f32> = (0..count).map(|_| rng.uniform(lo, hi)).collect();
        // Log-uniform magnitudes too, so that tiny and huge arguments are sampled densely.
        values.extend((0..count).map(|_| {
            let magnitude = 2f32.powf(rng.uniform(-40.0, 7.0));
            if rng.below(2) == 0 {
                magnitude
            } else {
                -magnitude
            }
        }));
        values.extend([lo, hi, 0.0, -0.0, f32::MIN_POSITIVE, -f32::MIN_POSITIVE, 1e-45, -1e-45]);
        values
    }

    fn worst(values: &[f32], f: impl Fn(f32) -> f32, reference: impl Fn(f64) -> f64) -> (u64, f32) {
        let mut worst = (0, 0.0);
        for &x in values {
            let error = ulps(f(x), reference(f64::from(x)));
            if error > worst.0 {
                worst = (error, x);
            }
        }
        worst
    }

    #[test]
    fn exp_is_within_two_ulps_of_f64_over_its_range() {
        let values = sweep(-110.0, 95.0, 400_000);
        let (error, at) = worst(&values, exp, f64::exp);
        assert!(error <= 2, "exp({at}) is {error} ulps off");
    }

    #[test]
    fn exp_of_sum_is_within_two_ulps_of_f64() {
        let mut rng = crate::Rng::new(3, 0);
        let (mut error, mut at) = (0, (0.0, 0.0));
        for _ in 0..400_000 {
            let (hi, lo) = (rng.uniform(-120.0, 105.0), rng.uniform(-2.0, 2.0));
            let want = (f64::from(hi) + f64::from(lo)).exp();
            let e = ulps(exp_of_sum(hi, lo), want);
            if e > error {
                (error, at) = (e, (hi, lo));
            }
        }
        assert!(error <= 2, "exp({} + {}) is {error} ulps off", at.0, at.1);
        assert_eq!(exp_of_sum(-200.0, -2.0), 0.0);
        assert_eq!(exp_of_sum(200.0, 2.0), f32::INFINITY);
        assert!(exp_of_sum(f32::NAN, 1.0).is_nan() && exp_of_sum(1.0, f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_is_within_three_ulps_of_f64_over_its_range() {
        let values = sweep(-120.0, 40.0, 400_000);
        let (error, at) = worst(&values, sigmoid, |x| 1.0 / (1.0 + (-x).exp()));
        assert!(error <= 3, "sigmoid({at}) is {error} ulps off");
    }

    #[test]
    fn tanh_is_within_two_ulps_of_f64_over_its_range() {
        let values = sweep(-20.0, 20.0, 400_000);
        let (error, at) = worst(&values, tanh, f64::tanh);
        assert!(error <= 2, "tanh({at}) is {error} ulps off");
        // Densely where the reduction's multiple of ln 2 goes from 0 to −1 (|x| = ln2/4 ≈ 0.173), the first
        // argument at which `m` stops being the reduced argument's own eʳ − 1.
        let near: Vec<f32> = (0..20_000).map(|k| 0.15 + k as f32 * 2.5e-6).collect();
        let (error, at) = worst(&near, tanh, f64::tanh);
        assert!(error <= 2, "tanh({at}) is {error} ulps off");
    }

    #[test]
    fn normal_cdf_is_within_eight_ulps_of_f64_over_its_range() {
        let reference = |x: f64| 0.5 * libm::erfc(-x / core::f64::consts::SQRT_2);
        let values = sweep(-16.0, 16.0, 400_000);
        let (error, at) = worst(&values, normal_cdf, reference);
        assert!(error <= 8, "Φ({at}) is {error} ulps off");
        // Densely where GELU's inputs lie.
        let near: Vec<f32> = (0..200_000).map(|k| -4.0 + k as f32 * 4e-5).collect();
        let (error, at) = worst(&near, normal_cdf, reference);
        assert!(error <= 8, "Φ({at}) is {error} ulps off");
    }

    #[test]
    fn infinities_and_nan_behave_as_libm() {
        assert_eq!((normal_cdf(f32::NEG_INFINITY), normal_cdf(f32::INFINITY)), (0.0, 1.0));
        assert!(normal_cdf(f32::NAN).is_nan());
        for x in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN, f32::MAX, f32::MIN, 0.0, -0.0] {
            for (got, want) in [(exp(x), x.exp()), (sigmoid(x), 1.0 / (1.0 + (-x).exp())), (tanh(x), x.tanh())] {
                assert!(got == want || got.is_nan() && want.is_nan(), "f({x}) = {got}, libm {want}");
            }
        }
        // A NaN comes back bit for bit, whatever its sign and payload (so every path gives the same bits).
        for nan in [f32::NAN, -f32::NAN, f32::from_bits(0x7fc0_1234), f32::from_bits(0xffa0_0001)] {
            for f in [exp, sigmoid, tanh, normal_cdf] {
                assert_eq!(f(nan).to_bits(), nan.to_bits());
            }
        }
        // The signs of zero survive tanh, as libm's.
        assert!(tanh(-0.0).is_sign_negative() && tanh(0.0).is_sign_positive());
    }
}
