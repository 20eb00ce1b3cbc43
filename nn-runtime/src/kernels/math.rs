//! The `f32`/`f64` functions the layers call, in every build: the standard library's with `std`, `libm`'s
//! without it (`core` has no transcendental functions).

macro_rules! functions {
    ($($(#[$doc:meta])* $name:ident($t:ty) = $method:ident, $libm:ident;)*) => {$(
        $(#[$doc])*
        #[inline]
        pub fn $name(x: $t) -> $t {
            #[cfg(feature = "std")]
            return x.$method();
            #[cfg(not(feature = "std"))]
            return libm::$libm(x);
        }
    )*};
}

functions! {
    /// `eˣ`.
    exp(f32) = exp, expf;
    /// `eˣ − 1`, accurate near 0.
    exp_m1(f32) = exp_m1, expm1f;
    /// The natural logarithm.
    ln(f32) = ln, logf;
    /// `ln(1 + x)`, accurate near 0.
    ln_1p(f32) = ln_1p, log1pf;
    /// The hyperbolic tangent.
    tanh(f32) = tanh, tanhf;
    /// The square root.
    sqrt(f32) = sqrt, sqrtf;
    /// The square root.
    sqrt_f64(f64) = sqrt, sqrt;
    /// `eˣ`.
    exp_f64(f64) = exp, exp;
    /// The natural logarithm.
    ln_f64(f64) = ln, log;
    /// The sine.
    sin_f64(f64) = sin, sin;
    /// The cosine.
    cos_f64(f64) = cos, cos;
    /// The nearest integer, halfway cases away from zero.
    round_f64(f64) = round, round;
}

/// `a·b + c` rounded once: the fused multiply-add instruction where the code is compiled for an instruction set
/// that has one (AVX2, AVX-512, NEON), a correctly rounded library call elsewhere (`fmaf`, the standard
/// library's or `libm`'s) — so every path computes the same bits.
#[inline(always)]
pub fn mul_add(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(feature = "std")]
    return a.mul_add(b, c);
    #[cfg(not(feature = "std"))]
    return libm::fmaf(a, b, c);
}
