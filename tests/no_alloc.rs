//! After the first call, a training step and a batch-1 inference allocate nothing (a counting global allocator
//! proves it). This file is its own test binary, so the allocator sees only this test.

mod common;

use common::{LeNet5, Wide};
use nn::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Allocations by this thread (const-initialised: reading it allocates nothing).
    static HERE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

// SAFETY: delegates every call to the system allocator unchanged; it only counts allocations.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        HERE.with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        HERE.with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The tests of this binary run one at a time: the counter is global.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

/// Allocations by the calling thread while `f` runs: for work that stays on this thread, immune to the test
/// harness reporting another test's result at the same moment.
fn allocations_here(f: impl FnOnce()) -> usize {
    let before = HERE.with(std::cell::Cell::get);
    f();
    HERE.with(std::cell::Cell::get) - before
}

network! {
    struct Regularized {
        Input<1, 12, 12> -> conv: Conv2d<1, 4, 3> -> bn1: BatchNorm -> ReLU -> Flatten
        -> fc1: Linear<400, 32> -> bn2: BatchNorm -> ReLU -> Dropout<0.5> -> fc2: Linear<32, 10>
    }
}

#[test]
fn a_gradient_sum_shared_out_over_the_threads_allocates_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut net = Wide::new(1);
    net.set_parallelism(nn::Parallelism::Threads(2)).unwrap();
    let xs = vec![[0.5f32; 784]; 100];
    let labels: Vec<usize> = (0..100).map(|i| i % 10).collect();
    let mut sgd = Sgd::new(SgdConfig { lr: 0.01, momentum: 0.9, ..Default::default() });
    net.train_step(&xs, &labels, &CrossEntropy, &mut sgd);
    let _ = net.forward(&xs[0]);
    let n = allocations_during(|| {
        for _ in 0..3 {
            net.train_step(&xs, &labels, &CrossEntropy, &mut sgd);
            let _ = net.forward(&xs[1]);
        }
    });
    assert_eq!(n, 0, "allocations in parallel training with a shared gradient sum");
}

#[test]
fn batch_norm_and_dropout_allocate_nothing_after_the_first_call() {
    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut net = Regularized::new(1);
    let xs = vec![[[[0.25f32; 12]; 12]; 1]; 70];
    let labels: Vec<usize> = (0..70).map(|i| i % 10).collect();
    let mut adam = Adam::new(AdamConfig::default());
    net.set_parallelism(nn::Parallelism::Threads(2)).unwrap();
    net.train_step(&xs, &labels, &CrossEntropy, &mut adam);
    net.eval();
    let _ = net.forward(&xs[0]);
    let n = allocations_during(|| {
        for _ in 0..3 {
            net.train();
            net.train_step(&xs, &labels, &CrossEntropy, &mut adam);
            net.train_step(&xs[..40], &labels[..40], &CrossEntropy, &mut adam);
            net.eval();
            let _ = net.forward(&xs[1]);
        }
    });
    assert_eq!(n, 0, "allocations in steady-state training through batch norm and dropout");
}

#[test]
fn training_steps_and_inference_allocate_nothing_after_the_first_call() {
    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut net = LeNet5::new(1);
    let xs = vec![[[[0.25f32; 28]; 28]; 1]; 70];
    let labels: Vec<usize> = (0..70).map(|i| i % 10).collect();
    let mut adam = Adam::new(AdamConfig::default());
    let mut sgd = Sgd::new(SgdConfig { lr: 0.01, momentum: 0.9, ..Default::default() });
    net.train_step(&xs, &labels, &CrossEntropy, &mut adam);
    net.train_step(&xs, &labels, &CrossEntropy, &mut sgd);
    let _ = net.forward(&xs[0]);
    let n = allocations_here(|| {
        for _ in 0..3 {
            net.train_step(&xs, &labels, &CrossEntropy, &mut adam);
            net.train_step(&xs[..5], &labels[..5], &CrossEntropy, &mut sgd);
            let _ = net.forward(&xs[1]);
        }
    });
    assert_eq!(n, 0, "allocations in steady-state training and inference");
    // With a thread pool: the pool and one workspace per thread are made by `set_parallelism`.
    net.set_parallelism(nn::Parallelism::Threads(2)).unwrap();
    net.train_step(&xs, &labels, &CrossEntropy, &mut adam);
    let n = allocations_during(|| {
        for _ in 0..3 {
            net.train_step(&xs, &labels, &CrossEntropy, &mut adam);
            let _ = net.forward(&xs[1]);
        }
    });
    assert_eq!(n, 0, "allocations in parallel training");
    // The first inference of a fresh network allocates nothing either: buffers are made by `new`.
    let mut fresh = LeNet5::new(2);
    assert_eq!(
        allocations_here(|| {
            let _ = fresh.forward(&xs[0]);
        }),
        0
    );
}

