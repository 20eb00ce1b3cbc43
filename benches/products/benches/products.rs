//! `nn`'s matrix product against the `gemm` crate and `matrixmultiply` on the products of its `Linear` layers at
//! batch 64 (forward `X·Wᵀ`, weight gradient `dYᵀ·X`, input gradient `dY·W`), one thread each, and the same on two
//! threads (groups ending `_2threads`: `nn` with two threads of its own, as a network's pass splits a product —
//! `nn::kernels::with_helpers`, by its own rule of which products to split —, the `gemm` crate on two rayon
//! threads; `matrixmultiply` is built without its threading feature and stays at one). Throughput is in
//! floating-point operations (2·m·n·k per product): criterion's "elem/s" reads as FLOP/s.
//!
//! Two groups hold the direct convolutions of LeNet-5 for one sample (`conv1`: 1→6 channels, 5×5 kernels, 28×28
//! input; `conv2`: 6→16, 5×5, 12×12 input), and two more their weight gradients over a chunk of 32 samples
//! (`…_weight_grad_b32`), each on the instruction set `nn` picks and on every one the CPU has: the kernels whose
//! rows (24 and 8 values) are shorter than two AVX-512 vectors.
//!
//! `attention_head_scores_16` is one attention head's scores in the ViT of the network benchmarks: 16 queries by
//! 16 keys of 16 values, read in place from their rows of Q, K and V — a product smaller than one micro-tile row.
//!
//! One more group measures a roof instead of a product: `read_mlp_weights` sums as many floats as the
//! 784-512-512-10 MLP has parameters (2.6 MB, more than a core's L2, so they stream from L3) on one core, the
//! least a batch-1 inference of that MLP must do.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nn::kernels::simd;
use nn::kernels::{
    conv2d_direct, conv2d_direct_on, conv2d_direct_weight_grad, conv2d_direct_weight_grad_on, ConvGeometry,
};
use nn::kernels::{gemm, gemm_on, with_helpers, Helpers, Isa, MatRef};
use nn::Rng;
use std::hint::black_box;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed, 0);
    (0..n).map(|_| rng.uniform(-1.0, 1.0)).collect()
}

/// `C[m×n] = A·B` where A is `m×k` and B is `k×n`, each either row-major or the transpose of a row-major matrix.
fn product(c: &mut Criterion, name: &str, dims: (usize, usize, usize), a_t: bool, b_t: bool) {
    let ops = Operands::new(dims, a_t, b_t);
    single(c, name, &ops);
    two_threads(c, &format!("{name}_2threads"), &ops);
}

/// A product's random operands as stored: each row-major, or (`a_t`, `b_t`) the transpose of a row-major matrix.
struct Operands {
    m: usize,
    k: usize,
    n: usize,
    a: Vec<f32>,
    b: Vec<f32>,
    a_t: bool,
    b_t: bool,
}

impl Operands {
    fn new((m, k, n): (usize, usize, usize), a_t: bool, b_t: bool) -> Self {
        Self { m, k, n, a: random(m * k, 1), b: random(k * n, 2), a_t, b_t }
    }

    /// The (row, column) strides of A and of B as stored.
    fn strides(&self) -> ((usize, usize), (usize, usize)) {
        let Operands { m, k, n, a_t, b_t, .. } = *self;
        (if a_t { (1, m) } else { (k, 1) }, if b_t { (1, k) } else { (n, 1) })
    }

    /// A and B as `nn`'s views.
    fn views(&self) -> (MatRef<'_>, MatRef<'_>) {
        let view = |data, rows, cols, transposed| match transposed {
            true => MatRef::row_major(data, cols, rows).t(),
            false => MatRef::row_major(data, rows, cols),
        };
        (view(&self.a, self.m, self.k, self.a_t), view(&self.b, self.k, self.n, self.b_t))
    }

