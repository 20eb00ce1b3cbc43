//! Direct 2-D convolution for stride 1 without padding: output rows computed straight from input rows, with no
//! column matrix. For the small channel counts of LeNet-style networks this beats im2col + GEMM, whose products
//! are then too thin (M = 6 output channels, K = 25) for a register-tiled kernel, and whose column matrix costs as
//! much to build as the product.

use super::im2col::ConvGeometry;
use super::simd::{active, wide, Isa, Kernel, Simd};

/// Whether [`conv2d_direct`] handles this geometry.
pub const fn direct_applies(g: &ConvGeometry) -> bool {
    g.stride == 1 && g.padding == 0
}

/// `y[o][i][j] = b[o] + Σ_c Σ_ki Σ_kj w[o][c][ki][kj] · x[c][i+ki][j+kj]` for one sample; `w` is
/// `[O][C][K][K]`, `y` is `[O][OH][OW]`.
///
/// # Panics
/// If the geometry has a stride other than 1 or padding (see [`direct_applies`]), or the slices have the wrong
/// lengths.
pub fn conv2d_direct(g: &ConvGeometry, w: &[f32], bias: Option<&[f32]>, x: &[f32], y: &mut [f32]) {
    conv2d_direct_on(wide(), g, w, bias, x, y);
}

/// [`conv2d_direct`] on a given instruction set (for tests of each path).
///
/// # Panics
/// As [`conv2d_direct`], and if this CPU does not support `isa`.
pub fn conv2d_direct_on(isa: Isa, g: &ConvGeometry, w: &[f32], bias: Option<&[f32]>, x: &[f32], y: &mut [f32]) {
    assert!(direct_applies(g), "direct convolution needs stride 1 and no padding");
    assert!(isa.is_supported(), "this CPU does not support {}", isa.name());
    let patch = g.channels * g.kernel * g.kernel;
    let o = w.len() / patch.max(1);
    assert_eq!(w.len(), o * patch, "weights are not [O][C][K][K]");
    assert_eq!(x.len(), g.channels * g.height * g.width, "input is not C×H×W");
    assert_eq!(y.len(), o * g.out_height() * g.out_width(), "output is not O×OH×OW");
    if let Some(b) = bias {
        assert_eq!(b.len(), o, "one bias per output channel");
    }
    isa.run(Direct { g, w, bias, x, y });
}

/// The direct convolution as a kernel for [`Isa::run`], its slice lengths checked by [`conv2d_direct_on`].
struct Direct<'a> {
    g: &'a ConvGeometry,
    w: &'a [f32],
    bias: Option<&'a [f32]>,
    x: &'a [f32],
    y: &'a mut [f32],
}

impl Kernel for Direct<'_> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<S: Simd>(self) {
        // SAFETY: `S` is supported (the contract of `run`); the lengths were checked, which is all `body`
        // relies on.
        unsafe { body::<S>(self.g, self.w, self.bias, self.x, self.y) }
    }
}

/// # Safety
/// `S` must be supported by the CPU; the slice lengths must be those [`conv2d_direct_on`] checks.
#[inline(always)]
unsafe fn body<S: Simd>(g: &ConvGeometry, w: &[f32], bias: Option<&[f32]>, x: &[f32], y: &mut [f32]) {
    let outs = w.len() / (g.channels * g.kernel * g.kernel);
    let oh = g.out_height();
    // Rows of at most half a vector go two to a vector, one in each half: LeNet-5's 8-column rows would leave
    // half of AVX-512's lanes idle.
    let paired = 2 * g.out_width() <= S::LANES;
    let unit = if paired { 2 } else { 1 };
    // Rows taken two units at a time, then one unit, then (paired, with an odd count) the last row alone.
    let (by_two, by_one) = (oh / (2 * unit) * 2 * unit, oh / unit * unit);
    let mut o0 = 0;
    // Blocks of 4, then 2, 1 output channels over two units of rows: each weight broadcast feeds two vectors and
    // each input vector four channels, so a tap costs 4 + 2 loads for 8 multiply-adds (8 accumulators in
    // registers, constants for the compiler), and 8 independent chains hide the latency of the multiply-adds.
    macro_rules! channels {
        ($b:literal) => {
            // SAFETY: (all) forwarded contract; each block covers channels o0..o0+B ≤ outs and rows inside 0..oh.
            unsafe {
                if paired {
                    block::<S, $b, 2, true>(g, w, bias, x, y, o0, 0..by_two);
                    block::<S, $b, 1, true>(g, w, bias, x, y, o0, by_two..by_one);
                } else {
                    block::<S, $b, 2, false>(g, w, bias, x, y, o0, 0..by_two);
                    block::<S, $b, 1, false>(g, w, bias, x, y, o0, by_two..by_one);
                }
                block::<S, $b, 1, false>(g, w, bias, x, y, o0, by_one..oh);
            }
            o0 += $b;
        };
    }
    while o0 + 4 <= outs {
        channels!(4);
    }
    while o0 + 2 <= outs {
        channels!(2);
    }
    while o0 < outs {
        channels!(1);
    }
}

