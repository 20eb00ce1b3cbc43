//! The parameter buffer of a network.

use std::ops::{Deref, DerefMut};

/// All of a network's parameters in one contiguous, fixed-length buffer.
///
/// It dereferences to `[f32]`, so it can be read and written like a slice, but it cannot be resized or replaced by
/// a buffer of another length: the generated passes index it with constant offsets.
#[derive(Clone, PartialEq)]
pub struct Params(Box<[f32]>);

impl Params {
    /// `len` zeros, allocated directly on the heap (large networks never pass through the stack).
    #[doc(hidden)]
    pub fn zeros(len: usize) -> Self {
        Self(vec![0.0; len].into_boxed_slice())
    }
}

impl Deref for Params {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        &self.0
    }
}

impl DerefMut for Params {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.0
    }
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Params({} values)", self.0.len())
    }
}
