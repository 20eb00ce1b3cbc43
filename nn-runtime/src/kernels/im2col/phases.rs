//! Strided `im2col` and `col2im` through an input plane whose lines are split by phase.
//!
//! With stride `S`, kernel column `kj` reads every `S`-th value of an input line, from column `kj − P` on. Split
//! each line into its `S` phases (columns `q, q + S, q + 2S, …` for `q < S`), each with zeros on both sides for
//! the padding, and every kernel column's run of `OW` values is one contiguous run of one phase: a vector copy or
//! two, where a gather walked the line value by value (the generative networks' 4×4, stride-2 convolutions spent a
//! third of their training step so, on rows of 7 and 14 values).
//!
//! A whole plane is split before its runs are read, and consecutive runs go to different lines: a vector load of
//! values stored a moment before by other (narrower or shifted) stores waits for them to reach the cache, and
//! splitting and reading one line at a time made these passes no faster than the gather.
//!
//! Both passes add every input value's terms in the order of the value-by-value loops, so their results are those
//! loops' bit for bit.

use super::{run, ConvGeometry};
use crate::kernels::simd::{Kernel, Simd};

/// The most values one plane's phases may take (a buffer on the stack); larger planes take the value-by-value
/// path.
const CAPACITY: usize = 4096;
/// The widest kernel and the largest stride with runs laid out beforehand; others take the value-by-value path.
const MAX_KERNEL: usize = 16;
const MAX_STRIDE: usize = 4;

/// Where a plane's phases lie in the buffer: line `i`'s phase `q` starts at `(i·S + q)·width` and holds at index
/// `j` input column `S·(j − left) + q` (zero, or ignored, outside the line), with `left` phase indices before
/// column `q`, enough for the padding.
#[derive(Clone, Copy)]
pub(super) struct Phases {
    g: ConvGeometry,
    /// Where kernel column `kj`'s run of output columns starts in a line's phases.
    runs: [usize; MAX_KERNEL],
    /// The range of a line's phases holding phase `q`'s input columns `q, q + S, …`.
    inside: [(usize, usize); MAX_STRIDE],
    /// Values per line: `S·width`.
    line: usize,
}

impl Phases {
    /// The layout for `g` (stride ≥ 2), or `None` if its planes do not fit the buffer or its kernel or stride is
    /// too large.
    pub(super) fn new(g: &ConvGeometry) -> Option<Self> {
        debug_assert!(g.stride >= 2);
        let (s, k) = (g.stride, g.kernel);
        if s > MAX_STRIDE || k > MAX_KERNEL {
            return None;
        }
        let left = g.padding.div_ceil(s);
        // Output column 0 reads input column kj − P = S·(j − left) + q; shifted by S·left it is never negative.
        let start = |kj: usize| {
            let shifted = kj + s * left - g.padding;
            (shifted % s, shifted / s)
        };
        // The last kernel column's run starts furthest into its phase.
        let width = start(k - 1).1 + g.out_width();
        if g.height * s * width > CAPACITY {
            return None;
        }
        let mut phases = Self { g: *g, runs: [0; MAX_KERNEL], inside: [(0, 0); MAX_STRIDE], line: s * width };
        for (kj, run) in phases.runs[..k].iter_mut().enumerate() {
            let (q, j) = start(kj);
            *run = q * width + j;
        }
        for (q, inside) in phases.inside[..s].iter_mut().enumerate() {
            let count = g.width.saturating_sub(q).div_ceil(s);
            let end = (q + 1) * width;
            let from = (q * width + left).min(end);
            *inside = (from, (from + count).min(end));
        }
        Some(phases)
    }

    /// The stride: `STRIDE`, or the geometry's if that is 0.
    #[inline(always)]
    fn stride<const STRIDE: usize>(&self) -> usize {
        if STRIDE == 0 {
            self.g.stride
        } else {
            STRIDE
        }
    }

    /// Copies `plane` into the buffer's phases (the padding around them left as it is).
    #[inline(always)]
    fn split<const STRIDE: usize>(&self, plane: &[f32], buffer: &mut [f32; CAPACITY]) {
        let s = self.stride::<STRIDE>();
        for (line, phases) in plane.chunks_exact(self.g.width).zip(buffer.chunks_exact_mut(self.line)) {
            for (q, &(from, to)) in self.inside[..s].iter().enumerate() {
                for (v, &x) in phases[from..to].iter_mut().zip(line.iter().skip(q).step_by(s)) {
                    *v = x;
                }
            }
        }
    }

