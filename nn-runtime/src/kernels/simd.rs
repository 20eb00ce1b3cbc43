//! The vector operations kernels are written in, one implementation per instruction set, and the choice of
//! instruction set: with `std`, detected once, cached, and overridable with the `NN_KERNEL` environment variable;
//! without it (`no_std`), fixed when the crate is compiled by the target features enabled (`-C
//! target-feature=+avx2,+fma`, `-C target-cpu=native`, or the target's own, such as NEON on aarch64).
//!
//! A kernel body is written once, generic over `Simd`, as an implementation of `Kernel`; `Isa::run` — the
//! one place that knows target features — instantiates it inside a function compiled with
//! `#[target_feature(enable = ...)]`, so the inlined body is compiled with those instructions available (the
//! pattern of `matrixmultiply`'s kernel selector and `pulp`'s `WithSimd`).

#[cfg(feature = "std")]
use std::sync::OnceLock;

/// An instruction set a kernel can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Portable Rust; what the compiler makes of it for the baseline target.
    Scalar,
    /// x86-64 AVX2 with FMA: 8 lanes.
    Avx2,
    /// x86-64 AVX-512F: 16 lanes.
    Avx512,
    /// aarch64 NEON: 4 lanes.
    Neon,
}

impl Isa {
    /// Every instruction set, in the order [`active`] prefers them.
    ///
    /// AVX2 comes before AVX-512: measured on an AMD EPYC (Zen 4) with both, the AVX2 path runs a LeNet-5
    /// training step 4.7× faster and an MLP step 10 % faster — 16-lane vectors leave the 8- to 24-column rows of
    /// small convolutions almost entirely to scalar tails, and Zen 4 executes 512-bit operations in two halves.
    /// `NN_KERNEL=avx512` still selects AVX-512. The matrix products and element-wise maps choose apart from the rest: see [`wide`].
    pub const ALL: [Isa; 4] = [Isa::Avx2, Isa::Avx512, Isa::Neon, Isa::Scalar];

    /// The name `NN_KERNEL` accepts.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Neon => "neon",
        }
    }

    /// Whether this CPU can run it (without `std`: whether the crate was compiled with its target features).
    #[cfg(not(feature = "std"))]
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            Isa::Avx2 => cfg!(all(target_arch = "x86_64", target_feature = "avx2", target_feature = "fma")),
            Isa::Avx512 => cfg!(all(
                target_arch = "x86_64",
                target_feature = "avx512f",
                target_feature = "avx2",
                target_feature = "fma"
            )),
            Isa::Neon => cfg!(all(target_arch = "aarch64", target_feature = "neon")),
        }
    }

    /// Whether this CPU can run it.
    #[cfg(feature = "std")]
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            // The AVX-512 path runs some AVX2 code (2×2 pooling) and fused multiply-adds: every AVX-512 CPU has
            // them, but the check says so rather than assume it.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => core::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The instruction sets this CPU supports, in order of preference.
    #[cfg(feature = "std")]
    pub fn supported() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|i| i.is_supported()).collect()
    }

    /// Runs `kernel` compiled for this instruction set.
    ///
    /// # Panics
    /// If this CPU does not support it.
    #[inline]
    pub(crate) fn run<K: Kernel>(self, kernel: K) -> K::Output {
        assert!(self.is_supported(), "this CPU does not support {}", self.name());
        match self {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => unsafe { on_avx2(kernel) },
            // SAFETY: the CPU has AVX-512F, AVX2 and FMA (checked just above).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { on_avx512(kernel) },
            // SAFETY: the CPU has NEON (checked just above).
            #[cfg(target_arch = "aarch64")]
            Isa::Neon => unsafe { on_neon(kernel) },
            // SAFETY: portable code runs everywhere.
            _ => unsafe { kernel.run::<Scalar>() },
        }
    }
}

/// A kernel written once for every instruction set: [`Isa::run`] runs it on the one it chooses. Implementations
/// mark `run` `#[inline(always)]`, so that the body is compiled inside the instruction set's wrapper.
pub(crate) trait Kernel {
    /// What the kernel returns.
    type Output;

