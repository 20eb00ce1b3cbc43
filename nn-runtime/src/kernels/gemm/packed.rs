//! The packed GEMM (Goto's algorithm, as in BLIS and `matrixmultiply`): B is copied in `KC × NR` panels and A in
//! `MR × KC` panels, so the micro-kernel streams both from cache while an `MR × NR` block of C stays in registers.
//!
//! A row-major A (unit column stride) is not packed: the micro-kernel broadcasts straight from its `MR` rows, as
//! BLIS's small-matrix kernels do. Packing it would be a strided gather of every element (one per `2·n` flops),
//! which made `Linear`'s forward product `W·Xᵀ` — where A is the whole weight matrix and `n` a 32-sample chunk —
//! run at half the speed of the other products.

use super::small::Small;
use super::MatRef;
use crate::kernels::simd::{Isa, Kernel, Simd};
use crate::kernels::{line_start, LINE};
use std::cell::RefCell;

/// Vectors of C per micro-tile row (`NR = NV · LANES` columns); the rows per tile are the instruction set's
/// [`Simd::TILE_ROWS`]. The micro-kernel is written for two.
const NV: usize = 2;
/// The widest micro-tile row: two vectors of 16 lanes (AVX-512).
const MAX_NR: usize = NV * 16;
/// Depth of one packed block (A and B panels of this many steps stay in L1/L2).
const KC: usize = 256;
/// Rows of A packed at once (a multiple of `MR`).
const MC: usize = 96;
/// Columns of B packed at once.
const NC: usize = 1024;

thread_local! {
    /// Packing buffers, grown on first use and reused: a product allocates nothing after the first on a thread.
    static BUFFERS: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Sizes this thread's packing buffers for every product, so that later products allocate nothing.
pub(crate) fn prepare_thread() {
    BUFFERS.with(|cell| {
        let (pa, pb) = &mut *cell.borrow_mut();
        pa.resize(pa.len().max(MC * KC + LINE), 0.0);
        // The widest panels need the most room.
        pb.resize(pb.len().max(KC * NC.div_ceil(MAX_NR) * MAX_NR + LINE), 0.0);
    });
}

/// `buffer` from its first cache-line boundary (it has `LINE` values to spare), so that no vector load of a panel
/// straddles two lines: which threads' buffers happened to be aligned made their products up to 18 % apart.
fn line_aligned(buffer: &mut [f32]) -> &mut [f32] {
    let skip = line_start(buffer);
    &mut buffer[skip..]
}

/// `c (+)= a · b` on `isa` (supported; dimensions checked and non-zero).
pub(super) fn gemm(isa: Isa, a: MatRef<'_>, b: MatRef<'_>, accumulate: bool, c: &mut [f32]) {
    assert_eq!(c.len(), a.rows * b.cols, "output has {} elements, expected {}×{}", c.len(), a.rows, b.cols);
    // SAFETY: `c` is a contiguous row-major `a.rows × b.cols` matrix, borrowed exclusively.
    unsafe { gemm_strided(isa, a, b, accumulate, c.as_mut_ptr(), b.cols) };
}

/// `C (+)= a · b` where element `(i, j)` of C is at `c + i·ldc + j`: a block of columns of a wider matrix (a
/// product split by columns over threads).
///
/// # Safety
/// `isa` supported, dimensions non-zero and matching; `c` valid for reads and writes at every `i·ldc + j`
/// (`i < a.rows`, `j < b.cols`, `ldc ≥ b.cols`), and nothing else accesses those elements meanwhile.
pub(super) unsafe fn gemm_strided(isa: Isa, a: MatRef<'_>, b: MatRef<'_>, accumulate: bool, c: *mut f32, ldc: usize) {
    check_view(&a);
    check_view(&b);
    if isa.run(Small { a, b, accumulate, c, ldc }) {
        return;
    }
    // SAFETY: forwarded contract.
    unsafe { gemm_packed_strided(isa, a, b, accumulate, c, ldc) }
}

/// [`gemm_strided`] on the packed path whatever the size (the small products' path is checked against it).
///
/// # Safety
/// As [`gemm_strided`], with the views checked.
pub(super) unsafe fn gemm_packed_strided(
    isa: Isa,
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
    c: *mut f32,
    ldc: usize,
) {
    // `Cᵀ = Bᵀ·Aᵀ`, written back transposed, when that gathers less (`X·Wᵀ`: W is then read in place).
    let ct = packing_cost(&b.t(), &a.t()) < packing_cost(&a, &b);
    let (a, b) = if ct { (b.t(), a.t()) } else { (a, b) };
    BUFFERS.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (pa, pb) = &mut *guard;
        isa.run(Packed { a, b, accumulate, c, ldc, ct, pa, pb, prepacked: None });
    });
}

