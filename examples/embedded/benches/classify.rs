//! Time per image of the `no_std` LeNet-5 (`classify`, its buffer on the stack and filled with zeros each call;
//! `classify_with`, its buffer kept), built as a device would build it:
//! `nn` without `std`, the instruction sets chosen at compile time. Compare with `lenet5_static_b1` and
//! `lenet5_infer_b1` of the main benches (the `std` network).
//!
//! `cargo bench --manifest-path examples/embedded/Cargo.toml` (baseline x86-64: the portable kernels), and with
//! `RUSTFLAGS="-C target-cpu=native"` for the AVX2 kernels.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn classify(c: &mut Criterion) {
    let image: [[f32; 28]; 28] = core::array::from_fn(|i| core::array::from_fn(|j| ((i * 28 + j) % 17) as f32 / 16.0));
    let mut g = c.benchmark_group("lenet5_no_std_b1");
    g.throughput(Throughput::Elements(1));
    g.bench_function("classify", |b| b.iter(|| black_box(nn_embedded::classify(black_box(&image)))));
    // The buffer kept from call to call, as a device keeps it in a `static`: no 42 KB fill per image.
    let mut buffer = Box::new([0.0; nn_embedded::LeNet5::STATIC_FLOATS]);
    g.bench_function("classify_with", |b| {
        b.iter(|| black_box(nn_embedded::classify_with(black_box(&image), &mut buffer)))
    });
    g.finish();
}

criterion_group!(benches, classify);
criterion_main!(benches);
