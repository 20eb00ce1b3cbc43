//! Unfolding image patches into columns, so that a convolution becomes one matrix product.

use super::simd::{active, Isa, Kernel, Simd};
use phases::{Fold, Phases, Unfold};

mod phases;

/// The sizes of one 2-D convolution over a single sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input channels.
    pub channels: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Square kernel size.
    pub kernel: usize,
    /// Step between neighbouring windows.
    pub stride: usize,
    /// Zero padding added on every side.
    pub padding: usize,
}

impl ConvGeometry {
    /// Output height: `(H + 2P - K) / S + 1`.
    pub const fn out_height(&self) -> usize {
        (self.height + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// Output width: `(W + 2P - K) / S + 1`.
    pub const fn out_width(&self) -> usize {
        (self.width + 2 * self.padding - self.kernel) / self.stride + 1
    }

    /// Rows of the column matrix: `C·K·K`.
    pub const fn col_rows(&self) -> usize {
        self.channels * self.kernel * self.kernel
    }

    /// Columns of the column matrix: one per output position.
    pub const fn col_cols(&self) -> usize {
        self.out_height() * self.out_width()
    }

    /// The input row or column read by output position `o` at kernel offset `k`, or `None` inside the padding.
    #[inline(always)]
    fn source(&self, o: usize, k: usize, limit: usize) -> Option<usize> {
        (o * self.stride + k).checked_sub(self.padding).filter(|&i| i < limit)
    }

    /// The output columns `lo..hi` whose input column `s·S + kj − P` lies inside the image, and the input column
    /// of `lo`.
    #[inline(always)]
    fn valid_columns(&self, kj: usize) -> (usize, usize, usize) {
        let (s, p, w) = (self.stride, self.padding, self.width);
        let lo = p.saturating_sub(kj).div_ceil(s);
        let hi = (w + p).saturating_sub(kj).div_ceil(s).min(self.out_width());
        let lo = lo.min(hi);
        (lo, hi, (lo * s + kj).saturating_sub(p))
    }
}

/// Writes the `C·K·K × OH·OW` column matrix of one sample `x` (`C×H×W`, row-major) into `col`.
///
/// Row `(c·K + ki)·K + kj`, column `oh·OW + ow` holds `x[c][oh·S + ki − P][ow·S + kj − P]`, or 0 in the padding.
/// Each output row is one contiguous copy when the stride is 1.
pub fn im2col(g: &ConvGeometry, x: &[f32], col: &mut [f32]) {
    im2col_into(g, x, col, g.col_cols());
}

/// [`im2col`] into the columns of a wider matrix whose rows are `ld` values apart: row `r` of the sample's column
/// matrix goes to `col[r·ld..][..OH·OW]`. Several samples' matrices side by side make one product of them all.
///
/// # Panics
/// If `ld < OH·OW`, `col` is too short for the last row, or `x` is not `C×H×W`.
pub fn im2col_into(g: &ConvGeometry, x: &[f32], col: &mut [f32], ld: usize) {
    im2col_on(active(), g, x, col, ld);
}

/// [`im2col_into`] on a given instruction set (for tests of each path; `isa` must be supported).
fn im2col_on(isa: Isa, g: &ConvGeometry, x: &[f32], col: &mut [f32], ld: usize) {
    let len = g.col_cols();
    assert!(ld >= len && col.len() >= (g.col_rows() - 1) * ld + len, "im2col: the column matrix is too small");
    assert_eq!(x.len(), g.channels * g.height * g.width, "im2col: input is not C×H×W");
    // Unit-stride runs are copies of contiguous values; strided ones go through the line's phases, unless a line
    // is too wide for them.
    if g.stride == 1 {
        unfold::<1>(g, x, col, ld);
    } else if let Some(phases) = Phases::new(g) {
        isa.run(Unfold { phases, x, col, ld });
    } else {
        unfold::<0>(g, x, col, ld);
    }
}

/// [`im2col_into`] with the stride `S` (0: `g.stride`, read at run time).
#[inline(always)]
fn unfold<const S: usize>(g: &ConvGeometry, x: &[f32], col: &mut [f32], ld: usize) {
    let stride = if S == 0 { g.stride } else { S };
    let (ow, len) = (g.out_width(), g.col_cols());
    let mut r = 0;
    for plane in x.chunks_exact(g.height * g.width) {
        for ki in 0..g.kernel {
            for kj in 0..g.kernel {
                let row = &mut col[r * ld..r * ld + len];
                r += 1;
                let (lo, hi, j0) = g.valid_columns(kj);
                for (r, out) in row.chunks_exact_mut(ow).enumerate() {
                    let Some(i) = g.source(r, ki, g.height) else {
                        out.fill(0.0);
                        continue;
                    };
                    let line = &plane[i * g.width..(i + 1) * g.width];
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    if hi > lo {
                        let source = &line[j0..=j0 + (hi - lo - 1) * stride];
                        for (t, v) in out[lo..hi].iter_mut().enumerate() {
                            *v = source[t * stride];
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every column entry back onto the input position it was copied from.
pub fn col2im_add(g: &ConvGeometry, col: &[f32], dx: &mut [f32]) {
    assert_eq!(col.len(), g.col_rows() * g.col_cols(), "col2im: column matrix has the wrong size");
    col2im_add_on(active(), g, col, g.col_cols(), dx);
}

/// [`col2im_add`] from the columns of a wider matrix whose rows are `ld` values apart (the adjoint of
/// [`im2col_into`]).
///
/// # Panics
/// If `ld < OH·OW`, `col` is too short for the last row, or `dx` is not `C×H×W`.
pub fn col2im_add_from(g: &ConvGeometry, col: &[f32], ld: usize, dx: &mut [f32]) {
    col2im_add_on(active(), g, col, ld, dx);
}

/// [`col2im_add_from`] on a given instruction set (for tests of each path; `isa` must be supported).
fn col2im_add_on(isa: Isa, g: &ConvGeometry, col: &[f32], ld: usize, dx: &mut [f32]) {
    assert!(isa.is_supported(), "this CPU does not support {}", isa.name());
    assert_eq!(dx.len(), g.channels * g.height * g.width, "col2im: input is not C×H×W");
    let len = g.col_cols();
    assert!(ld >= len && col.len() >= (g.col_rows() - 1) * ld + len, "col2im: the column matrix is too small");
    // Stride 1: every row of the column matrix adds onto a contiguous run of the image, a vector add per
    // `LANES` values, dispatched once for the whole matrix. Strided rows add through the line's phases, unless a
    // line is too wide for them.
    if g.stride == 1 {
        isa.run(Col2im { g, col, ld, dx });
    } else if let Some(phases) = Phases::new(g) {
        isa.run(Fold { phases, col, ld, dx });
    } else {
        fold(g, col, ld, dx);
    }
}

/// The unit-stride `col2im` as a kernel for [`Isa::run`], its lengths checked by [`col2im_add`].
struct Col2im<'a> {
    g: &'a ConvGeometry,
    col: &'a [f32],
    ld: usize,
    dx: &'a mut [f32],
}

impl Kernel for Col2im<'_> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<S: Simd>(self) {
        // SAFETY: `S` is supported (the contract of `run`); `g.stride == 1` and the lengths were checked.
        unsafe { col2im_unit_stride::<S>(self.g, self.col, self.ld, self.dx) }
    }
}

/// # Safety
/// `S` must be supported by the CPU; `g.stride == 1`; `col` (rows `ld` apart) and `dx` have the sizes
/// `col2im_add_on` checks.
#[inline(always)]
unsafe fn col2im_unit_stride<S: Simd>(g: &ConvGeometry, col: &[f32], ld: usize, dx: &mut [f32]) {
    let (ow, len) = (g.out_width(), g.col_cols());
    let mut r = 0;
    for plane in dx.chunks_exact_mut(g.height * g.width) {
        for ki in 0..g.kernel {
            for kj in 0..g.kernel {
                let row = &col[r * ld..r * ld + len];
                r += 1;
                let (lo, hi, j0) = g.valid_columns(kj);
                let n = hi - lo;
                for (r, src) in row.chunks_exact(ow).enumerate() {
                    let Some(i) = g.source(r, ki, g.height) else { continue };
                    // SAFETY: `S` is supported (the caller's contract).
                    unsafe { run::<S, true>(&src[lo..hi], &mut plane[i * g.width + j0..][..n]) };
                }
            }
        }
    }
}

/// `to += from` (`ADD`) or `to = from` over their common length, a vector at a time and the remainder masked.
///
/// # Safety
/// `S` must be supported by the CPU.
#[inline(always)]
unsafe fn run<S: Simd, const ADD: bool>(from: &[f32], to: &mut [f32]) {
    let (n, l) = (from.len().min(to.len()), S::LANES);
    let (from, to) = (from.as_ptr(), to.as_mut_ptr());
    let mut j = 0;
    // SAFETY: every access lies in the first `n` values of both slices; S is supported (the caller's contract).
    unsafe {
        while j + l <= n {
            let v = S::load(from.add(j));
            S::store(to.add(j), if ADD { S::add(S::load(to.add(j)), v) } else { v });
            j += l;
        }
        if j < n {
            let rest = n - j;
            let v = S::load_partial(from.add(j), rest);
            S::store_partial(to.add(j), if ADD { S::add(S::load_partial(to.add(j), rest), v) } else { v }, rest);
        }
    }
}

/// [`col2im_add_from`] value by value: for lines too wide for their phases' buffer, and the tests' reference.
fn fold(g: &ConvGeometry, col: &[f32], ld: usize, dx: &mut [f32]) {
    let stride = g.stride;
    let (ow, len) = (g.out_width(), g.col_cols());
    let mut r = 0;
    for plane in dx.chunks_exact_mut(g.height * g.width) {
        for ki in 0..g.kernel {
            for kj in 0..g.kernel {
                let row = &col[r * ld..r * ld + len];
                r += 1;
                let (lo, hi, j0) = g.valid_columns(kj);
                if hi <= lo {
                    continue;
                }
                for (r, src) in row.chunks_exact(ow).enumerate() {
                    let Some(i) = g.source(r, ki, g.height) else { continue };
                    let line = &mut plane[i * g.width + j0..=i * g.width + j0 + (hi - lo - 1) * stride];
                    for (t, &v) in src[lo..hi].iter().enumerate() {
                        line[t * stride] += v;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::random_vec;

    #[test]
    fn unfolds_a_padded_strided_image_by_hand() {
        // 1×3×3 image 1..9, kernel 2, stride 2, padding 1 → 2×2 output positions.
        let g = ConvGeometry { channels: 1, height: 3, width: 3, kernel: 2, stride: 2, padding: 1 };
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut col = vec![f32::NAN; 4 * 4];
        im2col(&g, &x, &mut col);
        #[rustfmt::skip]
        let expected = [
            0.0, 0.0, 0.0, 5.0, // kernel (0,0): positions (-1,-1) (-1,1) (1,-1) (1,1)
            0.0, 0.0, 4.0, 6.0, // kernel (0,1)
            0.0, 2.0, 0.0, 8.0, // kernel (1,0)
            1.0, 3.0, 7.0, 9.0, // kernel (1,1)
        ];
        assert_eq!(col, expected);
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), c> == <x, col2im(c)> for random x and c, over several geometries.
        for (seed, (ch, h, w, k, s, p)) in
            // Unit-stride rows of 3, 8, 9, 10 and 18 values (around the vector widths), strided and padded ones.
            [
                (1, 5, 5, 3, 1, 0),
                (2, 7, 6, 3, 2, 1),
                (3, 4, 4, 4, 1, 2),
                (1, 1, 1, 1, 1, 0),
                (2, 12, 12, 5, 1, 0),
                (1, 9, 9, 1, 1, 0),
                (1, 11, 12, 3, 1, 0),
                (2, 20, 21, 4, 1, 0),
            ]
            .into_iter()
            .enumerate()
        {
            let g = ConvGeometry { channels: ch, height: h, width: w, kernel: k, stride: s, padding: p };
            let x = random_vec(ch * h * w, seed as u64);
            let c = random_vec(g.col_rows() * g.col_cols(), 100 + seed as u64);
            let mut col = vec![0.0; c.len()];
            im2col(&g, &x, &mut col);
            let mut back = vec![0.0; x.len()];
            col2im_add(&g, &c, &mut back);
            let lhs: f64 = col.iter().zip(&c).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
            assert!((lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()), "{lhs} vs {rhs}");
        }
    }
    #[test]
    fn samples_side_by_side_unfold_and_fold_as_each_alone() {
        // Three samples' column matrices as the column blocks of one matrix (rows 3·OH·OW apart), on every path.
        for (stride, padding) in [(1, 0), (2, 1), (1, 1), (3, 0)] {
            let g = ConvGeometry { channels: 2, height: 7, width: 6, kernel: 3, stride, padding };
            let (rows, len) = (g.col_rows(), g.col_cols());
            let ld = 3 * len;
            let xs: Vec<Vec<f32>> = (0..3).map(|s| random_vec(2 * 7 * 6, 10 + s)).collect();
            let mut wide = vec![f32::NAN; rows * ld];
            for (s, x) in xs.iter().enumerate() {
                im2col_into(&g, x, &mut wide[s * len..], ld);
            }
            for (s, x) in xs.iter().enumerate() {
                let mut alone = vec![0.0; rows * len];
                im2col(&g, x, &mut alone);
                for r in 0..rows {
                    assert_eq!(&wide[r * ld + s * len..][..len], &alone[r * len..][..len], "stride {stride}");
                }
                for isa in Isa::supported() {
                    let (mut from_wide, mut from_alone) = (x.clone(), x.clone());
                    col2im_add_on(isa, &g, &wide[s * len..], ld, &mut from_wide);
                    col2im_add_on(isa, &g, &alone, len, &mut from_alone);
                    assert_eq!(from_wide, from_alone, "{} stride {stride}", isa.name());
                }
            }
        }
    }

    #[test]
    fn unit_stride_rows_of_every_width_up_to_two_vectors_and_one_match_the_scalar_loop() {
        // Rows of 1 ..= 2·16 + 1 values (a 3-wide kernel over widths 3 ..= 35, and padded): every masked remainder.
        for isa in Isa::supported() {
            for (width, padding) in (3..=35).map(|w| (w, 0)).chain((1..=33).map(|w| (w, 1))) {
                let g = ConvGeometry { channels: 2, height: 4, width, kernel: 3, stride: 1, padding };
                let col = random_vec(g.col_rows() * g.col_cols(), width as u64);
                let start = random_vec(2 * 4 * width, 50 + width as u64);
                let (mut got, mut want) = (start.clone(), start);
                col2im_add_on(isa, &g, &col, g.col_cols(), &mut got);
                fold(&g, &col, g.col_cols(), &mut want);
                assert_eq!(got, want, "{} width {width} padding {padding}", isa.name());
            }
        }
    }

    #[test]
    fn strided_rows_through_phases_match_the_value_by_value_loops_bit_for_bit() {
        // Strides 2 and 3, paddings 0–3, kernels 1–5 and output rows of 1 ..= 2·16 + 1 values (every masked
        // remainder on AVX-512), as blocks of a wider matrix; im2col must write every value, col2im add in order.
        for isa in Isa::supported() {
            for (stride, padding, kernel) in [(2, 1, 4), (2, 0, 3), (3, 2, 5), (2, 3, 4), (3, 0, 1), (2, 1, 1)] {
                for width in kernel..=2 * 16 * stride + kernel + 1 {
                    let g = ConvGeometry { channels: 2, height: 7, width, kernel, stride, padding };
                    assert!(Phases::new(&g).is_some());
                    let (rows, len) = (g.col_rows(), g.col_cols());
                    let ld = len + 3;
                    let x = random_vec(2 * 7 * width, width as u64);
                    let (mut got, mut want) = (vec![f32::NAN; rows * ld], vec![f32::NAN; rows * ld]);
                    im2col_on(isa, &g, &x, &mut got, ld);
                    unfold::<0>(&g, &x, &mut want, ld);
                    let written = |m: &[f32]| (0..rows).flat_map(|r| m[r * ld..][..len].to_vec()).collect::<Vec<_>>();
                    assert!(
                        written(&got).iter().all(|v| v.is_finite()),
                        "{} {g:?}: a value left unwritten",
                        isa.name()
                    );
                    assert_eq!(
                        got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        want.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        "{} {g:?}",
                        isa.name()
                    );
                    let col = random_vec(rows * ld, 7 + width as u64);
                    let start = random_vec(x.len(), 9 + width as u64);
                    let (mut got, mut want) = (start.clone(), start);
                    col2im_add_on(isa, &g, &col, ld, &mut got);
                    fold(&g, &col, ld, &mut want);
                    assert_eq!(got, want, "{} {g:?}", isa.name());
                }
            }
        }
    }

    #[test]
    fn lines_too_wide_for_their_phases_unfold_and_fold_value_by_value() {
        let g = ConvGeometry { channels: 1, height: 3, width: 5000, kernel: 3, stride: 2, padding: 1 };
        assert!(Phases::new(&g).is_none());
        let x = random_vec(3 * 5000, 1);
        let mut col = vec![0.0; g.col_rows() * g.col_cols()];
        im2col(&g, &x, &mut col);
        // Row (ki, kj) = (1, 1), output row 1, column 3 reads input row 2, column 6.
        assert_eq!(col[4 * g.col_cols() + g.out_width() + 3], x[2 * 5000 + 6]);
        let mut back = vec![0.0; x.len()];
        col2im_add(&g, &col, &mut back);
        let mut want = vec![0.0; x.len()];
        fold(&g, &col, g.col_cols(), &mut want);
        assert_eq!(back, want);
    }
}