/// A right-hand operand packed once into the micro-kernel's panels, for many products that share it (a recurrent
/// layer's `W_hh`, multiplied by a new hidden state every step). Made by [`with_packed`](super::with_packed), used by
/// [`gemm_packed`](super::gemm_packed).
pub struct PackedB<'a> {
    /// The operand itself, for products that do not use the panels (a single row goes to the matrix-vector
    /// path, as [`gemm`](super::gemm) sends it).
    pub(super) b: MatRef<'a>,
    /// The instruction set the panels were laid out for (panel width `2·LANES`).
    pub(super) isa: Isa,
    /// `None` when packing would not pay: the products then run as plain ones.
    pub(super) panels: Option<&'a [f32]>,
}

/// Values the panels of a `k × n` operand take on any instruction set: `k` rows of `n` rounded up to the widest
/// panel, per block of `NC` columns (each a multiple of the widest panel), and a cache line to start them at a
/// line boundary.
pub(super) const fn packed_len(k: usize, n: usize) -> usize {
    k * n.div_ceil(MAX_NR) * MAX_NR + LINE
}

/// Packs `b` into `buffer` (at least [`packed_len`] values) for `isa` if `pack`, from its first cache-line
/// boundary, and runs `f` with it.
pub(super) fn with_packed<R>(
    isa: Isa,
    b: MatRef<'_>,
    pack: bool,
    buffer: &mut [f32],
    f: impl FnOnce(&PackedB<'_>) -> R,
) -> R {
    check_view(&b);
    if !pack {
        return f(&PackedB { b, isa, panels: None });
    }
    let buffer = line_aligned(buffer);
    let len = isa.run(PackAll { b: &b, out: buffer });
    f(&PackedB { b, isa, panels: Some(&buffer[..len]) })
}

/// Packs every block of B, in the order [`body`] reads them: for each `NC` columns, each `KC` rows. Returns the
/// values written.
struct PackAll<'a, 'b> {
    b: &'a MatRef<'a>,
    out: &'b mut [f32],
}

impl Kernel for PackAll<'_, '_> {
    type Output = usize;

    #[inline(always)]
    unsafe fn run<S: Simd>(self) -> usize {
        let PackAll { b, out } = self;
        let nr = NV * S::LANES;
        let (k, n) = (b.rows, b.cols);
        let total: usize = (0..n).step_by(NC).map(|jc| k * NC.min(n - jc).div_ceil(nr) * nr).sum();
        assert!(out.len() >= total, "a packing buffer of {} values for {total}", out.len());
        let mut offset = 0;
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                let len = kc * nc.div_ceil(nr) * nr;
                pack_b::<S>(b, pc, kc, jc, nc, nr, &mut out[offset..offset + len]);
                offset += len;
            }
        }
        offset
    }
}

/// `c (+)= a · b` with `b`'s panels packed beforehand for `isa` (dimensions checked and non-zero).
pub(super) fn gemm_prepacked(isa: Isa, a: MatRef<'_>, b: MatRef<'_>, panels: &[f32], accumulate: bool, c: &mut [f32]) {
    check_view(&a);
    assert_eq!(c.len(), a.rows * b.cols, "output has {} elements, expected {}×{}", c.len(), a.rows, b.cols);
    let (ldc, c) = (b.cols, c.as_mut_ptr());
    BUFFERS.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (pa, pb) = &mut *guard;
        isa.run(Packed { a, b, accumulate, c, ldc, ct: false, pa, pb, prepacked: Some(panels) });
    });
}

/// The packed product as a kernel for [`Isa::run`]; its views were checked to lie within their slices.
struct Packed<'a, 'b> {
    a: MatRef<'a>,
    b: MatRef<'a>,
    accumulate: bool,
    /// C's first element; element `(i, j)` of the product is at `i·ldc + j` (at `j·ldc + i` if `ct`).
    c: *mut f32,
    ldc: usize,
    ct: bool,
    pa: &'b mut Vec<f32>,
    pb: &'b mut Vec<f32>,
    /// B's panels, packed beforehand for this instruction set (then `pb` is not used).
    prepacked: Option<&'a [f32]>,
}

impl Kernel for Packed<'_, '_> {
    type Output = ();

