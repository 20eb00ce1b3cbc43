//! Every instruction-set path of the product against a naive f64 reference, on random data and edge sizes: 0, 1,
//! lane width ± 1, odd sizes, and sizes crossing the KC/MC/NC blocks. Rows of 12 and more of a row-major A run
//! the AVX-512 assembly tile (`gemm_avx512`) where the CPU has AVX-512.

use super::*;
use crate::test_util::{assert_close, random_vec};

fn naive(a: &MatRef<'_>, b: &MatRef<'_>) -> Vec<f32> {
    let mut c = vec![0.0f64; a.rows * b.cols];
    for i in 0..a.rows {
        for j in 0..b.cols {
            for p in 0..a.cols {
                c[i * b.cols + j] += f64::from(a.at(i, p)) * f64::from(b.at(p, j));
            }
        }
    }
    c.into_iter().map(|v| v as f32).collect()
}

/// The paths this CPU can run; the others are named so the output says what was not exercised here.
fn paths() -> Vec<Isa> {
    for isa in Isa::ALL.into_iter().filter(|i| !i.is_supported()) {
        eprintln!("gemm tests: skipping {} (not supported by this CPU)", isa.name());
    }
    Isa::supported()
}

fn check(isa: Isa, m: usize, k: usize, n: usize, ta: bool, tb: bool, seed: u64) {
    let ad = random_vec(m * k, seed);
    let bd = random_vec(k * n, seed + 1);
    let a = if ta { MatRef::row_major(&ad, k, m).t() } else { MatRef::row_major(&ad, m, k) };
    let b = if tb { MatRef::row_major(&bd, n, k).t() } else { MatRef::row_major(&bd, k, n) };
    let expected = naive(&a, &b);
    let tol = 1e-5 * (k as f32).sqrt().max(1.0);
    let what = format!("{} {m}×{k}×{n} ta={ta} tb={tb}", isa.name());
    let mut c = vec![f32::NAN; m * n];
    gemm_on(isa, a, b, 0.0, &mut c);
    assert_close(&c, &expected, tol, &format!("{what} overwrite"));
    let mut acc = random_vec(m * n, seed + 2);
    let want: Vec<f32> = acc.iter().zip(&expected).map(|(c, e)| 2.0 * c + e).collect();
    gemm_on(isa, a, b, 2.0, &mut acc);
    assert_close(&acc, &want, tol, &format!("{what} beta=2"));
    let mut acc = random_vec(m * n, seed + 3);
    let want: Vec<f32> = acc.iter().zip(&expected).map(|(c, e)| c + e).collect();
    gemm_on(isa, a, b, 1.0, &mut acc);
    assert_close(&acc, &want, tol, &format!("{what} accumulate"));
}

#[test]
fn every_path_matches_the_reference_on_edge_sizes() {
    let sizes = [0usize, 1, 2, 3, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33];
    let mut seed = 0;
    for isa in paths() {
        for &m in &sizes {
            for &k in &[0usize, 1, 3, 8, 17] {
                for &n in &sizes {
                    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                        seed += 1;
                        check(isa, m, k, n, ta, tb, seed);
                    }
                }
            }
        }
    }
}

#[test]
fn every_path_matches_the_reference_across_cache_blocks() {
    // Larger than KC (256), MC (96) and, for n, NC (1024), with ragged remainders.
    for isa in paths() {
        for (m, k, n) in [(97, 300, 45), (13, 257, 1030), (100, 70, 33), (1, 784, 512), (1, 300, 1030), (2, 513, 9)] {
            // (false, true) with a small m runs as `Cᵀ = Bᵀ·Aᵀ` (see `packed::packing_cost`).
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                check(isa, m, k, n, ta, tb, (m * k + n) as u64);
            }
        }
    }
}

#[test]
fn the_layer_shapes_match_the_reference() {
    // The products LeNet-5 and the 784-512-512-10 MLP run, batch 32.
    for isa in paths() {
        for (m, k, n, ta, tb) in [
            (32, 784, 512, false, true),  // Linear forward: X · Wᵀ (computed as W · Xᵀ)
            (512, 32, 784, true, false),  // Linear dW: dYᵀ · X
            (32, 512, 784, false, false), // Linear dX: dY · W
            (6, 25, 576, false, false),   // conv1 forward: W · col
            (6, 576, 25, false, true),    // conv1 dW: dY · colᵀ
            (150, 16, 64, true, false),   // conv2 dcol: Wᵀ · dY
        ] {
            check(isa, m, k, n, ta, tb, 7);
        }
    }
}

