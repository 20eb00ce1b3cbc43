//! Activation functions over `N` values per sample (any shape; they act element-wise, Softmax per sample).

use super::{Backward, Layer, Pass};
use crate::kernels;

/// Declares an activation layer: a descriptor (with its one setting, if any) and its `Layer` impl.
macro_rules! activation {
    (
        $(#[$doc:meta])* $name:ident $(($field:ident: $doc_field:literal))?,
        forward: |$s:pat, $x:ident, $y:ident| $fwd:expr,
        backward: |$s2:pat, $bx:pat, $by:pat, $dy:ident, $dx:ident| $bwd:expr $(,)?
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq)]
        #[allow(clippy::upper_case_acronyms)] // the names of the DSL and of PyTorch
        pub struct $name<const N: usize> { $(#[doc = $doc_field] pub $field: f32)? }

        impl<const N: usize> Layer for $name<N> {
            const IN: usize = N;
            const OUT: usize = N;

            fn forward(&self, _params: &[f32], $x: &[f32], $y: &mut [f32], _scratch: &mut [f32], _pass: &Pass<'_>) {
                let $s = self;
                $fwd
            }

            fn backward(&self, _params: &[f32], io: Backward<'_>, _grads: &mut [f32], _scratch: &mut [f32]) {
                let Some($dx) = io.dx else { return };
                let ($s2, $bx, $by, $dy) = (self, io.x, io.y, io.dy);
                $bwd
            }
        }
    };
}

activation!(
    /// `max(x, 0)`.
    ReLU,
    forward: |_, x, y| kernels::relu_forward(x, y),
    backward: |_, x, _, dy, dx| kernels::relu_backward(x, dy, dx),
);

activation!(
    /// `x` for positive `x`, else `slope·x` (PyTorch's `negative_slope`, default 0.01).
    LeakyReLU (slope: "Multiplier for negative inputs."),
    forward: |s, x, y| kernels::leaky_relu_forward(s.slope, x, y),
    backward: |s, x, _, dy, dx| kernels::leaky_relu_backward(s.slope, x, dy, dx),
);

activation!(
    /// `x` for positive `x`, else `α(eˣ − 1)` (Clevert et al. 2015; PyTorch's default α = 1).
    ELU (alpha: "Saturation value for negative inputs is `-alpha`."),
    forward: |s, x, y| kernels::elu_forward(s.alpha, x, y),
    backward: |s, x, _, dy, dx| kernels::elu_backward(s.alpha, x, dy, dx),
);

activation!(
    /// The logistic function `1/(1 + e⁻ˣ)`.
    Sigmoid,
    forward: |_, x, y| kernels::sigmoid_forward(x, y),
    backward: |_, _, y, dy, dx| kernels::sigmoid_backward(y, dy, dx),
);

activation!(
    /// The hyperbolic tangent.
    Tanh,
    forward: |_, x, y| kernels::tanh_forward(x, y),
    backward: |_, _, y, dy, dx| kernels::tanh_backward(y, dy, dx),
);

activation!(
    /// Softmax over the `N` values of each sample; only allowed as the last layer.
    ///
    /// To train a classifier prefer ending in logits and using `CrossEntropy`, which fuses log-softmax with the
    /// loss; `Softmax` is for networks whose output must be probabilities.
    Softmax,
    forward: |_, x, y| kernels::softmax_forward(N, x, y),
    backward: |_, _, y, dy, dx| kernels::softmax_backward(N, y, dy, dx),
);

macro_rules! unit_constructors {
    ($($name:ident),*) => {$(
        impl<const N: usize> $name<N> {
            /// The layer (it has no settings).
            pub const fn new() -> Self {
                Self {}
            }
        }

        impl<const N: usize> Default for $name<N> {
            fn default() -> Self {
                Self::new()
            }
        }
    )*};
}

unit_constructors!(ReLU, Sigmoid, Tanh, Softmax);

impl<const N: usize> LeakyReLU<N> {
    /// A leaky ReLU with the given negative slope.
    pub const fn new(slope: f32) -> Self {
        Self { slope }
    }
}

impl<const N: usize> ELU<N> {
    /// An ELU with the given α.
    pub const fn new(alpha: f32) -> Self {
        Self { alpha }
    }
}