    #[inline(always)]
    unsafe fn run<S: Simd>(self) {
        let Packed { a, b, accumulate, c, ldc, ct, pa, pb, prepacked } = self;
        const { assert!(S::TILE_ROWS == 6 || S::TILE_ROWS == 12, "a micro-kernel is instantiated for 6 or 12 rows") };
        // SAFETY: `S` is supported (the contract of `run`); the views were checked by `gemm`.
        unsafe {
            if S::TILE_ROWS == 6 {
                body::<S, 6>(a, b, accumulate, c, ldc, ct, pa, pb, prepacked);
            } else {
                body::<S, 12>(a, b, accumulate, c, ldc, ct, pa, pb, prepacked);
            }
        }
    }
}

/// What packing `a · b` costs, in units of one copied value: a row-major A is read in place; a column-major A
/// and a row-major B are copied by contiguous runs; any other operand is gathered value by value, at about four
/// times the cost.
fn packing_cost(a: &MatRef<'_>, b: &MatRef<'_>) -> usize {
    const GATHER: usize = 4;
    let a_cost = match (a.col_stride, a.row_stride) {
        (1, _) => 0,
        (_, 1) => 1,
        _ => GATHER,
    };
    let b_cost = if b.col_stride == 1 { 1 } else { GATHER };
    a_cost * a.rows * a.cols + b_cost * b.rows * b.cols
}

/// Every element of a view must lie inside its slice; checked once so packing can skip bounds checks.
fn check_view(m: &MatRef<'_>) {
    if m.rows > 0 && m.cols > 0 {
        let last = (m.rows - 1) * m.row_stride + (m.cols - 1) * m.col_stride;
        assert!(last < m.data.len(), "matrix view exceeds its slice");
    }
}

