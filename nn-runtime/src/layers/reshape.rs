//! Layers that change a sample's type, not its memory: `Flatten` (`C×H×W` → features), `Unflatten` (features →
//! `C×H×W`) and `Identity`. Activations are flat row-major slices already, so the generated code never calls
//! them: their output buffer *is* their input buffer. Their implementations exist for completeness, and copy.

use super::{Backward, Forward, Layer, Op};

/// Declares a layer that passes `N` values per row through unchanged.
macro_rules! reshape {
    ($(#[$doc:meta])* $name:ident, $op:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name<const N: usize>;

        impl<const N: usize> $name<N> {
            /// The layer.
            pub const fn new() -> Self {
                Self
            }
        }

        impl<const N: usize> Layer for $name<N> {
            const IN: usize = N;
            const OUT: usize = N;

            fn op(&self) -> Op {
                $op
            }

            fn forward(&self, f: Forward<'_>) {
                f.y.copy_from_slice(f.x);
            }

            fn backward(&self, io: Backward<'_>) {
                if let Some(dx) = io.dx {
                    dx.copy_from_slice(io.dy);
                }
            }
        }
    };
}

reshape!(
    /// Turns a `C×H×W` shape into `C·H·W` features.
    Flatten,
    Op::Flatten
);

reshape!(
    /// Its input, unchanged (a branch of a `Concat` that passes the block's input through).
    Identity,
    Op::Identity
);

/// Turns `C·H·W` features into a `C×H×W` image (PyTorch's `nn.Unflatten(1, (C, H, W))`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unflatten<const C: usize, const H: usize, const W: usize>;

impl<const C: usize, const H: usize, const W: usize> Unflatten<C, H, W> {
    /// The layer.
    pub const fn new() -> Self {
        Self
    }
}

impl<const C: usize, const H: usize, const W: usize> Layer for Unflatten<C, H, W> {
    const IN: usize = C * H * W;
    const OUT: usize = C * H * W;

    fn op(&self) -> Op {
        Op::Unflatten { shape: [C, H, W] }
    }

    fn forward(&self, f: Forward<'_>) {
        f.y.copy_from_slice(f.x);
    }

    fn backward(&self, io: Backward<'_>) {
        if let Some(dx) = io.dx {
            dx.copy_from_slice(io.dy);
        }
    }
}