/// Output channels `o0 .. o0 + B`, output rows `rows` taken `R` vectors at a time — `R` rows, or `R` pairs of rows
/// (`PAIRED`, for rows of at most half a vector) — where `rows` holds a whole number of such steps.
///
/// # Safety
/// As [`body`], `o0 + B` must not exceed the number of output channels, and `rows` must lie inside the output.
#[inline(always)]
unsafe fn block<S: Simd, const B: usize, const R: usize, const PAIRED: bool>(
    g: &ConvGeometry,
    w: &[f32],
    bias: Option<&[f32]>,
    x: &[f32],
    y: &mut [f32],
    o0: usize,
    rows: core::ops::Range<usize>,
) {
    let ow = g.out_width();
    let l = S::LANES;
    let full = ow / l * l;
    let mut start = [0.0f32; B];
    for (q, v) in start.iter_mut().enumerate() {
        *v = bias.map_or(0.0, |b| b[o0 + q]);
    }
    for i in rows.step_by(R * (1 + usize::from(PAIRED))) {
        if PAIRED {
            // SAFETY: forwarded contract; 2·ow ≤ LANES.
            unsafe { columns::<S, B, R, false, true>(g, w, &start, x, y, o0, i, 0, ow) };
            continue;
        }
        let mut j = 0;
        while j < full {
            // SAFETY: forwarded contract; j + l ≤ ow.
            unsafe { columns::<S, B, R, false, false>(g, w, &start, x, y, o0, i, j, l) };
            j += l;
        }
        if full < ow && R == 2 && 2 * (ow - full) <= l {
            // The two rows' remaining columns in the halves of one vector (LeNet-5's 24-column rows are 16 + 8
            // on AVX-512).
            // SAFETY: forwarded contract; rows i and i + 1 are inside the output, 2·(ow − full) ≤ LANES.
            unsafe { columns::<S, B, 1, false, true>(g, w, &start, x, y, o0, i, full, ow - full) };
        } else if full < ow {
            // The remaining columns as one masked vector.
            // SAFETY: forwarded contract; j + (ow − full) = ow.
            unsafe { columns::<S, B, R, true, false>(g, w, &start, x, y, o0, i, full, ow - full) };
        }
    }
}

