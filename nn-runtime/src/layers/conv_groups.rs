//! Convolutions over a group of samples at once. Each sample's column matrix (im2col) is a block of columns of
//! one wider matrix, so one product serves the group: the weights are packed once per group instead of once per
//! sample, and a weight gradient sums over the group's positions inside the product (a long inner dimension)
//! instead of adding one short product per sample onto it.
//!
//! The group is as large as fits a column-matrix budget, so that its columns stay in a core's L2 cache. Products
//! sum each output value in the same order whatever the group, so forward results do not depend on it.

use crate::kernels::{gemm, interleaved_sum, MatRef};

/// Values of column matrix a group may hold: 128 K (512 KB).
const COLUMN_BUDGET: usize = 1 << 17;

/// Samples per group for a layer with `per_sample` column values per sample, in a chunk of `samples`.
pub(super) const fn group(per_sample: usize, samples: usize) -> usize {
    let fits = COLUMN_BUDGET / if per_sample == 0 { 1 } else { per_sample };
    let most = if samples == 0 { 1 } else { samples };
    if fits == 0 {
        1
    } else if fits < most {
        fits
    } else {
        most
    }
}

/// The samples of `src` (each `rows × len`, one after another) side by side (`rows × samples·len`): sample `s`'s
/// row `r` becomes columns `s·len..` of row `r`. One sample is that matrix already and is returned as it is; more
/// are laid out in `buffer`.
pub(super) fn side_by_side<'a>(src: &'a [f32], rows: usize, len: usize, buffer: &'a mut [f32]) -> &'a [f32] {
    let samples = src.len() / (rows * len);
    if samples == 1 {
        return src;
    }
    let ld = samples * len;
    let dst = &mut buffer[..src.len()];
    for (s, sample) in src.chunks_exact(rows * len).enumerate() {
        for (r, row) in sample.chunks_exact(len).enumerate() {
            dst[r * ld + s * len..][..len].copy_from_slice(row);
        }
    }
    dst
}

/// `dst = srcᵀ` for a row-major `src` of `rows` rows: how a weight gradient computed transposed lands in place.
pub(super) fn transpose(src: &[f32], rows: usize, dst: &mut [f32]) {
    let cols = dst.len() / rows.max(1);
    for (c, row) in dst.chunks_exact_mut(rows).enumerate() {
        for (r, v) in row.iter_mut().enumerate() {
            *v = src[r * cols + c];
        }
    }
}

/// `out = a · b` for a group's product whose `b` holds the samples side by side (`a.rows() × samples·len`), each
/// sample's `a.rows() × len` block landing in its place in `out`: straight there for one sample, through `buffer`
/// for more.
pub(super) fn product_per_sample(a: MatRef<'_>, b: MatRef<'_>, len: usize, buffer: &mut [f32], out: &mut [f32]) {
    if b.cols() == len {
        gemm(a, b, 0.0, out);
    } else {
        let buffer = &mut buffer[..a.rows() * b.cols()];
        gemm(a, b, 0.0, buffer);
        one_after_another(buffer, a.rows(), len, out);
    }
}

/// Adds each output channel's bias to its planes of `plane` values (samples one after another).
pub(super) fn add_bias(ys: &mut [f32], plane: usize, bias: &[f32]) {
    for (row, &b) in ys.chunks_exact_mut(plane).zip(bias.iter().cycle()) {
        row.iter_mut().for_each(|v| *v += b);
    }
}

/// `db` = each output channel's sum of `dy` over its planes of `plane` values and over the samples (nothing for a
/// layer without bias, whose `db` is empty).
pub(super) fn bias_grad(dy: &[f32], plane: usize, db: &mut [f32]) {
    db.fill(0.0);
    if db.is_empty() {
        return;
    }
    for (i, row) in dy.chunks_exact(plane).enumerate() {
        // Interleaved partial sums: a sequential sum adds one value at a time (it took 5 % of a LeNet-5 step).
        db[i % db.len()] += interleaved_sum(row.len(), |j| row[j]);
    }
}

/// The inverse of [`side_by_side`]: each sample's `rows × len` block back into its place in `dst`.
pub(super) fn one_after_another(src: &[f32], rows: usize, len: usize, dst: &mut [f32]) {
    let samples = dst.len() / (rows * len);
    let ld = samples * len;
    for (s, sample) in dst.chunks_exact_mut(rows * len).enumerate() {
        for (r, row) in sample.chunks_exact_mut(len).enumerate() {
            row.copy_from_slice(&src[r * ld + s * len..][..len]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_fit_the_budget_and_the_chunk() {
        assert_eq!(group(3136, 32), 32);
        assert_eq!(group(25_088, 32), 5);
        assert_eq!(group(1 << 20, 32), 1);
        assert_eq!(group(10, 0), 1);
    }

    #[test]
    fn side_by_side_and_back_is_the_identity() {
        let src: Vec<f32> = (0..2 * 3 * 4).map(|v| v as f32).collect();
        let mut buffer = vec![0.0; src.len()];
        let wide = side_by_side(&src, 3, 4, &mut buffer).to_vec();
        // Row 0: sample 0's first row, then sample 1's.
        assert_eq!(&wide[..8], &[0.0, 1.0, 2.0, 3.0, 12.0, 13.0, 14.0, 15.0]);
        let mut back = vec![0.0; src.len()];
        one_after_another(&wide, 3, 4, &mut back);
        assert_eq!(back, src);
        // One sample is its own matrix.
        assert_eq!(side_by_side(&src[..12], 3, 4, &mut buffer).as_ptr(), src.as_ptr());
    }

    #[test]
    fn transpose_swaps_rows_and_columns() {
        let mut dst = [0.0; 6];
        transpose(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, &mut dst);
        assert_eq!(dst, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }
}