    /// Runs the kernel with the vector operations of `S`.
    ///
    /// # Safety
    /// The CPU must support `S`.
    unsafe fn run<S: Simd>(self) -> Self::Output;
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn on_avx2<K: Kernel>(kernel: K) -> K::Output {
    // SAFETY: the caller checked that the CPU has AVX2 and FMA.
    unsafe { kernel.run::<Avx2>() }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn on_avx512<K: Kernel>(kernel: K) -> K::Output {
    // SAFETY: the caller checked that the CPU has AVX-512F, AVX2 and FMA.
    unsafe { kernel.run::<Avx512>() }
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
unsafe fn on_neon<K: Kernel>(kernel: K) -> K::Output {
    // SAFETY: the caller checked that the CPU has NEON.
    unsafe { kernel.run::<Neon>() }
}

/// The instruction set kernels use: `NN_KERNEL` (`scalar`, `avx2`, `avx512`, `neon`) if set and supported, else
/// the best the CPU has. Decided on first use and cached.
///
/// # Panics
/// On first use, if `NN_KERNEL` names an unknown or unsupported instruction set (a forced path that silently ran
/// another would make the tests it is meant for pass without testing anything).
#[cfg(feature = "std")]
pub fn active() -> Isa {
    static ACTIVE: OnceLock<Isa> = OnceLock::new();
    *ACTIVE.get_or_init(|| match std::env::var("NN_KERNEL") {
        Ok(name) => {
            let isa = Isa::ALL
                .into_iter()
                .find(|i| i.name() == name.trim())
                .unwrap_or_else(|| panic!("NN_KERNEL={name}: expected one of scalar, avx2, avx512, neon"));
            assert!(isa.is_supported(), "NN_KERNEL={name}: this CPU does not support it");
            isa
        }
        Err(_) => Isa::supported()[0],
    })
}

/// The instruction set of the long, regular loops — the matrix products ([`gemm`](fn@super::gemm) and the kernels
/// built on it), the element-wise maps ([`map`](super::map) and its kin), the recurrent cells' gate passes and
/// the direct convolution's forward pass: AVX-512 on an Intel CPU that has it, else [`active`]'s choice;
/// `NN_KERNEL`, when set, decides for these too.
///
/// These are the kernels whose AVX-512 forms are measured faster than AVX2 on Intel: two 512-bit FMA units per
/// core double the peak, the 12×32 product tile reaches 149 GFLOP/s on one core of an Intel Xeon against the AVX2
/// tile's 96 (the 512³ product), 16-lane maps make a GPT training step 3–8 % faster, 16-lane gate passes the
/// recurrent groups 4–14 % faster, and the direct convolution, its rows of 8 columns paired in a vector's halves,
/// runs LeNet-5's second convolution in 2.7 µs against AVX2's 3.7 (benches/README). The direct convolution's
/// weight gradient, `col2im` and pooling keep [`active`]'s AVX2: their rows of 8 to 24 columns fill 16 lanes by
/// half. On AMD the choice stays [`active`]'s: Zen 4 executes 512-bit operations in two halves, and AVX2 measured
/// as fast there. Fixed for the process, so one machine computes the same bits from run to run (and the maps',
/// cells' and convolution's multiply-adds are fused and in the same order on every such path, so every instruction
/// set gives them the same bits anyway: tested).
#[cfg(feature = "std")]
pub fn wide() -> Isa {
    static WIDE: OnceLock<Isa> = OnceLock::new();
    *WIDE.get_or_init(|| {
        if std::env::var_os("NN_KERNEL").is_none() && Isa::Avx512.is_supported() && is_intel() {
            Isa::Avx512
        } else {
            active()
        }
    })
}

/// The instruction set of the long, regular loops without `std`: [`active`]'s.
#[cfg(not(feature = "std"))]
pub fn wide() -> Isa {
    active()
}

/// Whether the CPU's vendor string is `GenuineIntel`.
#[cfg(feature = "std")]
fn is_intel() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: CPUID leaf 0 exists on every x86-64 CPU. (`__cpuid` is a safe function in recent Rust; the
        // block keeps older compilers, down to the crate's minimum, building.)
        #[allow(unused_unsafe)]
        let id = unsafe { core::arch::x86_64::__cpuid(0) };
        let vendor = [id.ebx, id.edx, id.ecx].map(u32::to_le_bytes);
        vendor.as_flattened() == b"GenuineIntel"
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The instruction set kernels use without `std`: the best the crate was compiled for.
#[cfg(not(feature = "std"))]
pub fn active() -> Isa {
    let mut isas = Isa::ALL.into_iter().filter(|i| i.is_supported());
    isas.next().unwrap_or(Isa::Scalar)
}

/// The most lanes any instruction set has (AVX-512's 16).
pub(crate) const MAX_LANES: usize = 16;

/// Vector operations on `LANES` f32 values.
///
/// # Safety
/// Implementations use instructions that exist only where [`Isa::is_supported`] says so; every method is `unsafe`
/// and may only be called from code running on such a CPU (inside the matching `#[target_feature]` wrapper).
/// Pointer arguments must be valid for `LANES` reads or writes (no alignment needed).
pub(crate) unsafe trait Simd: Copy {
    const LANES: usize;
    /// Rows of C in the GEMM's register tile (its columns are two vectors): as many as the registers allow, with
    /// two vectors of B and one broadcast beside the accumulators.
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // only the packed product, which needs `std`, tiles
    const TILE_ROWS: usize;
    type V: Copy;
    unsafe fn zero() -> Self::V;
    unsafe fn splat(x: f32) -> Self::V;
    unsafe fn load(p: *const f32) -> Self::V;
    unsafe fn store(p: *mut f32, v: Self::V);
    /// `acc + a·b`.
    unsafe fn fma(acc: Self::V, a: Self::V, b: Self::V) -> Self::V;
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V;
    /// The sum of the lanes.
    unsafe fn sum(v: Self::V) -> f32;

    /// The first `n ≤ LANES` values at `p`, the other lanes zero: a row's remainder in one vector. Only those `n`
    /// values need be readable (the instruction sets with mask registers read no others). By default through a
    /// buffer on the stack.
    #[inline(always)]
    unsafe fn load_partial(p: *const f32, n: usize) -> Self::V {
        const { assert!(Self::LANES <= MAX_LANES, "the default buffer holds MAX_LANES values") };
        debug_assert!(n <= Self::LANES);
        let mut buffer = [0.0f32; MAX_LANES];
        // SAFETY: the caller guarantees `n` readable values at `p`; the buffer holds LANES ≥ n; `Self` is supported.
        unsafe {
            core::ptr::copy_nonoverlapping(p, buffer.as_mut_ptr(), n);
            Self::load(buffer.as_ptr())
        }
    }

    /// Writes the first `n ≤ LANES` lanes of `v` to `p` and nothing else: only those `n` values need be writable.
    #[inline(always)]
    unsafe fn store_partial(p: *mut f32, v: Self::V, n: usize) {
        const { assert!(Self::LANES <= MAX_LANES, "the default buffer holds MAX_LANES values") };
        debug_assert!(n <= Self::LANES);
        let mut buffer = [0.0f32; MAX_LANES];
        // SAFETY: the caller guarantees `n` writable values at `p`; the buffer holds LANES ≥ n; `Self` is supported.
        unsafe {
            Self::store(buffer.as_mut_ptr(), v);
            core::ptr::copy_nonoverlapping(buffer.as_ptr(), p, n);
        }
    }

    /// Two short rows in one vector: lanes `0..n` from `lo`, lanes `LANES/2 .. LANES/2 + n` from `hi`, the others
    /// zero (`n ≤ LANES/2`). Only those `2n` values need be readable. By default through a buffer on the stack.
    #[inline(always)]
    unsafe fn load_halves(lo: *const f32, hi: *const f32, n: usize) -> Self::V {
        const { assert!(Self::LANES <= MAX_LANES, "the default buffer holds MAX_LANES values") };
        debug_assert!(n <= Self::LANES / 2);
        let mut buffer = [0.0f32; MAX_LANES];
        // SAFETY: the caller guarantees `n` readable values at `lo` and at `hi`; the buffer holds LANES ≥ 2n values;
        // `Self` is supported.
        unsafe {
            core::ptr::copy_nonoverlapping(lo, buffer.as_mut_ptr(), n);
            core::ptr::copy_nonoverlapping(hi, buffer.as_mut_ptr().add(Self::LANES / 2), n);
            Self::load(buffer.as_ptr())
        }
    }

    /// The inverse of [`Simd::load_halves`]: lanes `0..n` of `v` to `lo`, lanes `LANES/2 .. LANES/2 + n` to `hi`,
    /// and nothing else written.
    #[inline(always)]
    unsafe fn store_halves(lo: *mut f32, hi: *mut f32, v: Self::V, n: usize) {
        const { assert!(Self::LANES <= MAX_LANES, "the default buffer holds MAX_LANES values") };
        debug_assert!(n <= Self::LANES / 2);
        let mut buffer = [0.0f32; MAX_LANES];
        // SAFETY: the caller guarantees `n` writable values at `lo` and at `hi`; the buffer holds LANES ≥ 2n values;
        // `Self` is supported.
        unsafe {
            Self::store(buffer.as_mut_ptr(), v);
            core::ptr::copy_nonoverlapping(buffer.as_ptr(), lo, n);
            core::ptr::copy_nonoverlapping(buffer.as_ptr().add(Self::LANES / 2), hi, n);
        }
    }

    /// 2×2, stride-2 max pooling of the first windows of a pair of rows (`top`, `bottom`) into `out`, with this
    /// instruction set's own code; returns how many windows it did (the portable code does the rest). None by
    /// default.
    #[inline(always)]
    unsafe fn max_pool_2x2_rows(_top: &[f32], _bottom: &[f32], _out: &mut [f32]) -> usize {
        0
    }

    /// The GEMM's full register tile for a row-major A, with this instruction set's own code: `C (+)= A · Bpanel`
    /// for `TILE_ROWS` rows of A (`a` at row 0's first value, rows `lda` values apart) and a packed B panel of `kc`
    /// steps of `2·LANES` values, C's tile `TILE_ROWS` rows of `2·LANES` values `ldc` apart. Returns whether it
    /// did (by default not: the generic micro-kernel does).
    ///
    /// # Safety
    /// As the trait's, and `kc ≥ 1`; the rows of A hold `kc` readable values from `a`, B `kc·2·LANES`, and C's tile
    /// is writable.
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // only the packed product, which needs `std`, tiles
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    unsafe fn row_major_tile(
        _kc: usize,
        _a: *const f32,
        _lda: usize,
        _b: *const f32,
        _c: *mut f32,
        _ldc: usize,
        _accumulate: bool,
    ) -> bool {
        false
    }

    /// The backward pass of [`Simd::max_pool_2x2_rows`]: the first windows' gradients; returns how many.
    #[inline(always)]
    unsafe fn max_pool_2x2_rows_backward(
        _top: &[f32],
        _bottom: &[f32],
        _dy: &[f32],
        _dtop: &mut [f32],
        _dbottom: &mut [f32],
    ) -> usize {
        0
    }
}

/// Portable fallback: eight lanes in an array, which the compiler vectorises for the baseline target.
#[derive(Clone, Copy)]
pub(crate) struct Scalar;

// SAFETY: plain Rust; the pointer contract is the trait's.
unsafe impl Simd for Scalar {
    const LANES: usize = 8;
    const TILE_ROWS: usize = 6;
    type V = [f32; 8];
    #[inline(always)]
    unsafe fn zero() -> Self::V {
        [0.0; 8]
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> Self::V {
        [x; 8]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        // SAFETY: the caller guarantees 8 readable values at `p`.
        unsafe { p.cast::<[f32; 8]>().read_unaligned() }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        // SAFETY: the caller guarantees 8 writable values at `p`.
        unsafe { p.cast::<[f32; 8]>().write_unaligned(v) }
    }
    #[inline(always)]
    unsafe fn fma(acc: Self::V, a: Self::V, b: Self::V) -> Self::V {
        let mut r = acc;
        for i in 0..8 {
            r[i] += a[i] * b[i];
        }
        r
    }
    #[inline(always)]
    unsafe fn add(a: Self::V, b: Self::V) -> Self::V {
        let mut r = a;
        for i in 0..8 {
            r[i] += b[i];
        }
        r
    }
    #[inline(always)]
    unsafe fn sum(v: Self::V) -> f32 {
        ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]))
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Simd;
    use core::arch::x86_64::*;

    /// The 2×2 pooling rows of `pool_avx2`, for an instruction set that includes AVX2.
    macro_rules! avx2_pooling {
        () => {
            #[inline(always)]
            unsafe fn max_pool_2x2_rows(top: &[f32], bottom: &[f32], out: &mut [f32]) -> usize {
                // SAFETY: the `Simd` contract: the caller runs with this instruction set, which includes AVX2,
                // enabled.
                unsafe { crate::kernels::pool_avx2::forward_rows(top, bottom, out) }
            }
            #[inline(always)]
            unsafe fn max_pool_2x2_rows_backward(
                top: &[f32],
                bottom: &[f32],
                dy: &[f32],
                dtop: &mut [f32],
                dbottom: &mut [f32],
            ) -> usize {
                // SAFETY: as `max_pool_2x2_rows`.
                unsafe { crate::kernels::pool_avx2::backward_rows(top, bottom, dy, dtop, dbottom) }
            }
        };
    }

    #[derive(Clone, Copy)]
    pub(crate) struct Avx2;

    // SAFETY: AVX2/FMA intrinsics, called only inside `#[target_feature(enable = "avx2,fma")]` wrappers after
    // detection (the trait's contract); loads and stores are unaligned.
    unsafe impl Simd for Avx2 {
        const LANES: usize = 8;
        /// 6 × 2 accumulators, two B vectors and a broadcast: 15 of the 16 registers.
        const TILE_ROWS: usize = 6;
        type V = __m256;
        #[inline(always)]
        unsafe fn zero() -> __m256 {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { _mm256_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m256 {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { _mm256_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn fma(acc: __m256, a: __m256, b: __m256) -> __m256 {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { _mm256_fmadd_ps(a, b, acc) }
        }
        #[inline(always)]
        unsafe fn add(a: __m256, b: __m256) -> __m256 {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { _mm256_add_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn sum(v: __m256) -> f32 {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe {
                let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
                let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
                _mm_cvtss_f32(_mm_add_ss(s, _mm_shuffle_ps(s, s, 1)))
            }
        }
        #[inline(always)]
        unsafe fn load_partial(p: *const f32, n: usize) -> __m256 {
            // SAFETY: the `Simd` contract; masked-off lanes are not read (VMASKMOVPS suppresses their faults).
            unsafe { _mm256_maskload_ps(p, first_lanes(n)) }
        }
        #[inline(always)]
        unsafe fn store_partial(p: *mut f32, v: __m256, n: usize) {
            // SAFETY: the `Simd` contract; masked-off lanes are not written.
            unsafe { _mm256_maskstore_ps(p, first_lanes(n), v) }
        }
        #[inline(always)]
        unsafe fn load_halves(lo: *const f32, hi: *const f32, n: usize) -> __m256 {
            // SAFETY: the `Simd` contract; masked-off lanes are not read (VMASKMOVPS suppresses their faults), so
            // of `hi − 4` only lanes 4 .. 4 + n, at `hi .. hi + n`, are.
            unsafe {
                let low = _mm256_maskload_ps(lo, first_lanes(n));
                _mm256_blend_ps::<0xF0>(low, _mm256_maskload_ps(hi.wrapping_sub(4), upper_lanes(n)))
            }
        }
        #[inline(always)]
        unsafe fn store_halves(lo: *mut f32, hi: *mut f32, v: __m256, n: usize) {
            // SAFETY: the `Simd` contract; masked-off lanes are not written, so of `hi − 4` only `hi .. hi + n`.
            unsafe {
                _mm256_maskstore_ps(lo, first_lanes(n), v);
                _mm256_maskstore_ps(hi.wrapping_sub(4), upper_lanes(n), v);
            }
        }
        avx2_pooling!();
    }

    /// AVX2's mask of the first `n` of 8 lanes (all bits set in each).
    #[inline(always)]
    unsafe fn first_lanes(n: usize) -> __m256i {
        // SAFETY: AVX2 is enabled (the callers' contract).
        unsafe { _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)) }
    }

    /// AVX2's mask of lanes `4 .. 4 + n` of 8.
    #[inline(always)]
    unsafe fn upper_lanes(n: usize) -> __m256i {
        const NEVER: i32 = i32::MAX;
        // SAFETY: AVX2 is enabled (the callers' contract).
        unsafe {
            _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), _mm256_setr_epi32(NEVER, NEVER, NEVER, NEVER, 0, 1, 2, 3))
        }
    }

    #[derive(Clone, Copy)]
    pub(crate) struct Avx512;

    // SAFETY: AVX-512F intrinsics, called only inside `#[target_feature(enable = "avx512f")]` wrappers after
    // detection; loads and stores are unaligned.
    unsafe impl Simd for Avx512 {
        const LANES: usize = 16;
        /// 12 × 2 accumulators, two B vectors and a broadcast: 27 of the 32 registers.
        const TILE_ROWS: usize = 12;
        type V = __m512;
        #[inline(always)]
        unsafe fn zero() -> __m512 {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { _mm512_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m512 {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { _mm512_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { _mm512_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn fma(acc: __m512, a: __m512, b: __m512) -> __m512 {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { _mm512_fmadd_ps(a, b, acc) }
        }
        #[inline(always)]
        unsafe fn add(a: __m512, b: __m512) -> __m512 {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { _mm512_add_ps(a, b) }
        }
        #[inline(always)]
        unsafe fn sum(v: __m512) -> f32 {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { _mm512_reduce_add_ps(v) }
        }
        #[inline(always)]
        unsafe fn load_partial(p: *const f32, n: usize) -> __m512 {
            // SAFETY: the `Simd` contract; masked-off lanes are not read (nor can they fault).
            unsafe { _mm512_maskz_loadu_ps(first_lanes16(n), p) }
        }
        #[inline(always)]
        unsafe fn store_partial(p: *mut f32, v: __m512, n: usize) {
            // SAFETY: the `Simd` contract; masked-off lanes are not written.
            unsafe { _mm512_mask_storeu_ps(p, first_lanes16(n), v) }
        }
        #[inline(always)]
        unsafe fn load_halves(lo: *const f32, hi: *const f32, n: usize) -> __m512 {
            // Two 32-byte loads and an insert: a masked 64-byte load at an unaligned address would cross a cache
            // line every time, and cost two loads.
            // SAFETY: the `Simd` contract (AVX-512F, and AVX2 with it); masked-off lanes are not read (VMASKMOVPS
            // suppresses their faults).
            unsafe {
                let (low, high) = if n == 8 {
                    (_mm256_loadu_ps(lo), _mm256_loadu_ps(hi))
                } else {
                    (_mm256_maskload_ps(lo, first_lanes(n)), _mm256_maskload_ps(hi, first_lanes(n)))
                };
                let low = _mm512_castps_pd(_mm512_castps256_ps512(low));
                _mm512_castpd_ps(_mm512_insertf64x4::<1>(low, _mm256_castps_pd(high)))
            }
        }
        #[inline(always)]
        unsafe fn store_halves(lo: *mut f32, hi: *mut f32, v: __m512, n: usize) {
            // SAFETY: the `Simd` contract (AVX-512F, and AVX2 with it); masked-off lanes are not written.
            unsafe {
                let low = _mm512_castps512_ps256(v);
                let high = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
                if n == 8 {
                    _mm256_storeu_ps(lo, low);
                    _mm256_storeu_ps(hi, high);
                } else {
                    _mm256_maskstore_ps(lo, first_lanes(n), low);
                    _mm256_maskstore_ps(hi, first_lanes(n), high);
                }
            }
        }
        // AVX-512 CPUs have AVX2 (`Isa::is_supported` checks): its pooling code serves.
        avx2_pooling!();
        #[inline(always)]
        unsafe fn row_major_tile(
            kc: usize,
            a: *const f32,
            lda: usize,
            b: *const f32,
            c: *mut f32,
            ldc: usize,
            accumulate: bool,
        ) -> bool {
            // SAFETY: the `Simd` contract (AVX-512F enabled) and this method's, for 12 rows of 32 columns.
            unsafe { crate::kernels::gemm_avx512::tile_12x32(kc, a, lda, b, c, ldc, accumulate) };
            true
        }
    }

    /// The mask register selecting the first `n ≤ 16` lanes.
    #[inline(always)]
    fn first_lanes16(n: usize) -> __mmask16 {
        ((1u32 << n) - 1) as __mmask16
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

#[cfg(target_arch = "aarch64")]
mod arm {
    use super::Simd;
    use core::arch::aarch64::*;

    #[derive(Clone, Copy)]
    pub(crate) struct Neon;

    // SAFETY: NEON intrinsics, called only inside `#[target_feature(enable = "neon")]` wrappers after detection;
    // loads and stores are unaligned.
    unsafe impl Simd for Neon {
        const LANES: usize = 4;
        const TILE_ROWS: usize = 6;
        type V = float32x4_t;
        #[inline(always)]
        unsafe fn zero() -> float32x4_t {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { vdupq_n_f32(0.0) }
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> float32x4_t {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { vdupq_n_f32(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> float32x4_t {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { vld1q_f32(p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: float32x4_t) {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { vst1q_f32(p, v) }
        }
        #[inline(always)]
        unsafe fn fma(acc: float32x4_t, a: float32x4_t, b: float32x4_t) -> float32x4_t {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { vfmaq_f32(acc, a, b) }
        }
        #[inline(always)]
        unsafe fn add(a: float32x4_t, b: float32x4_t) -> float32x4_t {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { vaddq_f32(a, b) }
        }
        #[inline(always)]
        unsafe fn sum(v: float32x4_t) -> f32 {
            // SAFETY: the `Simd` contract: the caller runs with this instruction set enabled.
            unsafe { vaddvq_f32(v) }
        }
    }
}

#[cfg(target_arch = "aarch64")]
pub(crate) use arm::Neon;

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads `n` values through [`Simd::load_partial`] and stores them back through [`Simd::store_partial`] into
    /// a row of sentinels; returns the lanes loaded and the row written.
    struct Partial<'a> {
        src: &'a [f32],
        dst: &'a mut [f32],
    }

    impl Kernel for Partial<'_> {
        type Output = Vec<f32>;

        #[inline(always)]
        unsafe fn run<S: Simd>(self) -> Vec<f32> {
            let mut lanes = [f32::NAN; MAX_LANES];
            // SAFETY: `src` and `dst` hold the `n ≤ LANES` values read and written; `lanes` holds LANES values.
            unsafe {
                let v = S::load_partial(self.src.as_ptr(), self.src.len());
                S::store(lanes.as_mut_ptr(), v);
                S::store_partial(self.dst.as_mut_ptr(), v, self.src.len());
            }
            lanes[..S::LANES].to_vec()
        }
    }

    #[test]
    fn partial_loads_and_stores_touch_exactly_the_values_asked_for() {
        for isa in Isa::supported() {
            let lanes = isa.run(Partial { src: &[], dst: &mut [] }).len();
            for n in 0..=lanes {
                // The source ends where the n values end, so a read past them would be a read past the slice
                // (which Miri and the address sanitizer report; the masked forms read nothing there).
                let src: Vec<f32> = (1..=n).map(|v| v as f32).collect();
                let mut row = vec![-7.0; lanes + 1];
                let loaded = isa.run(Partial { src: &src, dst: &mut row[..n] });
                let want: Vec<f32> = (0..lanes).map(|i| if i < n { (i + 1) as f32 } else { 0.0 }).collect();
                assert_eq!(loaded, want, "{} load of {n}", isa.name());
                assert_eq!(&row[..n], &src[..], "{} store of {n}", isa.name());
                assert!(row[n..].iter().all(|&v| v == -7.0), "{} store of {n} wrote past them", isa.name());
            }
        }
    }
}