/// Output channels `o0 .. o0 + B`, columns `j .. j + n`, and rows `i .. i + R` — or, `PAIRED`, rows `i .. i + 2R`,
/// two to a vector (rows `i + 2r` and `i + 2r + 1` in the halves of vector `r`, `n ≤ LANES/2`, always masked):
/// `n == LANES` in full vectors, or fewer (`PARTIAL`) with masked loads and stores that touch nothing past the
/// row's end.
///
/// # Safety
/// As [`block`], with the rows inside the output and `j + n ≤ OW`, `n ≤ LANES` (`n ≤ LANES/2` if `PAIRED`).
#[inline(always)]
// Constant-bound index loops over several arrays keep them in registers.
#[allow(clippy::needless_range_loop, clippy::too_many_arguments)]
unsafe fn columns<S: Simd, const B: usize, const R: usize, const PARTIAL: bool, const PAIRED: bool>(
    g: &ConvGeometry,
    w: &[f32],
    start: &[f32; B],
    x: &[f32],
    y: &mut [f32],
    o0: usize,
    i: usize,
    j: usize,
    n: usize,
) {
    let (c, h, wd, k) = (g.channels, g.height, g.width, g.kernel);
    let (oh, ow) = (g.out_height(), g.out_width());
    let patch = c * k * k;
    let step = 1 + usize::from(PAIRED);
    let wp = w.as_ptr().wrapping_add(o0 * patch);
    // SAFETY: input reads are x[ci][i+r+ki][j+kj .. j+kj+n] for output rows i + r < oh, with j + n ≤ ow, so
    // j + kj + n ≤ wd and i + r + ki < h; weight reads are w[o0+q][..patch] with o0 + q < O; output writes are
    // y[o0+q][i+r][j .. j+n].
    unsafe {
        let load = |p: *const f32| {
            if PAIRED {
                S::load_halves(p, p.add(wd), n)
            } else if PARTIAL {
                S::load_partial(p, n)
            } else {
                S::load(p)
            }
        };
        let mut acc = [[S::zero(); R]; B];
        for q in 0..B {
            acc[q] = [S::splat(start[q]); R];
        }
        for ci in 0..c {
            for ki in 0..k {
                let row = x.as_ptr().add((ci * h + i + ki) * wd + j);
                let tap = (ci * k + ki) * k;
                for kj in 0..k {
                    let mut v = [S::zero(); R];
                    for r in 0..R {
                        v[r] = load(row.add(r * step * wd + kj));
                    }
                    for q in 0..B {
                        let wq = S::splat(*wp.add(q * patch + tap + kj));
                        for r in 0..R {
                            acc[q][r] = S::fma(acc[q][r], wq, v[r]);
                        }
                    }
                }
            }
        }
        for q in 0..B {
            for r in 0..R {
                let out = y.as_mut_ptr().add(((o0 + q) * oh + i + r * step) * ow + j);
                if PAIRED {
                    S::store_halves(out, out.add(ow), acc[q][r], n);
                } else if PARTIAL {
                    S::store_partial(out, acc[q][r], n);
                } else {
                    S::store(out, acc[q][r]);
                }
            }
        }
    }
}

/// Largest kernel [`conv2d_direct_weight_grad`] handles (its accumulators, one per kernel column, are registers).
pub const MAX_DIRECT_GRAD_KERNEL: usize = 8;

/// The weight gradient of [`conv2d_direct`] summed over a batch: `dw[o][c][ki][kj] = Σₛ Σᵢ Σⱼ dy[s][o][i][j] ·
/// x[s][c][i+ki][j+kj]` (overwritten), computed from the rows of `x` without a column matrix. `x` holds `n`
/// samples of `C×H×W`, `dy` the same `n` of `O×OH×OW`.
///
/// The sum runs over the whole batch in vector registers before each horizontal reduction, so the per-sample
/// cost is pure multiply-adds.
///
/// # Panics
/// If the geometry has a stride other than 1, padding, or a kernel wider than [`MAX_DIRECT_GRAD_KERNEL`], or the
/// slices have inconsistent lengths.
pub fn conv2d_direct_weight_grad(g: &ConvGeometry, dy: &[f32], x: &[f32], dw: &mut [f32]) {
    conv2d_direct_weight_grad_on(active(), g, dy, x, dw);
}

/// [`conv2d_direct_weight_grad`] on a given instruction set (for tests of each path).
///
/// # Panics
/// As [`conv2d_direct_weight_grad`], and if this CPU does not support `isa`.
pub fn conv2d_direct_weight_grad_on(isa: Isa, g: &ConvGeometry, dy: &[f32], x: &[f32], dw: &mut [f32]) {
    assert!(direct_applies(g), "direct convolution needs stride 1 and no padding");
    assert!((1..=MAX_DIRECT_GRAD_KERNEL).contains(&g.kernel), "kernel wider than {MAX_DIRECT_GRAD_KERNEL}");
    assert!(isa.is_supported(), "this CPU does not support {}", isa.name());
    let patch = g.channels * g.kernel * g.kernel;
    let o = dw.len() / patch.max(1);
    assert_eq!(dw.len(), o * patch, "weight gradient is not [O][C][K][K]");
    let sample = g.channels * g.height * g.width;
    let n = x.len() / sample.max(1);
    assert_eq!(x.len(), n * sample, "input is not n×C×H×W");
    assert_eq!(dy.len(), n * o * g.out_height() * g.out_width(), "output gradient is not n×O×OH×OW");
    isa.run(DirectWeightGrad { g, dy, x, dw });
}

