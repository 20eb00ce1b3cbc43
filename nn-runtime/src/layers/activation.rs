//! Activation functions over `N` values per row (any shape: element-wise ones act on every value, `Softmax` and
//! `LogSoftmax` on each row).
//!
//! An element-wise activation is one [`activation!`] block: its scalar forward function and its backward
//! function `dx = g(x, y, dy)`, as PyTorch computes them (NaN in, NaN out). The [`Elementwise`] trait and
//! [`crate::kernels::map`] turn that into a layer; nothing else needs to know it exists.

use super::{Activation, Backward, Forward, Layer, Op};
use crate::kernels::{self, math, transcendental};

/// An element-wise activation: the layer type is generic over its width `N`.
pub trait Elementwise: Copy + Send + Sync {
    /// `y = f(x)`.
    fn value(&self, x: f32) -> f32;
    /// `dx = dy · f′(x)`, from whichever of `x` and `y` gives it most cheaply and accurately.
    fn gradient(&self, x: f32, y: f32, dy: f32) -> f32;

    /// `y[i] = f(x[i])` over a row in vector code. An activation whose settings choose between two formulas
    /// overrides it to pick the formula once per row: a branch on a setting inside the vector loop is turned
    /// into a select, and the loop then computes both formulas for every value.
    #[inline(always)]
    fn forward_row(&self, x: &[f32], y: &mut [f32]) {
        kernels::map(
            x,
            y,
            #[inline(always)]
            |x| self.value(x),
        );
    }

    /// `dx[i] = g(x[i], y[i], dy[i])` over a row in vector code, overridden as [`forward_row`](Self::forward_row).
    #[inline(always)]
    fn backward_row(&self, x: &[f32], y: &[f32], dy: &[f32], dx: &mut [f32]) {
        kernels::map_backward(
            x,
            y,
            dy,
            dx,
            #[inline(always)]
            |x, y, dy| self.gradient(x, y, dy),
        );
    }
}