#[test]
fn nan_in_an_overwritten_output_does_not_leak() {
    for isa in paths() {
        let a = [1.0, 2.0];
        let b = [3.0, 4.0];
        let mut c = [f32::NAN];
        gemm_on(isa, MatRef::row_major(&a, 1, 2), MatRef::row_major(&b, 2, 1), 0.0, &mut c);
        assert_eq!(c, [11.0]);
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

#[test]
fn products_with_a_prepacked_operand_equal_the_plain_products_bit_for_bit() {
    let shapes = [(1, 5, 7), (2, 3, 1), (6, 128, 512), (32, 128, 512), (33, 17, 31), (7, 300, 45), (13, 257, 1030)];
    for isa in paths() {
        for (m, k, n) in shapes {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let seed = (m * k + n) as u64;
                let (ad, bd) = (random_vec(m * k, seed), random_vec(k * n, seed + 1));
                let a = if ta { MatRef::row_major(&ad, k, m).t() } else { MatRef::row_major(&ad, m, k) };
                let b = if tb { MatRef::row_major(&bd, n, k).t() } else { MatRef::row_major(&bd, k, n) };
                let mut buffer = vec![f32::NAN; packed_len(k, n)];
                packed::with_packed(isa, b, true, &mut buffer, |packed| {
                    for beta in [0.0, 1.0, 2.0] {
                        let start = random_vec(m * n, seed + 2);
                        let mut plain = start.clone();
                        gemm_on(isa, a, b, beta, &mut plain);
                        // Twice: the panels are reused, not consumed.
                        for _ in 0..2 {
                            let mut with = start.clone();
                            gemm_packed(a, packed, beta, &mut with);
                            assert_eq!(
                                with.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                                plain.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                                "{} {m}×{k}×{n} ta={ta} tb={tb} beta={beta}",
                                isa.name()
                            );
                        }
                    }
                });
            }
        }
    }
}

#[test]
fn the_unpacked_no_std_product_matches_the_reference() {
    let mut seed = 10_000;
    for isa in paths() {
        for &(m, k, n) in &[(1, 1, 1), (1, 25, 576), (6, 25, 576), (3, 17, 9), (17, 8, 33), (33, 31, 5)] {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                seed += 3;
                let ad = random_vec(m * k, seed);
                let bd = random_vec(k * n, seed + 1);
                let a = if ta { MatRef::row_major(&ad, k, m).t() } else { MatRef::row_major(&ad, m, k) };
                let b = if tb { MatRef::row_major(&bd, n, k).t() } else { MatRef::row_major(&bd, k, n) };
                let expected = naive(&a, &b);
                let what = format!("unpacked {} {m}×{k}×{n} ta={ta} tb={tb}", isa.name());
                let mut c = vec![f32::NAN; m * n];
                unpacked::gemm(isa, a, b, false, &mut c);
                assert_close(&c, &expected, 1e-5 * (k as f32).sqrt(), &what);
                let mut acc = random_vec(m * n, seed + 2);
                let want: Vec<f32> = acc.iter().zip(&expected).map(|(c, e)| c + e).collect();
                unpacked::gemm(isa, a, b, true, &mut acc);
                assert_close(&acc, &want, 1e-5 * (k as f32).sqrt(), &format!("{what} accumulate"));
            }
        }
    }
}

/// What `gemm_rows` promises, on every path: a block of rows — one row included — gives the bits those rows have
/// inside the whole product, whichever operand the whole product packs (`X·Wᵀ` flips orientation as `m` passes
/// `n`) and across the KC blocks.
#[test]
fn a_block_of_rows_gives_the_bits_of_the_whole_product() {
    let mut seed = 500;
    for isa in paths() {
        for (m, k, n) in [(2, 3, 5), (7, 28, 16), (13, 17, 33), (64, 32, 512), (97, 300, 40), (600, 12, 64)] {
            for tb in [false, true] {
                seed += 1;
                let (ad, bd) = (random_vec(m * k, seed), random_vec(k * n, seed + 1));
                let a = MatRef::row_major(&ad, m, k);
                let b = if tb { MatRef::row_major(&bd, n, k).t() } else { MatRef::row_major(&bd, k, n) };
                let mut whole = vec![0.0; m * n];
                gemm_on(isa, a, b, 0.0, &mut whole);
                for block in [1, 2, 5, 64] {
                    for start in (0..m).step_by(block) {
                        let rows = block.min(m - start);
                        let part = MatRef::row_major(&ad[start * k..], rows, k);
                        let mut c = vec![f32::NAN; rows * n];
                        packed::gemm(isa, part, b, false, &mut c);
                        let what = format!("{} {m}×{k}×{n} tb={tb}: rows {start}..+{rows}", isa.name());
                        assert!(c == whole[start * n..(start + rows) * n], "{what} differ from the whole product");
                    }
                }
            }
        }
    }
    // The public form runs the products' path the same way.
    let (ad, bd) = (random_vec(3 * 4, 1), random_vec(4 * 6, 2));
    let (a, b) = (MatRef::row_major(&ad, 3, 4), MatRef::row_major(&bd, 6, 4).t());
    let mut whole = vec![0.0; 18];
    gemm(a, b, 0.0, &mut whole);
    let mut one = vec![0.0; 6];
    gemm_rows(MatRef::row_major(&ad[4..], 1, 4), b, 0.0, &mut one);
    assert_eq!(one, whole[6..12]);
}

