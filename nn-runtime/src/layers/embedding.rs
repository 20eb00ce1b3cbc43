//! `Embedding`: a table of `VOCAB` vectors of `DIM` values, looked up by token id — PyTorch's `nn.Embedding`.
//!
//! Token ids travel through a pass's `f32` buffers as their bit patterns (`f32::from_bits(id)`), exactly, for
//! every id a `u32` holds: the driver checks them against the vocabulary before a pass, and this layer reads them
//! back with `to_bits`.

use super::{Backward, Forward, Layer, Op, Pass};
use crate::Rng;

/// A table `weight` `[VOCAB, DIM]` (PyTorch's layout), each row of the input one token id, each row of the output
/// that id's vector. With a padding index, that row starts at zeros and gets no gradient, as PyTorch's
/// `padding_idx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Embedding<const VOCAB: usize, const DIM: usize> {
    offset: usize,
    /// The padding index, or `usize::MAX` for none.
    padding: usize,
}

impl<const VOCAB: usize, const DIM: usize> Embedding<VOCAB, DIM> {
    /// A table whose values start at `offset` in the network's parameter buffer, with padding index `padding`.
    ///
    /// # Panics
    /// If `padding` is given and not below `VOCAB` (the `network!` macro rejects it at compile time).
    pub const fn new(offset: usize, padding: Option<usize>) -> Self {
        let padding = match padding {
            Some(p) => {
                assert!(p < VOCAB, "the padding index is a token of the vocabulary");
                p
            }
            None => usize::MAX,
        };
        Self { offset, padding }
    }

    /// The padding index, if any.
    pub const fn padding_idx(&self) -> Option<usize> {
        if self.padding == usize::MAX {
            None
        } else {
            Some(self.padding)
        }
    }

    /// The table `[VOCAB][DIM]` inside a network's parameters.
    pub fn weight<'p>(&self, params: &'p [f32]) -> &'p [[f32; DIM]; VOCAB] {
        crate::view(&params[self.offset..self.offset + VOCAB * DIM])
    }

    /// The table, mutably.
    pub fn weight_mut<'p>(&self, params: &'p mut [f32]) -> &'p mut [[f32; DIM]; VOCAB] {
        crate::view_mut(&mut params[self.offset..self.offset + VOCAB * DIM])
    }
}

/// The token id a row of the input holds (its bits).
///
/// # Panics
/// If it is not below `vocab`: the driver refuses such ids before a pass, so only a caller of
/// `forward_static` with a bad id gets here.
fn id(value: f32, vocab: usize) -> usize {
    let id = value.to_bits() as usize;
    assert!(id < vocab, "token id {id} is out of range: the vocabulary has {vocab} tokens (0..{vocab})");
    id
}

/// Each sample's length in the pass.
fn length(pass: &Pass<'_>, i: usize) -> usize {
    pass.lengths.get(i).copied().unwrap_or(pass.steps)
}

impl<const VOCAB: usize, const DIM: usize> Layer for Embedding<VOCAB, DIM> {
    const IN: usize = 1;
    const OUT: usize = DIM;
    const PARAMS: usize = VOCAB * DIM;

    fn init(&self, params: &mut [f32], _buffers: &mut [f32], rng: &mut Rng) {
        params.iter_mut().for_each(|v| *v = rng.normal(0.0, 1.0));
        if let Some(p) = self.padding_idx() {
            params[p * DIM..(p + 1) * DIM].fill(0.0);
        }
    }

    fn op(&self) -> Op {
        Op::Embedding { vocab: VOCAB, dim: DIM }
    }

    fn forward(&self, f: Forward<'_>) {
        for (&token, y) in f.x.iter().zip(f.y.chunks_exact_mut(DIM)) {
            let row = id(token, VOCAB);
            y.copy_from_slice(&f.params[row * DIM..(row + 1) * DIM]);
        }
    }

    fn backward(&self, b: Backward<'_>) {
        let Backward { x, dy, dx, grads, pass, .. } = b;
        grads.fill(0.0);
        let steps = pass.steps;
        for i in 0..pass.samples {
            for t in 0..length(pass, i) {
                let r = i * steps + t;
                let row = id(x[r], VOCAB);
                if row == self.padding {
                    continue;
                }
                let g = &mut grads[row * DIM..(row + 1) * DIM];
                g.iter_mut().zip(&dy[r * DIM..(r + 1) * DIM]).for_each(|(g, &d)| *g += d);
            }
        }
        // Token ids have no gradient.
        if let Some(dx) = dx {
            dx.fill(0.0);
        }
    }
}
