//! `Flatten`: a change of type, not of memory.

use super::{Backward, Layer, Pass};

/// Turns a `C×H×W` shape into `C·H·W` features.
///
/// Activations are already flat row-major slices, so the generated code never calls this layer: its output
/// buffer *is* its input buffer. The implementation exists for completeness and copies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten<const N: usize>;

impl<const N: usize> Layer for Flatten<N> {
    const IN: usize = N;
    const OUT: usize = N;

    fn forward(&self, _params: &[f32], x: &[f32], y: &mut [f32], _scratch: &mut [f32], _pass: &Pass<'_>) {
        y.copy_from_slice(x);
    }

    fn backward(&self, _params: &[f32], io: Backward<'_>, _grads: &mut [f32], _scratch: &mut [f32]) {
        if let Some(dx) = io.dx {
            dx.copy_from_slice(io.dy);
        }
    }
}