    /// `C = A·B` with the `gemm` crate.
    fn gemm_crate(&self, out: &mut [f32], parallelism: gemm::Parallelism) {
        let (Operands { m, k, n, .. }, ((rsa, csa), (rsb, csb))) = (self, self.strides());
        assert!(out.len() >= m * n);
        // SAFETY: A and B hold m×k and k×n values with these strides (`new` and `strides`), `out` m×n (checked just
        // above).
        unsafe {
            gemm::gemm(
                *m,
                *n,
                *k,
                out.as_mut_ptr(),
                1,
                *n as isize,
                false,
                self.a.as_ptr(),
                csa as isize,
                rsa as isize,
                self.b.as_ptr(),
                csb as isize,
                rsb as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            )
        };
        black_box(out);
    }

    /// `C = A·B` with `matrixmultiply`.
    fn matrixmultiply(&self, out: &mut [f32]) {
        let (Operands { m, k, n, .. }, ((rsa, csa), (rsb, csb))) = (self, self.strides());
        assert!(out.len() >= m * n);
        // SAFETY: as in `gemm_crate`.
        unsafe {
            matrixmultiply::sgemm(
                *m,
                *k,
                *n,
                1.0,
                self.a.as_ptr(),
                rsa as isize,
                csa as isize,
                self.b.as_ptr(),
                rsb as isize,
                csb as isize,
                0.0,
                out.as_mut_ptr(),
                *n as isize,
                1,
            )
        };
        black_box(out);
    }

    /// The multiply-adds' floating-point operations, criterion's throughput.
    fn flops(&self) -> Throughput {
        Throughput::Elements((2 * self.m * self.n * self.k) as u64)
    }
}

/// The product on one thread in each library.
fn single(c: &mut Criterion, name: &str, ops: &Operands) {
    let mut out = vec![0.0f32; ops.m * ops.n];
    let (av, bv) = ops.views();
    let mut g = c.benchmark_group(name);
    g.throughput(ops.flops());
    g.bench_function("nn", |bench| bench.iter(|| gemm(av, bv, 0.0, black_box(&mut out))));
    // Each instruction set the CPU has beside the default, so one run compares them.
    for isa in Isa::supported().into_iter().filter(|&isa| isa != Isa::Scalar && isa != simd::wide()) {
        g.bench_function(format!("nn_{}", isa.name()), |bench| {
            bench.iter(|| gemm_on(isa, av, bv, 0.0, black_box(&mut out)))
        });
    }
    g.bench_function("gemm", |bench| bench.iter(|| ops.gemm_crate(&mut out, gemm::Parallelism::None)));
    g.bench_function("matrixmultiply", |bench| bench.iter(|| ops.matrixmultiply(&mut out)));
    g.finish();
}

/// The product on two threads: `nn`'s own helper and the calling thread, and the `gemm` crate's rayon split.
fn two_threads(c: &mut Criterion, name: &str, ops: &Operands) {
    let mut out = vec![0.0f32; ops.m * ops.n];
    let (av, bv) = ops.views();
    let helpers = Helpers::start(2).expect("a helper thread");
    let mut g = c.benchmark_group(name);
    g.throughput(ops.flops());
    g.bench_function("nn", |bench| bench.iter(|| with_helpers(&helpers, || gemm(av, bv, 0.0, black_box(&mut out)))));
    g.bench_function("gemm", |bench| bench.iter(|| ops.gemm_crate(&mut out, gemm::Parallelism::Rayon(2))));
    g.finish();
}

fn benches(c: &mut Criterion) {
    // MLP first layer (784 → 512) and LeNet-5's fc1 (256 → 120), batch 64.
    for (layer, i, o) in [("mlp_fc1", 784, 512), ("lenet_fc1", 256, 120)] {
        product(c, &format!("linear_forward_{layer}_b64"), (64, i, o), false, true);
        product(c, &format!("linear_weight_grad_{layer}_b64"), (o, 64, i), true, false);
        product(c, &format!("linear_input_grad_{layer}_b64"), (64, o, i), false, false);
    }
    product(c, "square_512", (512, 512, 512), false, false);
    tiny(c);
    convolution(c, "conv_direct_lenet_conv1", 1, 28, 6);
    convolution(c, "conv_direct_lenet_conv2", 6, 12, 16);
    read_roof(c);
}