#[test]
fn inference_on_a_shared_network_allocates_nothing_after_the_first_call() {
    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let net = LeNet5::new(1);
    let xs = vec![[[[0.25f32; 28]; 28]; 1]; 70];
    let mut ys = vec![[0.0f32; 10]; 70];
    let mut ws = net.workspace();
    let _ = net.forward_with(&mut ws, &xs[0]);
    net.forward_batch_with(&mut ws, &xs, &mut ys).unwrap();
    let n = allocations_here(|| {
        for i in 0..3 {
            let _ = net.forward_with(&mut ws, &xs[i]);
            net.forward_batch_with(&mut ws, &xs, &mut ys).unwrap();
        }
    });
    assert_eq!(n, 0, "allocations in inference with a caller's workspace");
}

network! {
    struct SeqTagger {
        Input<Seq, 6>
        -> lstm: LSTM<6, 8, layers = 2, bidirectional = true, dropout = 0.2> -> Dropout<0.1> -> out: Linear<16, 4>
    }

    struct SeqReader {
        Input<Seq, 6> -> gru: GRU<6, 8> -> Last -> fc: Linear<8, 3>
    }
}

/// `n` sequences of up to `longest` steps (lengths cycling), with a class per step.
fn sequence_batch(n: usize, longest: usize) -> (Vec<Vec<[f32; 6]>>, Vec<Vec<usize>>) {
    let xs: Vec<Vec<[f32; 6]>> = (0..n).map(|i| vec![[0.1 * (i % 5) as f32; 6]; 1 + i % longest]).collect();
    let ts = xs.iter().map(|x| (0..x.len()).map(|t| t % 4).collect()).collect();
    (xs, ts)
}

#[test]
fn recurrent_training_allocates_nothing_once_the_longest_sequence_was_seen() {
    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut net = SeqTagger::new(1);
    net.set_parallelism(nn::Parallelism::Threads(2)).unwrap();
    net.train();
    let (long_x, long_t) = sequence_batch(70, 12);
    let (short_x, short_t) = sequence_batch(40, 7);
    let mut adam = Adam::new(AdamConfig::default());
    net.train_step(&long_x, &long_t, &CrossEntropy, &mut adam);
    let n = allocations_during(|| {
        for _ in 0..3 {
            net.train_step(&short_x, &short_t, &CrossEntropy, &mut adam);
            net.train_step(&long_x, &long_t, &CrossEntropy, &mut adam);
        }
    });
    assert_eq!(n, 0, "{n} allocations in six training steps on sequences");
}

#[test]
fn streaming_steps_allocate_nothing() {
    let _serial = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut net = SeqReader::new(2);
    let mut state = net.initial_state();
    let mut ws = net.workspace();
    net.step(&[0.5; 6], &mut state);
    net.step_with(&mut ws, &[0.5; 6], &mut state);
    let mut sink = 0.0;
    // Streaming runs on the calling thread: count that thread's allocations only (the test harness's threads
    // and the pools of tests that just ended allocate at any moment).
    let before = HERE.with(std::cell::Cell::get);
    for t in 0..100 {
        sink += net.step(&[0.01 * t as f32; 6], &mut state)[0];
        sink += net.step_with(&mut ws, &[0.02 * t as f32; 6], &mut state)[1];
    }
    let n = HERE.with(std::cell::Cell::get) - before;
    assert!(sink.is_finite());
    assert_eq!(n, 0, "{n} allocations in 200 streaming steps");
}
