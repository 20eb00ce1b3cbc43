//! `MaxPool<K, S>` and `AvgPool<K, S>` over `C×H×W` inputs (PyTorch's `MaxPool2d` and `AvgPool2d`).

use super::{Backward, Forward, Layer, Op};
use crate::kernels::{avg_pool_backward, avg_pool_forward, max_pool_backward, max_pool_forward, PoolGeometry};

macro_rules! pool_layer {
    ($(#[$doc:meta])* $name:ident, $fwd:ident, |$g:ident, $x:pat, $dy:ident, $dx:ident| $bwd:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name<const C: usize, const H: usize, const W: usize, const K: usize, const S: usize>;

        impl<const C: usize, const H: usize, const W: usize, const K: usize, const S: usize> $name<C, H, W, K, S> {
            /// The layer (its sizes are its type's).
            pub const fn new() -> Self {
                Self
            }

            const GEOMETRY: PoolGeometry = PoolGeometry { channels: C, height: H, width: W, kernel: K, stride: S };
            /// Output height: `(H − K)/S + 1`.
            pub const OUT_HEIGHT: usize = Self::GEOMETRY.out_height();
            /// Output width: `(W − K)/S + 1`.
            pub const OUT_WIDTH: usize = Self::GEOMETRY.out_width();
        }

        impl<const C: usize, const H: usize, const W: usize, const K: usize, const S: usize> Layer
            for $name<C, H, W, K, S>
        {
            const IN: usize = C * H * W;
            const OUT: usize = C * Self::OUT_HEIGHT * Self::OUT_WIDTH;

            fn op(&self) -> Op {
                Op::Pool { average: stringify!($name).starts_with("Avg"), kernel: K, stride: S }
            }

            fn forward(&self, f: Forward<'_>) {
                for (x, y) in f.x.chunks_exact(Self::IN).zip(f.y.chunks_exact_mut(Self::OUT)) {
                    $fwd(&Self::GEOMETRY, x, y);
                }
            }

            fn backward(&self, io: Backward<'_>) {
                let Some(dx) = io.dx else { return };
                let $g = &Self::GEOMETRY;
                for (($x, $dy), $dx) in io
                    .x
                    .chunks_exact(Self::IN)
                    .zip(io.dy.chunks_exact(Self::OUT))
                    .zip(dx.chunks_exact_mut(Self::IN))
                {
                    $bwd;
                }
            }
        }
    };
}

pool_layer!(
    /// Max pooling with a `K×K` window moved by `S` (no padding; windows that do not fit are dropped).
    MaxPool,
    max_pool_forward,
    |g, x, dy, dx| max_pool_backward(g, x, dy, dx)
);

pool_layer!(
    /// Average pooling with a `K×K` window moved by `S` (no padding; windows that do not fit are dropped).
    AvgPool,
    avg_pool_forward,
    |g, _, dy, dx| avg_pool_backward(g, dy, dx)
);