/// One sample's direct convolution with 5×5 kernels, stride 1, no padding: `channels` square `size`² input planes
/// to `outputs` planes, on `nn`'s pick and on every instruction set the CPU has.
fn convolution(c: &mut Criterion, name: &str, channels: usize, size: usize, outputs: usize) {
    let g = ConvGeometry { channels, height: size, width: size, kernel: 5, stride: 1, padding: 0 };
    let (w, b, x) = (random(outputs * channels * 25, 4), random(outputs, 5), random(channels * size * size, 6));
    let mut y = vec![0.0f32; outputs * g.out_height() * g.out_width()];
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements((2 * w.len() * g.out_height() * g.out_width()) as u64));
    group.bench_function("nn", |bench| bench.iter(|| conv2d_direct(&g, &w, Some(&b), &x, black_box(&mut y))));
    for isa in Isa::supported().into_iter().filter(|&isa| isa != Isa::Scalar) {
        group.bench_function(format!("nn_{}", isa.name()), |bench| {
            bench.iter(|| conv2d_direct_on(isa, &g, &w, Some(&b), &x, black_box(&mut y)))
        });
    }
    group.finish();
    // The weight gradient over a chunk of 32 samples, as a training step computes it.
    let (xs, dys) = (random(32 * x.len(), 7), random(32 * y.len(), 8));
    let mut dw = vec![0.0f32; w.len()];
    let mut group = c.benchmark_group(format!("{name}_weight_grad_b32"));
    group.throughput(Throughput::Elements((2 * 32 * w.len() * g.out_height() * g.out_width()) as u64));
    group.bench_function("nn", |bench| bench.iter(|| conv2d_direct_weight_grad(&g, &dys, &xs, black_box(&mut dw))));
    for isa in Isa::supported().into_iter().filter(|&isa| isa != Isa::Scalar) {
        group.bench_function(format!("nn_{}", isa.name()), |bench| {
            bench.iter(|| conv2d_direct_weight_grad_on(isa, &g, &dys, &xs, black_box(&mut dw)))
        });
    }
    group.finish();
}

/// One head's scores in the ViT: 16 queries by 16 keys of 16 values, read in place from a 16 × 192 block.
fn tiny(c: &mut Criterion) {
    let qkv = random(16 * 192, 9);
    let mut out = vec![0.0f32; 256];
    let q = MatRef::strided(&qkv, 16, 16, 192);
    let k = MatRef::strided(&qkv[64..], 16, 16, 192);
    let mut g = c.benchmark_group("attention_head_scores_16");
    g.throughput(Throughput::Elements(2 * 16 * 16 * 16));
    g.bench_function("nn", |bench| bench.iter(|| gemm(q, k.t(), 0.0, black_box(&mut out))));
    g.finish();
}

/// Parameters of the 784-512-512-10 MLP.
const MLP_PARAMS: usize = 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10;

/// One core streaming the MLP's weights: the floor under its batch-1 inference.
fn read_roof(c: &mut Criterion) {
    let weights = random(MLP_PARAMS, 3);
    let mut g = c.benchmark_group("read_mlp_weights");
    g.throughput(Throughput::Bytes((MLP_PARAMS * 4) as u64));
    g.bench_function("sum", |bench| bench.iter(|| sum(black_box(&weights))));
    g.finish();
}

/// A sum in 64 independent lanes, which the compiler turns into vector adds that keep up with the loads (AVX2
/// where the CPU has it, as `nn`'s kernels use).
fn sum(values: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { sum_avx2(values) };
    }
    sum_lanes(values)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_avx2(values: &[f32]) -> f32 {
    sum_lanes(values)
}

#[inline(always)]
fn sum_lanes(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 64];
    for chunk in values.chunks_exact(64) {
        lanes.iter_mut().zip(chunk).for_each(|(l, v)| *l += v);
    }
    lanes.iter().sum::<f32>() + values.chunks_exact(64).remainder().iter().sum::<f32>()
}

criterion_group! {
    name = products;
    config = Criterion::default().warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(3));
    targets = benches
}
criterion_main!(products);