#[test]
fn wide_loops_run_on_a_supported_path_that_nn_kernel_forces() {
    use crate::kernels::simd::{active, wide};
    let isa = wide();
    assert!(isa.is_supported(), "products chose {}, which this CPU lacks", isa.name());
    if std::env::var_os("NN_KERNEL").is_some() {
        assert_eq!(isa, active(), "NN_KERNEL forces the products' path too");
    } else if isa != active() {
        // The one departure from the active path: AVX-512 products on an Intel CPU.
        assert_eq!(isa, Isa::Avx512);
    }
}

#[test]
fn every_width_up_to_two_vectors_and_one_matches_the_reference() {
    // Widths 1 ..= 2·16 + 1 cover every masked remainder of every instruction set, as a row of C (n), as the
    // depth of a matrix-vector product (k), and as short tiles (m below and above one tile of rows).
    let mut seed = 10_000;
    for isa in paths() {
        for w in 1..=33 {
            for (m, k, n) in [(1, w, 7), (1, 9, w), (3, 5, w), (13, 17, w), (w, 6, 5), (2, w, w)] {
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    seed += 1;
                    check(isa, m, k, n, ta, tb, seed);
                }
            }
        }
    }
}

#[test]
fn small_products_give_the_packed_paths_bits() {
    // Every size below a micro-tile row (2·LANES) in rows and columns and up to SMALL_K steps takes the small
    // path; it must compute each element as the packed path does, for every layout of A and B (in place or
    // gathered, as an attention head reads Q, Kᵀ and V out of a wider block), overwriting or accumulating.
    use super::small::SMALL_K;
    let mut seed = 20_000;
    for isa in paths() {
        for (m, k, n) in [(1, 1, 1), (16, 16, 16), (3, 7, 5), (15, 64, 9), (31, 33, 31), (8, 1, 17), (2, 64, 16)] {
            assert!(k <= SMALL_K);
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                seed += 1;
                // A and B as blocks of wider matrices (row stride 3·width + 1).
                let (ast, bst) = (3 * k.max(m) + 1, 3 * k.max(n) + 1);
                let ad = random_vec(k.max(m) * ast, seed);
                let bd = random_vec(k.max(n) * bst, seed + 1);
                let a = if ta { MatRef::strided(&ad, k, m, ast).t() } else { MatRef::strided(&ad, m, k, ast) };
                let b = if tb { MatRef::strided(&bd, n, k, bst).t() } else { MatRef::strided(&bd, k, n, bst) };
                for accumulate in [false, true] {
                    let start = random_vec(m * n, seed + 2);
                    let (mut small, mut packed) = (start.clone(), start.clone());
                    // SAFETY: both C buffers hold the m × n product, row-major; the views lie in their slices.
                    unsafe {
                        packed::gemm_strided(isa, a, b, accumulate, small.as_mut_ptr(), n);
                        packed::gemm_packed_strided(isa, a, b, accumulate, packed.as_mut_ptr(), n);
                    }
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    let what = format!("{} {m}×{k}×{n} ta={ta} tb={tb} accumulate={accumulate}", isa.name());
                    assert_eq!(bits(&small), bits(&packed), "{what}");
                    let mut expected = naive(&a, &b);
                    if accumulate {
                        expected.iter_mut().zip(&start).for_each(|(e, s)| *e += s);
                    }
                    assert_close(&small, &expected, 1e-5 * (k as f32).sqrt().max(1.0), &what);
                }
            }
        }
    }
}