    /// Copies the buffer's phases back into `plane` (the inverse of [`split`](Self::split)).
    #[inline(always)]
    fn join<const STRIDE: usize>(&self, buffer: &[f32; CAPACITY], plane: &mut [f32]) {
        let s = self.stride::<STRIDE>();
        for (line, phases) in plane.chunks_exact_mut(self.g.width).zip(buffer.chunks_exact(self.line)) {
            for (q, &(from, to)) in self.inside[..s].iter().enumerate() {
                for (x, &v) in line.iter_mut().skip(q).step_by(s).zip(&phases[from..to]) {
                    *x = v;
                }
            }
        }
    }
}

/// [`im2col_into`](super::im2col_into) for a stride of 2 or more, as a kernel for
/// [`Isa::run`](crate::kernels::simd::Isa::run); its sizes checked by the caller.
pub(super) struct Unfold<'a> {
    pub(super) phases: Phases,
    pub(super) x: &'a [f32],
    pub(super) col: &'a mut [f32],
    pub(super) ld: usize,
}

impl Kernel for Unfold<'_> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<S: Simd>(self) {
        // SAFETY: `S` is supported (the contract of `run`).
        unsafe {
            if self.phases.g.stride == 2 {
                self.unfold::<S, 2>();
            } else {
                self.unfold::<S, 0>();
            }
        }
    }
}

impl Unfold<'_> {
    /// The kernel with the stride `STRIDE` (0: the geometry's, read at run time).
    ///
    /// # Safety
    /// `S` must be supported by the CPU.
    #[inline(always)]
    unsafe fn unfold<S: Simd, const STRIDE: usize>(self) {
        let Unfold { phases, x, col, ld } = self;
        let g = &phases.g;
        let (k, ow, len) = (g.kernel, g.out_width(), g.col_cols());
        // Zeroed once: the padding around the phases is never written.
        let mut buffer = [0.0f32; CAPACITY];
        for (c, plane) in x.chunks_exact(g.height * g.width).enumerate() {
            phases.split::<STRIDE>(plane, &mut buffer);
            for ki in 0..k {
                for (kj, &at) in phases.runs[..k].iter().enumerate() {
                    let row = &mut col[((c * k + ki) * k + kj) * ld..][..len];
                    for (oh, out) in row.chunks_exact_mut(ow).enumerate() {
                        match g.source(oh, ki, g.height) {
                            None => out.fill(0.0),
                            // SAFETY: `S` is supported (the caller's contract).
                            Some(i) => unsafe { run::<S, false>(&buffer[i * phases.line + at..][..ow], out) },
                        }
                    }
                }
            }
        }
    }
}

/// [`col2im_add_from`](super::col2im_add_from) for a stride of 2 or more, as a kernel for
/// [`Isa::run`](crate::kernels::simd::Isa::run); its sizes checked by the caller.
pub(super) struct Fold<'a> {
    pub(super) phases: Phases,
    pub(super) col: &'a [f32],
    pub(super) ld: usize,
    pub(super) dx: &'a mut [f32],
}

impl Kernel for Fold<'_> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<S: Simd>(self) {
        // SAFETY: `S` is supported (the contract of `run`).
        unsafe {
            if self.phases.g.stride == 2 {
                self.fold::<S, 2>();
            } else {
                self.fold::<S, 0>();
            }
        }
    }
}

impl Fold<'_> {
    /// The kernel with the stride `STRIDE` (0: the geometry's, read at run time).
    ///
    /// # Safety
    /// `S` must be supported by the CPU.
    #[inline(always)]
    unsafe fn fold<S: Simd, const STRIDE: usize>(self) {
        let Fold { phases, col, ld, dx } = self;
        let g = &phases.g;
        let (k, ow, len) = (g.kernel, g.out_width(), g.col_cols());
        // The padding around the phases gathers what the column matrix holds for it, and is never read back.
        let mut buffer = [0.0f32; CAPACITY];
        for (c, plane) in dx.chunks_exact_mut(g.height * g.width).enumerate() {
            phases.split::<STRIDE>(plane, &mut buffer);
            for ki in 0..k {
                for (kj, &at) in phases.runs[..k].iter().enumerate() {
                    let row = &col[((c * k + ki) * k + kj) * ld..][..len];
                    for (oh, values) in row.chunks_exact(ow).enumerate() {
                        if let Some(i) = g.source(oh, ki, g.height) {
                            // SAFETY: `S` is supported (the caller's contract).
                            unsafe { run::<S, true>(values, &mut buffer[i * phases.line + at..][..ow]) };
                        }
                    }
                }
            }
            phases.join::<STRIDE>(&buffer, plane);
        }
    }
}
