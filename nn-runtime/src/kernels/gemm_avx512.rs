//! The AVX-512 register tile of a row-major A in inline assembly: 12 rows of C × 32 columns, 24 accumulators.
//!
//! Written in assembly for one reason: the compiler's version of this loop needs twelve row pointers, B's pointer
//! and a counter in the general registers, one more than it can spare beside the enclosing loops, and reloading
//! pointers from the stack inside the loop cost a tenth of the product's speed. Here six pointers serve the twelve
//! rows (row `i + 6` is six row strides past row `i`) and the loop is exactly the arithmetic, two steps per
//! iteration so that the seven pointer updates come once per 48 multiply-adds, its start aligned to a cache line
//! (unaligned, the two-step loop made LeNet-5's 64×256×120 product 12 % slower than the one-step loop; aligned,
//! every product of the products bench gained 2–8 %).

use core::arch::asm;
use core::arch::x86_64::{__m512, _mm512_add_ps, _mm512_loadu_ps, _mm512_setzero_ps, _mm512_storeu_ps};

/// One step of the tile as assembly text: B's two vectors at byte offset `$b` from `{b}`, then each row pointer's
/// value at byte offset `$a` (rows 0–5) and `{lda6}` further (rows 6–11), broadcast and multiplied into the
/// accumulators: 24 multiply-adds.
macro_rules! step {
    ($a:literal, $b:literal) => {
        concat!(
            "vmovups zmm24, [{b} + ",
            $b,
            "]\n",
            "vmovups zmm25, [{b} + ",
            $b,
            " + 64]\n",
            rows!("a0", $a, "zmm0", "zmm1", "zmm12", "zmm13"),
            rows!("a1", $a, "zmm2", "zmm3", "zmm14", "zmm15"),
            rows!("a2", $a, "zmm4", "zmm5", "zmm16", "zmm17"),
            rows!("a3", $a, "zmm6", "zmm7", "zmm18", "zmm19"),
            rows!("a4", $a, "zmm8", "zmm9", "zmm20", "zmm21"),
            rows!("a5", $a, "zmm10", "zmm11", "zmm22", "zmm23"),
        )
    };
}

/// Rows `i` (pointer `$p`) and `i + 6` of one [`step!`]: their accumulators for B's two vectors.
macro_rules! rows {
    ($p:literal, $a:literal, $i0:literal, $i1:literal, $j0:literal, $j1:literal) => {
        concat!(
            "vbroadcastss zmm26, dword ptr [{",
            $p,
            "} + ",
            $a,
            "]\n",
            "vfmadd231ps ",
            $i0,
            ", zmm26, zmm24\n",
            "vfmadd231ps ",
            $i1,
            ", zmm26, zmm25\n",
            "vbroadcastss zmm27, dword ptr [{",
            $p,
            "} + {lda6} + ",
            $a,
            "]\n",
            "vfmadd231ps ",
            $j0,
            ", zmm27, zmm24\n",
            "vfmadd231ps ",
            $j1,
            ", zmm27, zmm25\n",
        )
    };
}

