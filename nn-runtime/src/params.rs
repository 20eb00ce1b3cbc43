//! The parameter buffer of a network.

use crate::kernels::{line_start, LINE};
use std::ops::{Deref, DerefMut};

/// All of a network's parameters in one contiguous, fixed-length buffer.
///
/// It dereferences to `[f32]`, so it can be read and written like a slice, but it cannot be resized or replaced by
/// a buffer of another length: the generated passes index it with constant offsets.
///
/// The values start at a cache-line boundary: a weight row of a whole number of lines (a `Linear<784, _>` row is
/// 49) is then read without a vector load straddling two lines. The allocator aligns to 16 bytes only: the
/// benchmarks' MLP, its rows off a line boundary, took 21–22 µs for a batch-1 inference against 17–18 µs aligned
/// (Intel Xeon, 2026-12-08).
pub struct Params {
    /// The parameters from `start`, the first cache-line boundary; `LINE` values to spare.
    values: Box<[f32]>,
    start: usize,
}

impl Params {
    /// `len` zeros, allocated directly on the heap (large networks never pass through the stack).
    #[doc(hidden)]
    pub fn zeros(len: usize) -> Self {
        let values = vec![0.0; len + LINE].into_boxed_slice();
        let start = line_start(&values);
        Self { values, start }
    }
}

impl Clone for Params {
    fn clone(&self) -> Self {
        // A new allocation has its own first line boundary.
        let mut copy = Self::zeros(self.len());
        copy.copy_from_slice(self);
        copy
    }
}

impl PartialEq for Params {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Deref for Params {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        &self.values[self.start..self.start + self.values.len() - LINE]
    }
}

impl DerefMut for Params {
    fn deref_mut(&mut self) -> &mut [f32] {
        let end = self.start + self.values.len() - LINE;
        &mut self.values[self.start..end]
    }
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Params({} values)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::Params;

    #[test]
    fn values_start_at_a_cache_line_and_clones_are_equal_and_aligned_too() {
        for len in [0, 1, 15, 16, 17, 1000] {
            let mut p = Params::zeros(len);
            p.iter_mut().enumerate().for_each(|(i, v)| *v = i as f32);
            assert_eq!(p.len(), len);
            assert_eq!(p.as_ptr() as usize % 64, 0, "{len} values");
            let q = p.clone();
            assert_eq!(q.as_ptr() as usize % 64, 0, "a clone of {len} values");
            assert!(q == p && q.iter().enumerate().all(|(i, &v)| v == i as f32));
        }
    }
}
