//! Unfolding image patches into columns, so that a convolution becomes one matrix product.

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
    let (oh, ow) = (g.out_height(), g.out_width());
    debug_assert_eq!(dx.len(), g.channels * g.height * g.width);
    debug_assert_eq!(col.len(), g.col_rows() * oh * ow);
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
            [(1, 5, 5, 3, 1, 0), (2, 7, 6, 3, 2, 1), (3, 4, 4, 4, 1, 2), (1, 1, 1, 1, 1, 0)].into_iter().enumerate()
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
}