/// `C (+)= A · Bpanel` for 12 rows of a row-major A (`a` at row 0's first value, rows `lda` values apart) and a
/// packed B panel of `kc` steps of 32 values; C's tile is 12 rows of 32 values, `ldc` apart.
///
/// # Safety
/// The CPU has AVX-512F; `kc ≥ 1`; rows `0..12` of A hold `kc` readable values from `a`; `b` holds `kc·32`
/// values; `c` points at 12 rows of 32 writable values with row stride `ldc`.
#[target_feature(enable = "avx512f")]
#[cfg_attr(not(feature = "std"), allow(dead_code))] // only the packed product, which needs `std`, tiles
pub(crate) unsafe fn tile_12x32(
    kc: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    accumulate: bool,
) {
    // SAFETY: (whole body) the pointers and counts are those of the contract: the loop reads `kc` values of each
    // of the 12 rows and `kc·32` of B, and the stores write the 12×32 tile.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); 24];
        let a0 = a;
        let a1 = a.add(lda);
        let a2 = a.add(2 * lda);
        let a3 = a.add(3 * lda);
        let a4 = a.add(4 * lda);
        let a5 = a.add(5 * lda);
        let lda6 = 6 * lda * core::mem::size_of::<f32>();
        asm!(
            // Two steps per iteration while two remain, then the last step if `kc` is odd.
            "shr {k}, 1",
            "jz 3f",
            ".p2align 6",
            "2:",
            step!("0", "0"),
            step!("4", "128"),
            "add {a0}, 8",
            "add {a1}, 8",
            "add {a2}, 8",
            "add {a3}, 8",
            "add {a4}, 8",
            "add {a5}, 8",
            "add {b}, 256",
            "dec {k}",
            "jnz 2b",
            "3:",
            "test {odd}, 1",
            "jz 4f",
            step!("0", "0"),
            "4:",
            a0 = inout(reg) a0 => _,
            a1 = inout(reg) a1 => _,
            a2 = inout(reg) a2 => _,
            a3 = inout(reg) a3 => _,
            a4 = inout(reg) a4 => _,
            a5 = inout(reg) a5 => _,
            lda6 = in(reg) lda6,
            b = inout(reg) b => _,
            k = inout(reg) kc => _,
            odd = in(reg) kc,
            inout("zmm0") acc[0],
            inout("zmm1") acc[1],
            inout("zmm2") acc[2],
            inout("zmm3") acc[3],
            inout("zmm4") acc[4],
            inout("zmm5") acc[5],
            inout("zmm6") acc[6],
            inout("zmm7") acc[7],
            inout("zmm8") acc[8],
            inout("zmm9") acc[9],
            inout("zmm10") acc[10],
            inout("zmm11") acc[11],
            inout("zmm12") acc[12],
            inout("zmm13") acc[13],
            inout("zmm14") acc[14],
            inout("zmm15") acc[15],
            inout("zmm16") acc[16],
            inout("zmm17") acc[17],
            inout("zmm18") acc[18],
            inout("zmm19") acc[19],
            inout("zmm20") acc[20],
            inout("zmm21") acc[21],
            inout("zmm22") acc[22],
            inout("zmm23") acc[23],
            out("zmm24") _,
            out("zmm25") _,
            out("zmm26") _,
            out("zmm27") _,
            options(nostack, readonly),
        );
        for (i, pair) in acc.chunks_exact(2).enumerate() {
            for (v, &value) in pair.iter().enumerate() {
                let ptr = c.add(i * ldc + v * 16);
                let value: __m512 = if accumulate { _mm512_add_ps(_mm512_loadu_ps(ptr), value) } else { value };
                _mm512_storeu_ps(ptr, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::random_vec;

    #[test]
    fn the_tile_matches_a_naive_product_for_odd_and_even_depths() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            eprintln!("skipped: this CPU has no AVX-512F");
            return;
        }
        // Depths 1–9 (one step alone, pairs, pairs and one) and 256; A's rows 19 apart, C's 40 apart.
        for kc in (1..=9).chain([256]) {
            let (lda, ldc) = (kc + 19, 40);
            let a = random_vec(12 * lda, kc as u64);
            let b = random_vec(kc * 32, 100 + kc as u64);
            let start = random_vec(12 * ldc, 200 + kc as u64);
            for accumulate in [false, true] {
                let mut c = start.clone();
                // SAFETY: the CPU has AVX-512F (checked above); A has 12 rows of kc values lda apart, B kc·32
                // values, C 12 rows of 32 writable values ldc apart.
                unsafe { tile_12x32(kc, a.as_ptr(), lda, b.as_ptr(), c.as_mut_ptr(), ldc, accumulate) };
                for i in 0..12 {
                    for j in 0..ldc {
                        let want = if j < 32 {
                            let dot: f32 = (0..kc).map(|p| a[i * lda + p] * b[p * 32 + j]).sum();
                            dot + if accumulate { start[i * ldc + j] } else { 0.0 }
                        } else {
                            start[i * ldc + j]
                        };
                        let got = c[i * ldc + j];
                        assert!((got - want).abs() <= 1e-4 * (1.0 + want.abs()), "kc {kc} ({i}, {j}): {got} vs {want}");
                    }
                }
            }
        }
    }
}
