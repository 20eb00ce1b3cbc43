//! The steps of a network that branches, besides its layers: a residual block's sum and a concatenation of
//! branches, forward over a pass's activation buffers (in every build) and backward over its gradient slots
//! (generated code; not for users).

/// Buffer `k` of a pass (0: the chunk's input), its first `len` values.
fn read<'a, B: AsRef<[f32]>>(input: &'a [f32], acts: &'a [B], k: usize, len: usize) -> &'a [f32] {
    super::buffer(input, acts, k, len)
}

/// `acts[out − 1][..len] = a + b`, buffers `a` and `b` (0: the input) before buffer `out`.
#[doc(hidden)]
pub fn add_forward<B: AsRef<[f32]> + AsMut<[f32]>>(
    input: &[f32],
    acts: &mut [B],
    a: usize,
    b: usize,
    out: usize,
    len: usize,
) {
    debug_assert!(a < out && b < out && out >= 1);
    let (before, after) = acts.split_at_mut(out - 1);
    let y = &mut after[0].as_mut()[..len];
    let (x1, x2) = (read(input, before, a, len), read(input, before, b, len));
    for ((y, &p), &q) in y.iter_mut().zip(x1).zip(x2) {
        *y = p + q;
    }
}

/// Writes `rows` rows of buffer `out` as the rows of the `parts` side by side: `(buffer, values per row)` each,
/// in order, every buffer before `out`.
#[doc(hidden)]
pub fn concat_forward<B: AsRef<[f32]> + AsMut<[f32]>>(
    input: &[f32],
    acts: &mut [B],
    parts: &[(usize, usize)],
    out: usize,
    rows: usize,
) {
    let width: usize = parts.iter().map(|p| p.1).sum();
    let (before, after) = acts.split_at_mut(out - 1);
    let y = &mut after[0].as_mut()[..rows * width];
    let mut offset = 0;
    for &(k, w) in parts {
        debug_assert!(k < out);
        let x = read(input, before, k, rows * w);
        for (row, part) in y.chunks_exact_mut(width).zip(x.chunks_exact(w)) {
            row[offset..offset + w].copy_from_slice(part);
        }
        offset += w;
    }
}

/// Gradient slot `read` (its first `read_len` values) and slot `write` (its first `write_len`), `read ≠ write`.
#[cfg(feature = "std")]
#[doc(hidden)]
pub fn slot_pair(
    slots: &mut [Vec<f32>],
    read: usize,
    read_len: usize,
    write: usize,
    write_len: usize,
) -> (&[f32], &mut [f32]) {
    assert_ne!(read, write, "a step reads and writes different gradient slots");
    if read < write {
        let (low, high) = slots.split_at_mut(write);
        (&low[read][..read_len], &mut high[0][..write_len])
    } else {
        let (low, high) = slots.split_at_mut(read);
        (&high[0][..read_len], &mut low[write][..write_len])
    }
}

/// `dst = src`, or `dst += src` if `add`.
#[cfg(feature = "std")]
#[doc(hidden)]
pub fn pass_on(src: &[f32], dst: &mut [f32], add: bool) {
    if add {
        crate::kernels::add_assign(dst, src);
    } else {
        dst.copy_from_slice(src);
    }
}

/// The gradient of one part of a concatenation: columns `offset..offset + width` of each of the `rows` rows of
/// `g` (rows of `total` values), written into `dst` (or added, if `add`).
#[cfg(feature = "std")]
#[doc(hidden)]
pub fn concat_backward(g: &[f32], total: usize, offset: usize, width: usize, rows: usize, dst: &mut [f32], add: bool) {
    for (row, d) in g[..rows * total].chunks_exact(total).zip(dst[..rows * width].chunks_exact_mut(width)) {
        pass_on(&row[offset..offset + width], d, add);
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn a_sum_and_a_concatenation_of_buffers_and_their_gradients() {
        let input = [1.0, 2.0, 3.0, 4.0];
        let mut acts = vec![vec![10.0, 20.0, 30.0, 40.0], vec![0.0; 4], vec![0.0; 12]];
        add_forward(&input, &mut acts, 0, 1, 2, 4);
        assert_eq!(acts[1], [11.0, 22.0, 33.0, 44.0]);
        // Two rows: the input's 2 values beside buffer 1's 2 and buffer 2's 2.
        concat_forward(&input, &mut acts, &[(0, 2), (1, 2), (2, 2)], 3, 2);
        assert_eq!(acts[2][..12], [1.0, 2.0, 10.0, 20.0, 11.0, 22.0, 3.0, 4.0, 30.0, 40.0, 33.0, 44.0]);
        let g: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let mut d = vec![1.0; 4];
        concat_backward(&g, 6, 2, 2, 2, &mut d, false);
        assert_eq!(d, [2.0, 3.0, 8.0, 9.0]);
        concat_backward(&g, 6, 4, 2, 2, &mut d, true);
        assert_eq!(d, [6.0, 8.0, 18.0, 20.0]);
        let mut slots = vec![vec![1.0; 3], vec![0.0; 3]];
        let (r, w) = slot_pair(&mut slots, 0, 3, 1, 2);
        pass_on(&r[..2], w, false);
        assert_eq!(slots[1], [1.0, 1.0, 0.0]);
    }
}