/// The direct weight gradient as a kernel for [`Isa::run`], its slice lengths and kernel size checked by
/// [`conv2d_direct_weight_grad_on`].
struct DirectWeightGrad<'a> {
    g: &'a ConvGeometry,
    dy: &'a [f32],
    x: &'a [f32],
    dw: &'a mut [f32],
}

impl Kernel for DirectWeightGrad<'_> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<S: Simd>(self) {
        // SAFETY: `S` is supported (the contract of `run`); lengths and kernel size were checked, which is all
        // `grad_body` relies on.
        unsafe { grad_body::<S>(self.g, self.dy, self.x, self.dw) }
    }
}

/// # Safety
/// `S` must be supported by the CPU; the slice lengths and kernel size must be those
/// [`conv2d_direct_weight_grad_on`] checks.
#[inline(always)]
unsafe fn grad_body<S: Simd>(g: &ConvGeometry, dy: &[f32], x: &[f32], dw: &mut [f32]) {
    // The kernel width as a constant, so the accumulators of a block are a fixed set of registers.
    // SAFETY: (all arms) forwarded contract; the kernel size is the arm's.
    unsafe {
        match g.kernel {
            1 => grad_k::<S, 1>(g, dy, x, dw),
            2 => grad_k::<S, 2>(g, dy, x, dw),
            3 => grad_k::<S, 3>(g, dy, x, dw),
            4 => grad_k::<S, 4>(g, dy, x, dw),
            5 => grad_k::<S, 5>(g, dy, x, dw),
            6 => grad_k::<S, 6>(g, dy, x, dw),
            7 => grad_k::<S, 7>(g, dy, x, dw),
            _ => grad_k::<S, 8>(g, dy, x, dw),
        }
    }
}

/// # Safety
/// As [`grad_body`], with `g.kernel == K`.
#[inline(always)]
unsafe fn grad_k<S: Simd, const K: usize>(g: &ConvGeometry, dy: &[f32], x: &[f32], dw: &mut [f32]) {
    let outs = dw.len() / (g.channels * K * K);
    let mut o = 0;
    // Two output channels at a time share every load of `x` (2·K accumulators, at most 10 of the 16 AVX2
    // registers); wider kernels take one at a time.
    // SAFETY: (both loops) forwarded contract; each block covers channels o..o+B < outs.
    unsafe {
        if K <= 5 {
            while o + 2 <= outs {
                grad_block::<S, K, 2>(g, dy, x, dw, o);
                o += 2;
            }
        }
        while o < outs {
            grad_block::<S, K, 1>(g, dy, x, dw, o);
            o += 1;
        }
    }
}