/// `C (+)= a · b`, or `C (+)= (a · b)ᵀ` if `ct` (C then holds `b.cols` rows of `a.rows` values), C's rows `ldc`
/// values apart from `c`. B's panels come from `prepacked` (laid out by [`PackAll`] for `S`) if given, else are
/// packed here into `pb`.
///
/// # Safety
/// `S` must be supported by the CPU; both views must lie within their slices; `c` is valid for C's elements as
/// laid out above, which nothing else accesses meanwhile; `prepacked`, if given, holds B packed by [`PackAll`]
/// for `S`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn body<S: Simd, const MR: usize>(
    a: MatRef<'_>,
    b: MatRef<'_>,
    accumulate: bool,
    c: *mut f32,
    ldc: usize,
    ct: bool,
    pa: &mut Vec<f32>,
    pb: &mut Vec<f32>,
    prepacked: Option<&[f32]>,
) {
    let nr = NV * S::LANES;
    let (m, k, n) = (a.rows, a.cols, b.cols);
    // Where element (i, j) of the product goes: c[i·rs + j·cs].
    let (rs, cs) = if ct { (1, ldc) } else { (ldc, 1) };
    let (a_len, b_len) = (MC * KC + LINE, KC * NC.div_ceil(nr) * nr + LINE);
    if pa.len() < a_len {
        pa.resize(a_len, 0.0);
    }
    if pb.len() < b_len {
        pb.resize(b_len, 0.0);
    }
    let (pa, pb) = (line_aligned(pa), line_aligned(pb));
    let mut tile = [[0.0f32; MAX_NR]; MR];
    let tile = tile.as_flattened_mut();
    let direct_a = a.col_stride == 1;
    let mut offset = 0;
    for jc in (0..n).step_by(NC) {
        let nc = NC.min(n - jc);
        for pc in (0..k).step_by(KC) {
            let kc = KC.min(k - pc);
            let pb: &[f32] = match prepacked {
                Some(panels) => {
                    let len = kc * nc.div_ceil(nr) * nr;
                    offset += len;
                    &panels[offset - len..offset]
                }
                None => {
                    pack_b::<S>(&b, pc, kc, jc, nc, nr, pb);
                    pb
                }
            };
            let add = accumulate || pc > 0;
            for ic in (0..m).step_by(MC) {
                let mc = MC.min(m - ic);
                if !direct_a {
                    pack_a::<MR>(&a, ic, mc, pc, kc, pa);
                }
                for jr in (0..nc).step_by(nr) {
                    let cols = nr.min(nc - jr);
                    let bp = pb[jr / nr * kc * nr..].as_ptr();
                    for ir in (0..mc).step_by(MR) {
                        let rows = MR.min(mc - ir);
                        let at = (ic + ir) * rs + (jc + jr) * cs;
                        // A full tile of a row-major C is written by the micro-kernel in place.
                        let full = rows == MR && cols == nr && !ct;
                        // SAFETY: `at` is element (ic + ir, jc + jr) of C (the contract of `body`).
                        let (ldc, out) = if full { (ldc, unsafe { c.add(at) }) } else { (nr, tile.as_mut_ptr()) };
                        // A full tile of a row-major A may have its instruction set's own code (AVX-512's
                        // assembly tile).
                        // SAFETY: the MR rows from `ic + ir` each hold kc values from column pc, `row_stride` apart
                        // (the view lies in its slice); B's panel holds kc·nr values; `out` is the C tile as for
                        // `micro` below; S is supported (the contract of `body`).
                        let tiled = direct_a
                            && rows == MR
                            && unsafe {
                                let ap = a.data[(ic + ir) * a.row_stride + pc..].as_ptr();
                                S::row_major_tile(kc, ap, a.row_stride, bp, out, ldc, add && full)
                            };
                        if !tiled && direct_a {
                            // Rows past the last real one read the last real row again; their results go to
                            // `tile` and are dropped.
                            let ap = core::array::from_fn(|i| {
                                a.data[(ic + ir + i.min(rows - 1)) * a.row_stride + pc..].as_ptr()
                            });
                            // SAFETY: each row pointer has kc values (the view lies in its slice); the packed B
                            // panel holds kc·nr values; `out` is the C tile (MR rows of nr columns from `at`
                            // with row stride n, inside `c` when the tile is full) or `tile` (MR × nr ≤ MR × MAX_NR).
                            unsafe {
                                match rows {
                                    // A short last tile (a recurrent step's 32 samples leave 2 rows after five
                                    // tiles of 6) computes only the rows it has.
                                    1 | 2 => micro::<S, false, 2>(kc, first(ap), bp, out, ldc, add && full),
                                    3 | 4 if MR > 4 => micro::<S, false, 4>(kc, first(ap), bp, out, ldc, add && full),
                                    // And a 32-sample chunk leaves 8 after two tiles of 12.
                                    5..=8 if MR > 8 => micro::<S, false, 8>(kc, first(ap), bp, out, ldc, add && full),
                                    _ => micro::<S, false, MR>(kc, ap, bp, out, ldc, add && full),
                                }
                            };
                        } else if !tiled {
                            let ap = [pa[ir / MR * kc * MR..].as_ptr(); MR];
                            // SAFETY: as above, with the packed A panel holding kc·MR values.
                            unsafe { micro::<S, true, MR>(kc, ap, bp, out, ldc, add && full) };
                        }
                        if ct {
                            // The tile's columns are runs of C (`rs == 1`): written run by run. Row by row, the
                            // stores would stride by C's row length, and at 2 KiB strides (the MLP's 512
                            // features) every store aliased the last one's address modulo 4 KiB: the write-back
                            // then took as long as the product.
                            for j in 0..cols {
                                // SAFETY: the run is `rows` elements of one column of the product, contiguous in
                                // C (the contract of `body`).
                                let run = unsafe { core::slice::from_raw_parts_mut(c.add(at + j * cs), rows) };
                                for (i, out) in run.iter_mut().enumerate() {
                                    let v = tile[i * nr + j];
                                    *out = if add { *out + v } else { v };
                                }
                            }
                        } else if !full {
                            // A short tile's rows, a vector at a time with masks past the last column.
                            for i in 0..rows {
                                for v in 0..NV {
                                    let n = cols.saturating_sub(v * S::LANES).min(S::LANES);
                                    if n == 0 {
                                        break;
                                    }
                                    // SAFETY: n elements of row ic + ir + i of the product, contiguous in C (`cs == 1`).
                                    let run = unsafe {
                                        core::slice::from_raw_parts_mut(c.add(at + i * rs + v * S::LANES), n)
                                    };
                                    // SAFETY: the tile holds nr = NV·LANES values per row; `run` holds the n
                                    // values the masked load and store touch; S is supported.
                                    unsafe {
                                        let value = S::load(tile[i * nr + v * S::LANES..].as_ptr());
                                        let out = run.as_mut_ptr();
                                        let value = if add { S::add(S::load_partial(out, n), value) } else { value };
                                        S::store_partial(out, value, n);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The first `R` of `MR` row pointers.
#[inline(always)]
fn first<const R: usize, const MR: usize>(rows: [*const f32; MR]) -> [*const f32; R] {
    core::array::from_fn(|i| rows[i])
}

/// Copies `B[pc..pc+kc, jc..jc+nc]` into panels of `nr` columns, each `kc` rows of `nr` values, zero-padded.
#[inline(always)]
fn pack_b<S: Simd>(b: &MatRef<'_>, pc: usize, kc: usize, jc: usize, nc: usize, nr: usize, out: &mut [f32]) {
    for (panel, j0) in (0..nc).step_by(nr).enumerate() {
        let cols = nr.min(nc - j0);
        let dst = &mut out[panel * kc * nr..(panel + 1) * kc * nr];
        for (p, row) in dst.chunks_exact_mut(nr).enumerate() {
            let base = (pc + p) * b.row_stride + (jc + j0) * b.col_stride;
            if b.col_stride == 1 {
                // NV vector copies (a library memcpy call costs more at this size), masked past the last column
                // of a short panel, whose lanes past it are zero (a vector past it entirely reads nothing).
                let src = &b.data[base..base + cols];
                for v in 0..NV {
                    let n = cols.saturating_sub(v * S::LANES).min(S::LANES);
                    // SAFETY: `row` holds nr = NV·LANES values; `src` holds the n values read from v·LANES; S is
                    // supported (caller's contract).
                    unsafe {
                        let from = src.as_ptr().wrapping_add(v * S::LANES);
                        let value = if n == S::LANES { S::load(from) } else { S::load_partial(from, n) };
                        S::store(row.as_mut_ptr().add(v * S::LANES), value);
                    }
                }
            } else {
                for (j, v) in row[..cols].iter_mut().enumerate() {
                    *v = b.data[base + j * b.col_stride];
                }
                row[cols..].fill(0.0);
            }
        }
    }
}

/// Copies `A[ic..ic+mc, pc..pc+kc]` into panels of `MR` rows, each `kc` columns of `MR` values, zero-padded.
#[inline(always)]
fn pack_a<const MR: usize>(a: &MatRef<'_>, ic: usize, mc: usize, pc: usize, kc: usize, out: &mut [f32]) {
    for (panel, i0) in (0..mc).step_by(MR).enumerate() {
        let rows = MR.min(mc - i0);
        let dst = &mut out[panel * kc * MR..(panel + 1) * kc * MR];
        if a.row_stride == 1 {
            // Columns of A are contiguous (a transposed view): copy MR values per step.
            for (p, col) in dst.chunks_exact_mut(MR).enumerate() {
                let base = (ic + i0) + (pc + p) * a.col_stride;
                if rows == MR {
                    // A fixed-length copy the compiler unrolls: a library memcpy call per MR values cost more
                    // than the copy (5 % of an LSTM training step, in its weight-gradient products).
                    let src: &[f32; MR] = a.data[base..base + MR].try_into().expect("MR values");
                    col.copy_from_slice(src);
                } else {
                    col[..rows].copy_from_slice(&a.data[base..base + rows]);
                    col[rows..].fill(0.0);
                }
            }
        } else {
            for i in 0..MR {
                if i < rows {
                    let base = (ic + i0 + i) * a.row_stride + pc * a.col_stride;
                    for p in 0..kc {
                        dst[p * MR + i] = a.data[base + p * a.col_stride];
                    }
                } else {
                    for p in 0..kc {
                        dst[p * MR + i] = 0.0;
                    }
                }
            }
        }
    }
}

/// The `MR × NR` register tile: `C (+)= A · Bpanel` over `kc` steps, with A a packed panel (`PACKED`: `a[0]`
/// holds `kc` steps of `MR` values) or `MR` row pointers (`a[i]` holds row `i`'s `kc` values).
///
/// # Safety
/// `S` supported; `a` as above; `b` holds `kc·NR`; `c` points at MR rows of NR writable values with row stride
/// `ldc`.
#[inline(always)]
unsafe fn micro<S: Simd, const PACKED: bool, const MR: usize>(
    kc: usize,
    a: [*const f32; MR],
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    const { assert!(NV == 2, "the loop below loads and accumulates two vectors of B per step") };
    let l = S::LANES;
    let nr = NV * l;
    // SAFETY: (whole body) every offset stays within the bounds stated in the contract.
    unsafe {
        let mut acc = [[S::zero(); NV]; MR];
        for p in 0..kc {
            let b0 = S::load(b.add(p * nr));
            let b1 = S::load(b.add(p * nr + l));
            for (i, row) in acc.iter_mut().enumerate() {
                let ai = S::splat(if PACKED { *a[0].add(p * MR + i) } else { *a[i].add(p) });
                row[0] = S::fma(row[0], ai, b0);
                row[1] = S::fma(row[1], ai, b1);
            }
        }
        for (i, row) in acc.iter().enumerate() {
            for (v, &value) in row.iter().enumerate() {
                let ptr = c.add(i * ldc + v * l);
                let value = if accumulate { S::add(S::load(ptr), value) } else { value };
                S::store(ptr, value);
            }
        }
    }
}
