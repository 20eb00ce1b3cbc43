//! Unfolding image patches into columns, so that a convolution becomes one matrix product.

use super::simd::{active, Isa, Kernel, Simd};

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
    let (oh, ow) = (g.out_height(), g.out_width());
    debug_assert_eq!(x.len(), g.channels * g.height * g.width);
    debug_assert_eq!(col.len(), g.col_rows() * oh * ow);
    let mut rows = col.chunks_exact_mut(oh * ow);
    for plane in x.chunks_exact(g.height * g.width) {
        for ki in 0..g.kernel {
            for kj in 0..g.kernel {
                let Some(row) = rows.next() else { return };
                let (lo, hi, j0) = g.valid_columns(kj);
                for (r, out) in row.chunks_exact_mut(ow).enumerate() {
                    let Some(i) = g.source(r, ki, g.height) else {
                        out.fill(0.0);
                        continue;
                    };
                    let line = &plane[i * g.width..(i + 1) * g.width];
                    out[..lo].fill(0.0);
                    out[hi..].fill(0.0);
                    if g.stride == 1 {
                        out[lo..hi].copy_from_slice(&line[j0..j0 + hi - lo]);
                    } else {
                        for (v, &src) in out[lo..hi].iter_mut().zip(line[j0..].iter().step_by(g.stride)) {
                            *v = src;
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every column entry back onto the input position it was copied from.
pub fn col2im_add(g: &ConvGeometry, col: &[f32], dx: &mut [f32]) {
    col2im_add_on(active(), g, col, dx);
}

/// [`col2im_add`] on a given instruction set (for tests of each path; `isa` must be supported).
fn col2im_add_on(isa: Isa, g: &ConvGeometry, col: &[f32], dx: &mut [f32]) {
    assert!(isa.is_supported(), "this CPU does not support {}", isa.name());
    assert_eq!(dx.len(), g.channels * g.height * g.width, "col2im: input is not C×H×W");
    assert_eq!(col.len(), g.col_rows() * g.col_cols(), "col2im: column matrix has the wrong size");
    if g.stride != 1 {
        col2im_strided(g, col, dx);
        return;
    }
    // Stride 1: every row of the column matrix adds onto a contiguous run of the image, a vector add per
    // `LANES` values, dispatched once for the whole matrix.
    isa.run(Col2im { g, col, dx });
}

/// The unit-stride `col2im` as a kernel for [`Isa::run`], its lengths checked by [`col2im_add`].
struct Col2im<'a> {
    g: &'a ConvGeometry,
    col: &'a [f32],
    dx: &'a mut [f32],
}

impl Kernel for Col2im<'_> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<S: Simd>(self) {
        // SAFETY: `S` is supported (the contract of `run`); `g.stride == 1` and the lengths were checked.
        unsafe { col2im_unit_stride::<S>(self.g, self.col, self.dx) }
    }
}

/// # Safety
/// `S` must be supported by the CPU; `g.stride == 1`; `col` and `dx` have the sizes `col2im_add` checks.
#[inline(always)]
unsafe fn col2im_unit_stride<S: Simd>(g: &ConvGeometry, col: &[f32], dx: &mut [f32]) {
    let (oh, ow) = (g.out_height(), g.out_width());
    let l = S::LANES;
    let mut rows = col.chunks_exact(oh * ow);
    for plane in dx.chunks_exact_mut(g.height * g.width) {
        for ki in 0..g.kernel {
            for kj in 0..g.kernel {
                let Some(row) = rows.next() else { return };
                let (lo, hi, j0) = g.valid_columns(kj);
                let n = hi - lo;
                for (r, src) in row.chunks_exact(ow).enumerate() {
                    let Some(i) = g.source(r, ki, g.height) else { continue };
                    let line = &mut plane[i * g.width + j0..][..n];
                    let src = &src[lo..hi];
                    let mut j = 0;
                    // SAFETY: j + l ≤ n (or the masked n − j values), and both `line` and `src` hold n values.
                    unsafe {
                        while j + l <= n {
                            let (d, v) = (line.as_mut_ptr().add(j), src.as_ptr().add(j));
                            S::store(d, S::add(S::load(d), S::load(v)));
                            j += l;
                        }
                        if j < n {
                            let (d, v, rest) = (line.as_mut_ptr().add(j), src.as_ptr().add(j), n - j);
                            S::store_partial(d, S::add(S::load_partial(d, rest), S::load_partial(v, rest)), rest);
                        }
                    }
                }
            }
        }
    }
}

/// [`col2im_add`] for strides above 1 (scalar: the writes are scattered anyway); for stride 1 too, in the tests'
/// reference.
fn col2im_strided(g: &ConvGeometry, col: &[f32], dx: &mut [f32]) {
    let (oh, ow) = (g.out_height(), g.out_width());
    let mut rows = col.chunks_exact(oh * ow);
    for plane in dx.chunks_exact_mut(g.height * g.width) {
        for ki in 0..g.kernel {
            for kj in 0..g.kernel {
                let Some(row) = rows.next() else { return };
                let (lo, hi, j0) = g.valid_columns(kj);
                for (r, src) in row.chunks_exact(ow).enumerate() {
                    let Some(i) = g.source(r, ki, g.height) else { continue };
                    let line = &mut plane[i * g.width..(i + 1) * g.width];
                    for (d, &v) in line[j0..].iter_mut().step_by(g.stride).zip(&src[lo..hi]) {
                        *d += v;
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
    fn unit_stride_rows_of_every_width_up_to_two_vectors_and_one_match_the_scalar_loop() {
        // Rows of 1 ..= 2·16 + 1 values (a 3-wide kernel over widths 3 ..= 35, and padded): every masked remainder.
        for isa in Isa::supported() {
            for (width, padding) in (3..=35).map(|w| (w, 0)).chain((1..=33).map(|w| (w, 1))) {
                let g = ConvGeometry { channels: 2, height: 4, width, kernel: 3, stride: 1, padding };
                let col = random_vec(g.col_rows() * g.col_cols(), width as u64);
                let start = random_vec(2 * 4 * width, 50 + width as u64);
                let (mut got, mut want) = (start.clone(), start);
                col2im_add_on(isa, &g, &col, &mut got);
                col2im_strided(&g, &col, &mut want);
                assert_eq!(got, want, "{} width {width} padding {padding}", isa.name());
            }
        }
    }
}