/// Output channels `o0 .. o0 + B`: every input channel and kernel row, summed over the batch.
///
/// # Safety
/// As [`grad_k`], and `o0 + B` must not exceed the number of output channels.
// Index loops over the constant bounds `K` and `B` address several arrays at once and unroll fully, which keeps
// the accumulators in registers.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
unsafe fn grad_block<S: Simd, const K: usize, const B: usize>(
    g: &ConvGeometry,
    dy: &[f32],
    x: &[f32],
    dw: &mut [f32],
    o0: usize,
) {
    let (c, h, wd) = (g.channels, g.height, g.width);
    let (oh, ow) = (g.out_height(), g.out_width());
    let outs = dw.len() / (c * K * K);
    let n = x.len() / (c * h * wd);
    let l = S::LANES;
    let full = ow / l * l;
    for ci in 0..c {
        for ki in 0..K {
            // SAFETY: reads dy[s][o0+q][i][j .. j+l] and x[s][ci][i+ki][j+kj .. j+kj+l] with j + l ≤ ow (or the
            // masked rest = ow − full values from j = full), so j + kj + l ≤ wd and i + ki < h; s < n, o0 + q < outs.
            unsafe {
                let mut acc = [[S::zero(); K]; B];
                for s in 0..n {
                    for i in 0..oh {
                        let xrow = x.as_ptr().add(((s * c + ci) * h + i + ki) * wd);
                        let drows: [*const f32; B] =
                            core::array::from_fn(|q| dy.as_ptr().add(((s * outs + o0 + q) * oh + i) * ow));
                        let mut j = 0;
                        while j < full {
                            let d: [S::V; B] = core::array::from_fn(|q| S::load(drows[q].add(j)));
                            for kj in 0..K {
                                let v = S::load(xrow.add(j + kj));
                                for q in 0..B {
                                    acc[q][kj] = S::fma(acc[q][kj], d[q], v);
                                }
                            }
                            j += l;
                        }
                        if full < ow {
                            // The remaining columns as one masked vector: the lanes past the row are zero in
                            // both operands.
                            let rest = ow - full;
                            let d: [S::V; B] = core::array::from_fn(|q| S::load_partial(drows[q].add(full), rest));
                            for kj in 0..K {
                                let v = S::load_partial(xrow.add(full + kj), rest);
                                for q in 0..B {
                                    acc[q][kj] = S::fma(acc[q][kj], d[q], v);
                                }
                            }
                        }
                    }
                }
                for q in 0..B {
                    let out = &mut dw[(o0 + q) * c * K * K + (ci * K + ki) * K..][..K];
                    for kj in 0..K {
                        out[kj] = S::sum(acc[q][kj]);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{gemm, im2col, MatRef};
    use crate::test_util::{assert_close, random_vec};

    #[test]
    fn every_path_matches_im2col_and_gemm() {
        for isa in Isa::ALL.into_iter().filter(|i| !i.is_supported()) {
            eprintln!("direct convolution tests: skipping {} (not supported by this CPU)", isa.name());
        }
        // (C, H, W, O, K): LeNet's two layers, widths around the lane counts, a 1×1 kernel, single channels.
        let shapes = [
            (1, 28, 28, 6, 5),
            (6, 12, 12, 16, 5),
            (3, 9, 20, 5, 3),
            (2, 6, 17, 7, 2),
            (4, 5, 5, 3, 1),
            (1, 3, 3, 1, 3),
            (2, 8, 24, 9, 1),
        ];
        for isa in Isa::supported() {
            for (seed, &(c, h, w, o, k)) in shapes.iter().enumerate() {
                let g = ConvGeometry { channels: c, height: h, width: w, kernel: k, stride: 1, padding: 0 };
                let (oh, ow) = (g.out_height(), g.out_width());
                let x = random_vec(c * h * w, seed as u64);
                let wt = random_vec(o * c * k * k, 10 + seed as u64);
                let b = random_vec(o, 20 + seed as u64);
                let mut col = vec![0.0; g.col_rows() * g.col_cols()];
                im2col(&g, &x, &mut col);
                let mut want = vec![0.0; o * oh * ow];
                gemm(MatRef::row_major(&wt, o, c * k * k), MatRef::row_major(&col, c * k * k, oh * ow), 0.0, &mut want);
                for (q, row) in want.chunks_exact_mut(oh * ow).enumerate() {
                    row.iter_mut().for_each(|v| *v += b[q]);
                }
                let mut got = vec![f32::NAN; want.len()];
                conv2d_direct_on(isa, &g, &wt, Some(&b), &x, &mut got);
                assert_close(&got, &want, 1e-5, &format!("{} {c}×{h}×{w} o={o} k={k}", isa.name()));
                conv2d_direct_on(isa, &g, &wt, None, &x, &mut got);
                let no_bias: Vec<f32> = want.iter().enumerate().map(|(i, v)| v - b[i / (oh * ow)]).collect();
                assert_close(&got, &no_bias, 1e-5, "without bias");

                // Weight gradient: dY · colᵀ.
                let dy = random_vec(o * oh * ow, 30 + seed as u64);
                let mut want_dw = vec![0.0; o * c * k * k];
                gemm(
                    MatRef::row_major(&dy, o, oh * ow),
                    MatRef::row_major(&col, c * k * k, oh * ow).t(),
                    0.0,
                    &mut want_dw,
                );
                let tol = 1e-5 * ((oh * ow) as f32).sqrt();
                let mut dw = vec![f32::NAN; want_dw.len()];
                conv2d_direct_weight_grad_on(isa, &g, &dy, &x, &mut dw);
                assert_close(&dw, &want_dw, tol, &format!("{} weight gradient {c}×{h}×{w} o={o} k={k}", isa.name()));
                // Over a batch of three: the sum of the per-sample gradients (the same sample repeated, scaled).
                let xs: Vec<f32> = [1.0f32, -0.5, 2.0].iter().flat_map(|&a| x.iter().map(move |v| a * v)).collect();
                let dys: Vec<f32> = [1.0f32, 1.0, 1.0].iter().flat_map(|_| dy.iter().copied()).collect();
                conv2d_direct_weight_grad_on(isa, &g, &dys, &xs, &mut dw);
                let scaled: Vec<f32> = want_dw.iter().map(|v| 2.5 * v).collect();
                assert_close(&dw, &scaled, 3.0 * tol, "weight gradient summed over a batch");
            }
        }
    }
    /// `y[o][i][j] = b[o] + Σ w[o][c][ki][kj] · x[c][i+ki][j+kj]` and `dw` over one sample, in f64, loop by loop.
    fn naive(g: &ConvGeometry, o: usize, w: &[f32], b: &[f32], x: &[f32], dy: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (c, h, wd, k) = (g.channels, g.height, g.width, g.kernel);
        let (oh, ow) = (g.out_height(), g.out_width());
        let mut y = vec![0.0f32; o * oh * ow];
        let mut dw = vec![0.0f64; o * c * k * k];
        for q in 0..o {
            for i in 0..oh {
                for j in 0..ow {
                    let mut s = f64::from(b[q]);
                    for ci in 0..c {
                        for ki in 0..k {
                            for kj in 0..k {
                                let xv = f64::from(x[(ci * h + i + ki) * wd + j + kj]);
                                s += f64::from(w[((q * c + ci) * k + ki) * k + kj]) * xv;
                                dw[((q * c + ci) * k + ki) * k + kj] += f64::from(dy[(q * oh + i) * ow + j]) * xv;
                            }
                        }
                    }
                    y[(q * oh + i) * ow + j] = s as f32;
                }
            }
        }
        (y, dw.into_iter().map(|v| v as f32).collect())
    }

    #[test]
    fn every_output_width_up_to_two_vectors_and_one_matches_the_naive_loops() {
        // Output widths 1 ..= 2·16 + 1: every masked remainder of every instruction set, after zero, one and two
        // full vectors, and every width of rows paired in a vector's halves; 5 output channels run the blocks of 4
        // and 1; 3 and 5 output rows run blocks of two rows (or pairs), one, and a last row alone.
        const GUARD: f32 = 12345.0;
        for oh in [3, 5] {
            for ow in 1..=33 {
                for k in [1, 3, 5] {
                    let g = ConvGeometry {
                        channels: 2,
                        height: oh + k - 1,
                        width: ow + k - 1,
                        kernel: k,
                        stride: 1,
                        padding: 0,
                    };
                    let o = 5;
                    let seed = (oh * 1000 + ow * 10 + k) as u64;
                    let x = random_vec(2 * g.height * g.width, seed);
                    let w = random_vec(o * 2 * k * k, seed + 1);
                    let b = random_vec(o, seed + 2);
                    let dy = random_vec(o * oh * ow, seed + 3);
                    let (want_y, want_dw) = naive(&g, o, &w, &b, &x, &dy);
                    let mut first: Option<Vec<f32>> = None;
                    for isa in Isa::supported() {
                        let what = format!("{} {oh}×{ow} kernel {k}", isa.name());
                        // A guard after the output: no store may reach past it.
                        let mut y = vec![f32::NAN; want_y.len() + 16];
                        y[want_y.len()..].fill(GUARD);
                        conv2d_direct_on(isa, &g, &w, Some(&b), &x, &mut y[..want_y.len()]);
                        assert!(y[want_y.len()..].iter().all(|&v| v == GUARD), "{what}: wrote past the output");
                        let y = &y[..want_y.len()];
                        assert_close(y, &want_y, 1e-5, &what);
                        // Each output's multiply-adds run in the same order on every path with fused multiply-adds
                        // (the portable one rounds each product): the same bits, whichever the network picks.
                        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        match &first {
                            _ if isa == Isa::Scalar => {}
                            None => first = Some(y.to_vec()),
                            Some(f) => assert_eq!(bits(y), bits(f), "{what}: bits differ from the first path"),
                        }
                        let mut dw = vec![f32::NAN; want_dw.len()];
                        conv2d_direct_weight_grad_on(isa, &g, &dy, &x, &mut dw);
                        assert_close(&dw, &want_dw, 1e-4, &format!("{what} weight gradient"));
                    }
                }
            }
        }
    }
}
