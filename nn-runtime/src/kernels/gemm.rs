//! General matrix product `C = β·C + A·B` over strided views.

/// A read-only matrix view: element `(i, j)` is `data[i * row_stride + j * col_stride]`.
///
/// Strides let one kernel serve `A·B`, `Aᵀ·B` and `A·Bᵀ` without copying: a transpose is a view with its
/// strides swapped.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows × cols` matrix stored contiguously in `data`.
    ///
    /// # Panics
    /// If `data` holds fewer than `rows * cols` elements.
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert!(
            data.len() >= rows * cols,
            "a {rows}×{cols} matrix needs {} elements, the slice has {}",
            rows * cols,
            data.len()
        );
        Self { data, rows, cols, row_stride: cols, col_stride: 1 }
    }

    /// The transposed view (no copy).
    pub fn t(self) -> Self {
        Self {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    #[inline(always)]
    fn at(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.row_stride + j * self.col_stride]
    }
}

/// `c = beta * c + a · b`, where `c` is a contiguous row-major `a.rows() × b.cols()` matrix.
///
/// `beta` is either 0 (overwrite; `c`'s old contents, even NaN, are ignored) or 1 (accumulate), the two cases
/// layers need.
///
/// # Panics
/// If the inner dimensions differ or `c` has the wrong length.
pub fn gemm(a: MatRef<'_>, b: MatRef<'_>, beta: f32, c: &mut [f32]) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert_eq!(k, b.rows, "inner dimensions differ: {m}×{k} · {}×{n}", b.rows);
    assert_eq!(c.len(), m * n, "output has {} elements, expected {m}×{n}", c.len());
    if beta == 0.0 {
        c.fill(0.0);
    } else if beta != 1.0 {
        c.iter_mut().for_each(|v| *v *= beta);
    }
    for (i, c_row) in c.chunks_exact_mut(n.max(1)).enumerate().take(m) {
        for p in 0..k {
            let a_ip = a.at(i, p);
            if b.col_stride == 1 {
                let start = p * b.row_stride;
                let b_row = &b.data[start..start + n];
                for (c_ij, &b_pj) in c_row.iter_mut().zip(b_row) {
                    *c_ij += a_ip * b_pj;
                }
            } else {
                for (j, c_ij) in c_row.iter_mut().enumerate() {
                    *c_ij += a_ip * b.at(p, j);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_close, random_vec};

    fn naive(a: &MatRef<'_>, b: &MatRef<'_>) -> Vec<f32> {
        let mut c = vec![0.0f64; a.rows * b.cols];
        for i in 0..a.rows {
            for j in 0..b.cols {
                for p in 0..a.cols {
                    c[i * b.cols + j] += a.at(i, p) as f64 * b.at(p, j) as f64;
                }
            }
        }
        c.into_iter().map(|v| v as f32).collect()
    }

    #[test]
    fn matches_naive_product_for_all_transpositions_and_edge_sizes() {
        let sizes = [0usize, 1, 2, 3, 7, 8, 9, 16, 17, 33];
        let mut seed = 1;
        for &m in &sizes {
            for &k in &sizes {
                for &n in &[0usize, 1, 5, 8, 9, 31] {
                    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                        seed += 1;
                        let ad = random_vec(m * k, seed);
                        let bd = random_vec(k * n, seed + 1000);
                        let a = if ta { MatRef::row_major(&ad, k, m).t() } else { MatRef::row_major(&ad, m, k) };
                        let b = if tb { MatRef::row_major(&bd, n, k).t() } else { MatRef::row_major(&bd, k, n) };
                        let expected = naive(&a, &b);
                        let mut c = vec![f32::NAN; m * n];
                        gemm(a, b, 0.0, &mut c);
                        assert_close(&c, &expected, 1e-5, "gemm overwrite");
                        let mut acc = vec![1.0; m * n];
                        gemm(a, b, 1.0, &mut acc);
                        let shifted: Vec<f32> = expected.iter().map(|v| v + 1.0).collect();
                        assert_close(&acc, &shifted, 1e-5, "gemm accumulate");
                    }
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "inner dimensions differ")]
    fn rejects_mismatched_inner_dimensions() {
        let a = [0.0; 6];
        let b = [0.0; 6];
        let mut c = [0.0; 4];
        gemm(MatRef::row_major(&a, 2, 3), MatRef::row_major(&b, 2, 3), 0.0, &mut c);
    }
}