/// Declares an element-wise activation: a descriptor with its settings (public `f32` fields), a `new`
/// constructor taking them in order, and its [`Elementwise`] and [`Layer`] impls.
macro_rules! activation {
    (
        $(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $field:ident),* },
        op: |$s3:pat_param| $op:expr,
        forward: |$s:pat_param, $x:ident| $fwd:expr,
        backward: |$s2:pat_param, $bx:pat_param, $by:pat_param, $dy:ident| $bwd:expr
        $(, rows: { $($rows:item)* })? $(,)?
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[allow(clippy::upper_case_acronyms)] // the names of the DSL and of PyTorch
        pub struct $name<const N: usize> { $($(#[$fdoc])* pub $field: f32),* }

        impl<const N: usize> $name<N> {
            /// The layer with the given settings.
            #[allow(clippy::new_without_default)]
            pub const fn new($($field: f32),*) -> Self {
                Self { $($field),* }
            }
        }

        impl<const N: usize> Elementwise for $name<N> {
            #[inline(always)]
            fn value(&self, $x: f32) -> f32 {
                let $s = self;
                $fwd
            }

            #[inline(always)]
            fn gradient(&self, $bx: f32, $by: f32, $dy: f32) -> f32 {
                let $s2 = self;
                $bwd
            }

            $($($rows)*)?
        }

        impl<const N: usize> Layer for $name<N> {
            const IN: usize = N;
            const OUT: usize = N;

            fn forward(&self, f: Forward<'_>) {
                self.forward_row(f.x, f.y);
            }

            fn op(&self) -> Op {
                let $s3 = self;
                Op::Activation($op)
            }

            fn backward(&self, b: Backward<'_>) {
                if let Some(dx) = b.dx {
                    self.backward_row(b.x, b.y, b.dy, dx);
                }
            }
        }
    };
}

activation!(
    /// `max(x, 0)`; the gradient at 0 is 0, as PyTorch's.
    ReLU {},
    op: |_| Activation::ReLU,
    // `x <= 0` is false for NaN, so NaN passes through; ±0 become +0.
    forward: |_, x| if x <= 0.0 { 0.0 } else { x },
    backward: |_, x, _, dy| if x <= 0.0 { 0.0 } else { dy },
);

activation!(
    /// `x` for positive `x`, else `slope·x` (PyTorch's `negative_slope`, default 0.01).
    LeakyReLU {
        /// Multiplier for negative inputs.
        slope
    },
    op: |s| Activation::LeakyReLU { slope: s.slope },
    forward: |s, x| if x > 0.0 { x } else { s.slope * x },
    backward: |s, x, _, dy| if x > 0.0 { dy } else { s.slope * dy },
);

activation!(
    /// `x` for positive `x`, else `α(eˣ − 1)` (Clevert et al. 2015; PyTorch's default α = 1).
    ELU {
        /// The negative inputs saturate at `-alpha`.
        alpha
    },
    op: |s| Activation::ELU { alpha: s.alpha },
    forward: |s, x| if x > 0.0 { x } else { s.alpha * math::exp_m1(x) },
    backward: |s, x, _, dy| if x > 0.0 { dy } else { dy * s.alpha * math::exp(x) },
);

activation!(
    /// The logistic function `1/(1 + e⁻ˣ)`, evaluated without overflow for large `|x|`.
    Sigmoid {},
    op: |_| Activation::Sigmoid,
    forward: |_, x| kernels::sigmoid(x),
    backward: |_, _, y, dy| dy * y * (1.0 - y),
);

activation!(
    /// The hyperbolic tangent.
    Tanh {},
    op: |_| Activation::Tanh,
    forward: |_, x| math::tanh(x),
    backward: |_, _, y, dy| dy * (1.0 - y * y),
);

activation!(
    /// GELU (Hendrycks & Gimpel 2016), `x·Φ(x)` with Φ the standard normal distribution function, exactly (Φ
    /// within 8 ulp, [`transcendental::normal_cdf`], in vector code) or, when `tanh_approximation` is 1, PyTorch's `approximate='tanh'`:
    /// `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
    GELU {
        /// 1 for the tanh approximation, 0 for the exact function.
        tanh_approximation
    },
    op: |s| Activation::GELU { tanh: s.tanh_approximation != 0.0 },
    forward: |s, x| if s.tanh_approximation != 0.0 { gelu_tanh(x) } else { gelu_exact(x) },
    backward: |s, x, _, dy| if s.tanh_approximation != 0.0 { gelu_tanh_gradient(x, dy) } else { gelu_exact_gradient(x, dy) },
    rows: {
        #[inline(always)]
        fn forward_row(&self, x: &[f32], y: &mut [f32]) {
            match self.tanh_approximation != 0.0 {
                true => kernels::map(x, y, gelu_tanh),
                false => kernels::map(x, y, gelu_exact),
            }
        }

        #[inline(always)]
        fn backward_row(&self, x: &[f32], _y: &[f32], dy: &[f32], dx: &mut [f32]) {
            match self.tanh_approximation != 0.0 {
                true => kernels::map_backward(x, x, dy, dx, |x, _, dy| gelu_tanh_gradient(x, dy)),
                false => kernels::map_backward(x, x, dy, dx, |x, _, dy| gelu_exact_gradient(x, dy)),
            }
        }
    },
);

/// GELU, `x·Φ(x)`.
#[inline(always)]
fn gelu_exact(x: f32) -> f32 {
    x * transcendental::normal_cdf(x)
}

/// `dy · d(x·Φ(x))/dx = dy·(Φ(x) + x·φ(x))`.
#[inline(always)]
fn gelu_exact_gradient(x: f32, dy: f32) -> f32 {
    let pdf = transcendental::exp(-0.5 * x * x) * FRAC_1_SQRT_2PI;
    dy * (transcendental::normal_cdf(x) + x * pdf)
}

/// PyTorch's `approximate='tanh'` GELU.
#[inline(always)]
fn gelu_tanh(x: f32) -> f32 {
    0.5 * x * (1.0 + transcendental::tanh(GELU_TANH_SCALE * (x + GELU_CUBIC * x * x * x)))
}

/// `dy` times the derivative of [`gelu_tanh`].
#[inline(always)]
fn gelu_tanh_gradient(x: f32, dy: f32) -> f32 {
    let inner = GELU_TANH_SCALE * (x + GELU_CUBIC * x * x * x);
    let t = transcendental::tanh(inner);
    let d_inner = GELU_TANH_SCALE * (1.0 + 3.0 * GELU_CUBIC * x * x);
    dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner)
}

/// `√(2/π)`, the scale inside GELU's tanh approximation.
const GELU_TANH_SCALE: f32 = 0.797_884_6;
/// The cubic coefficient of GELU's tanh approximation.
const GELU_CUBIC: f32 = 0.044_715;
/// `1/√(2π)`, the standard normal density at 0.
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;

activation!(
    /// SiLU, also called Swish: `x·σ(x)` (Elfwing et al. 2017; Ramachandran et al. 2017).
    SiLU {},
    op: |_| Activation::SiLU,
    forward: |_, x| x * kernels::sigmoid(x),
    backward: |_, x, _, dy| {
        let s = kernels::sigmoid(x);
        dy * s * (1.0 + x * (1.0 - s))
    },
);

activation!(
    /// Softplus, `ln(1 + e^(βx))/β`, and `x` itself where `βx > threshold` (PyTorch's defaults: β = 1,
    /// threshold 20), where the two agree to f32 precision.
    Softplus {
        /// The sharpness β (> 0).
        beta,
        /// Above this value of `βx` the function is the identity.
        threshold
    },
    op: |s| Activation::Softplus { beta: s.beta, threshold: s.threshold },
    forward: |s, x| if x * s.beta > s.threshold { x } else { math::ln_1p(math::exp(x * s.beta)) / s.beta },
    backward: |s, x, _, dy| {
        if x * s.beta > s.threshold {
            dy
        } else {
            let z = math::exp(x * s.beta);
            dy * z / (z + 1.0)
        }
    },
);

activation!(
    /// `x` clamped to `[min, max]` (PyTorch's defaults −1 and 1); the gradient is 0 outside the open interval.
    Hardtanh {
        /// The lower bound.
        min,
        /// The upper bound (> `min`).
        max
    },
    op: |s| Activation::Hardtanh { min: s.min, max: s.max },
    forward: |s, x| if x.is_nan() { x } else { x.clamp(s.min, s.max) },
    backward: |s, x, _, dy| if x <= s.min || x >= s.max { 0.0 } else { dy },
);

activation!(
    /// Mish (Misra 2019): `x·tanh(softplus(x))`.
    Mish {},
    op: |_| Activation::Mish,
    forward: |_, x| x * math::tanh(math::ln_1p(math::exp(x))),
    backward: |_, x, _, dy| {
        let t = math::tanh(math::ln_1p(math::exp(x)));
        dy * (t + x * kernels::sigmoid(x) * (1.0 - t * t))
    },
);

/// Softmax over the `N` values of each row; only allowed as the last layer.
///
/// To train a classifier prefer ending in logits and using `CrossEntropy`, which fuses log-softmax with the
/// loss; `Softmax` is for networks whose output must be probabilities.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Softmax<const N: usize>;

impl<const N: usize> Softmax<N> {
    /// The layer (it has no settings).
    pub const fn new() -> Self {
        Self
    }
}

impl<const N: usize> Layer for Softmax<N> {
    const IN: usize = N;
    const OUT: usize = N;

    fn forward(&self, f: Forward<'_>) {
        kernels::softmax_forward(N, f.x, f.y);
    }

    fn op(&self) -> Op {
        Op::Softmax
    }

    fn backward(&self, b: Backward<'_>) {
        if let Some(dx) = b.dx {
            kernels::softmax_backward(N, b.y, b.dy, dx);
        }
    }
}

/// The logarithm of the softmax of each row, `xᵢ − ln Σⱼ e^(xⱼ)` computed stably; only allowed as the last
/// layer, and paired with the `Nll` loss it is cross-entropy (PyTorch's `LogSoftmax` + `NLLLoss`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogSoftmax<const N: usize>;

impl<const N: usize> LogSoftmax<N> {
    /// The layer (it has no settings).
    pub const fn new() -> Self {
        Self
    }
}

impl<const N: usize> Layer for LogSoftmax<N> {
    const IN: usize = N;
    const OUT: usize = N;

    fn forward(&self, f: Forward<'_>) {
        kernels::log_softmax_forward(N, f.x, f.y);
    }

    fn op(&self) -> Op {
        Op::LogSoftmax
    }

    fn backward(&self, b: Backward<'_>) {
        if let Some(dx) = b.dx {
            kernels::log_softmax_backward(N, b.y, b.dy, dx);
        }
    }
}
