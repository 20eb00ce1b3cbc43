//! `Flatten`: a change of type, not of memory.

use super::{Backward, Forward, Layer, Op};

/// Turns a `C×H×W` shape into `C·H·W` features.
///
/// Activations are already flat row-major slices, so the generated code never calls this layer: its output
/// buffer *is* its input buffer. The implementation exists for completeness and copies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten<const N: usize>;

impl<const N: usize> Flatten<N> {
    /// The layer.
    pub const fn new() -> Self {
        Self
    }
}

impl<const N: usize> Layer for Flatten<N> {
    const IN: usize = N;
    const OUT: usize = N;

    fn op(&self) -> Op {
        Op::Flatten
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
