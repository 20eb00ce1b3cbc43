//! Layers that change a sample's type: `Flatten` (`C×H×W` → features), `Unflatten` (features → `C×H×W`) and
//! `Identity` leave its memory as it is — activations are flat row-major slices already, so the generated code
//! never calls them: their output buffer *is* their input buffer (their implementations exist for completeness,
//! and copy) — and `ToSeq` (`C×H×W` → `H·W` steps of `C`) transposes it.

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

/// An image `[C, H, W]` as a sequence of its `P = H·W` positions, row by row, each a step of its `C` channels
/// (PyTorch's `x.flatten(2).transpose(1, 2)`): a transpose per sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ToSeq<const C: usize, const P: usize>;

impl<const C: usize, const P: usize> ToSeq<C, P> {
    /// The layer.
    pub const fn new() -> Self {
        Self
    }
}

impl<const C: usize, const P: usize> Layer for ToSeq<C, P> {
    const IN: usize = C * P;
    const OUT: usize = C;

    fn op(&self) -> Op {
        Op::ToSeq { channels: C, positions: P }
    }

    fn forward(&self, f: Forward<'_>) {
        for (x, y) in f.x.chunks_exact(C * P).zip(f.y.chunks_exact_mut(C * P)) {
            for (c, channel) in x.chunks_exact(P).enumerate() {
                for (p, &v) in channel.iter().enumerate() {
                    y[p * C + c] = v;
                }
            }
        }
    }

    fn backward(&self, b: Backward<'_>) {
        let Some(dx) = b.dx else { return };
        for (dy, dx) in b.dy.chunks_exact(C * P).zip(dx.chunks_exact_mut(C * P)) {
            for (c, channel) in dx.chunks_exact_mut(P).enumerate() {
                for (p, d) in channel.iter_mut().enumerate() {
                    *d = dy[p * C + c];
                }
            }
        }
    }
}
