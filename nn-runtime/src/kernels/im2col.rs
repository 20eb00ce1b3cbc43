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

    /// Maps output position `o` and kernel offset `k` to an input coordinate, or `None` inside the padding.
    #[inline(always)]
    fn source(&self, o: usize, k: usize, limit: usize) -> Option<usize> {
        (o * self.stride + k).checked_sub(self.padding).filter(|&i| i < limit)
    }
}

/// Writes the `C·K·K × OH·OW` column matrix of one sample `x` (`C×H×W`, row-major) into `col`.
///
/// Row `(c·K + ki)·K + kj`, column `oh·OW + ow` holds `x[c][oh·S + ki - P][ow·S + kj - P]`, or 0 in the padding.
pub fn im2col(g: &ConvGeometry, x: &[f32], col: &mut [f32]) {
    let (oh, ow) = (g.out_height(), g.out_width());
    debug_assert_eq!(x.len(), g.channels * g.height * g.width);
    debug_assert_eq!(col.len(), g.col_rows() * oh * ow);
    let mut rows = col.chunks_exact_mut(oh * ow);
    for c in 0..g.channels {
        let plane = &x[c * g.height * g.width..(c + 1) * g.height * g.width];
        for ki in 0..g.kernel {
            for kj in 0..g.kernel {
                let row = rows.next().expect("column matrix has C·K·K rows");
                for (r, out_row) in row.chunks_exact_mut(ow).enumerate() {
                    match g.source(r, ki, g.height) {
                        None => out_row.fill(0.0),
                        Some(i) => {
                            let line = &plane[i * g.width..(i + 1) * g.width];
                            for (s, v) in out_row.iter_mut().enumerate() {
                                *v = g.source(s, kj, g.width).map_or(0.0, |j| line[j]);
                            }
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
    for c in 0..g.channels {
        let plane = &mut dx[c * g.height * g.width..(c + 1) * g.height * g.width];
        for ki in 0..g.kernel {
            for kj in 0..g.kernel {
                let row = rows.next().expect("column matrix has C·K·K rows");
                for (r, in_row) in row.chunks_exact(ow).enumerate() {
                    if let Some(i) = g.source(r, ki, g.height) {
                        let line = &mut plane[i * g.width..(i + 1) * g.width];
                        for (s, &v) in in_row.iter().enumerate() {
                            if let Some(j) = g.source(s, kj, g.width) {
                                line[j] += v;
                            }
                        }
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
