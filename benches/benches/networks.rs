//! The same networks, shapes, batch sizes and random data in `nn`, candle and burn, measured in one run.
//!
//! LeNet-5 is the MNIST variant (1×28×28; conv 1→6 k5, ReLU, max-pool 2; conv 6→16 k5, ReLU, max-pool 2;
//! 256-120-84-10); the MLP is 784-512-512-10 with ReLU. The recurrent networks read 28 steps of 28 values (an
//! MNIST image row by row): LSTM(28→128) or GRU(28→128), or a 2-layer bidirectional LSTM of 128 units, then a
//! `Linear` to 10 classes on the last step. The transformers (a character-level GPT and a vision transformer) are
//! in `transformers.rs`, the generative examples' autoencoder and DCGAN pair in `generative.rs`. Training steps are cross-entropy with plain SGD. Every
//! library uses two threads: `nn` through `Parallelism::Threads(2)`, candle and burn through their rayon pools
//! (`RAYON_NUM_THREADS=2`, set below before either starts one).

mod generative;
mod peers;
mod transformers;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nn::prelude::*;
use nn::{Parallelism, Rng};
use std::hint::black_box;

network! {
    pub struct LeNet5 {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc1: Linear<256, 120> -> ReLU -> fc2: Linear<120, 84> -> ReLU -> fc3: Linear<84, 10>
    }

    pub struct Mlp {
        Input<784> -> Linear<784, 512> -> ReLU -> Linear<512, 512> -> ReLU -> Linear<512, 10>
    }

    pub struct LstmNet { Input<Seq<28>, 28> -> lstm: LSTM<28, 128> -> Last -> fc: Linear<128, 10> }

    pub struct GruNet { Input<Seq<28>, 28> -> gru: GRU<28, 128> -> Last -> fc: Linear<128, 10> }

    pub struct BiLstm2 {
        Input<Seq<28>, 28> -> lstm: LSTM<28, 128, layers = 2, bidirectional = true> -> Last -> fc: Linear<256, 10>
    }
}

/// `n` random inputs of `len` values in [0, 1) and labels, the same for every library.
pub fn data(n: usize, len: usize) -> (Vec<f32>, Vec<usize>) {
    let mut rng = Rng::new(7, 0);
    ((0..n * len).map(|_| rng.uniform(0.0, 1.0)).collect(), (0..n).map(|_| rng.below(10)).collect())
}

/// A benchmark group of wall-clock measurements.
type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

const THREADS: usize = 2;
const LR: f32 = 0.01;

fn train_step<N: Network>(
    c: &mut Criterion,
    group: &str,
    batch: usize,
    peers: impl FnOnce(&mut Group<'_>, &[f32], &[usize]),
) where
    CrossEntropy: Loss<N::Output, Target = usize>,
    N::Input: Sample,
{
    let (flat, labels) = data(batch, N::Input::LEN);
    let xs = N::Input::from_flat(&flat).to_vec();
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(batch as u64));
    let mut net = N::new(1);
    net.set_parallelism(Parallelism::Threads(THREADS)).unwrap();
    let mut sgd = Sgd::new(SgdConfig { lr: LR, ..Default::default() });
    g.bench_function("nn", |b| b.iter(|| black_box(net.train_step(&xs, &labels, &CrossEntropy, &mut sgd))));
    peers(&mut g, &flat, &labels);
    g.finish();
}

fn infer<N: Network>(c: &mut Criterion, group: &str, batch: usize, peers: impl FnOnce(&mut Group<'_>, &[f32]))
where
    N::Input: Sample,
    N::Output: Sample,
{
    let (flat, _) = data(batch, N::Input::LEN);
    let xs = N::Input::from_flat(&flat).to_vec();
    let mut ys = vec![N::Output::zeroed(); batch];
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(batch as u64));
    let mut net = N::new(1);
    net.set_parallelism(Parallelism::Threads(THREADS)).unwrap();
    g.bench_function("nn", |b| {
        b.iter(|| {
            net.forward_batch(black_box(&xs), &mut ys);
            black_box(&ys);
        })
    });
    peers(&mut g, &flat);
    g.finish();
}

/// One streaming step of the LSTM network at batch 1, the state carried from call to call.
fn lstm_step(c: &mut Criterion) {
    let (flat, _) = data(1, 28);
    let x: [f32; 28] = flat.try_into().expect("28 values");
    let mut g = c.benchmark_group("lstm_step_b1");
    g.throughput(Throughput::Elements(1));
    let mut net = LstmNet::new(1);
    let mut state = net.initial_state();
    g.bench_function("nn", |b| b.iter(|| black_box(net.step(black_box(&x), &mut state))));
    peers::lstm_step(&mut g, &x);
    g.finish();
}

/// LeNet-5's `forward_static` at batch 1: one sample in a caller's buffer, no workspace, on the calling thread.
/// `examples/embedded`'s bench times the same network built without `std`.
fn lenet_static(c: &mut Criterion) {
    let (flat, _) = data(1, 784);
    let x = <[[[f32; 28]; 28]; 1]>::from_flat(&flat)[0];
    let net = LeNet5::new(1);
    let mut buffer = vec![0.0; LeNet5::STATIC_FLOATS];
    let buffer: &mut [f32; LeNet5::STATIC_FLOATS] = buffer.as_mut_slice().try_into().expect("STATIC_FLOATS values");
    let mut g = c.benchmark_group("lenet5_static_b1");
    g.throughput(Throughput::Elements(1));
    g.bench_function("nn forward_static", |b| b.iter(|| black_box(net.forward_static(black_box(&x), buffer))));
    g.finish();
}

fn benches(c: &mut Criterion) {
    // The peers' rayon pools read this when they start, which is after this line.
    std::env::set_var("RAYON_NUM_THREADS", THREADS.to_string());
    train_step::<LeNet5>(c, "lenet5_train_step_b64", 64, |g, x, y| peers::lenet_train(g, x, y, 64, LR));
    train_step::<Mlp>(c, "mlp_train_step_b64", 64, |g, x, y| peers::mlp_train(g, x, y, 64, LR));
    infer::<LeNet5>(c, "lenet5_infer_b1", 1, |g, x| peers::lenet_infer(g, x, 1));
    infer::<LeNet5>(c, "lenet5_infer_b256", 256, |g, x| peers::lenet_infer(g, x, 256));
    lenet_static(c);
    infer::<Mlp>(c, "mlp_infer_b1", 1, |g, x| peers::mlp_infer(g, x, 1));
    for kind in ["lstm", "gru", "bilstm2"] {
        let group = format!("{kind}_train_step_b64");
        let peers = |g: &mut Group<'_>, x: &[f32], y: &[usize]| peers::recurrent_train(g, kind, x, y, 64, LR);
        match kind {
            "lstm" => train_step::<LstmNet>(c, &group, 64, peers),
            "gru" => train_step::<GruNet>(c, &group, 64, peers),
            _ => train_step::<BiLstm2>(c, &group, 64, peers),
        }
    }
    infer::<LstmNet>(c, "lstm_infer_b1", 1, |g, x| peers::lstm_infer(g, x, 1));
    infer::<LstmNet>(c, "lstm_infer_b256", 256, |g, x| peers::lstm_infer(g, x, 256));
    lstm_step(c);
    transformers::benches(c);
    generative::benches(c);
}

criterion_group! {
    name = networks;
    config = Criterion::default().warm_up_time(std::time::Duration::from_secs(2)).measurement_time(std::time::Duration::from_secs(5));
    targets = benches
}
criterion_main!(networks);
