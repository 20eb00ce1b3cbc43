//! After the first call, a training step and a batch-1 inference allocate nothing (a counting global allocator
//! proves it). This file is its own test binary, so the allocator sees only this test.

mod common;

use common::LeNet5;
use nn::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates every call to the system allocator unchanged; it only counts allocations.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    f();
    ALLOCATIONS.load(Ordering::SeqCst) - before
}

#[test]
fn training_steps_and_inference_allocate_nothing_after_the_first_call() {
    let mut net = LeNet5::new(1);
    let xs = vec![[[[0.25f32; 28]; 28]; 1]; 70];
    let labels: Vec<usize> = (0..70).map(|i| i % 10).collect();
    let mut adam = Adam::new(AdamConfig::default());
    let mut sgd = Sgd::new(SgdConfig { lr: 0.01, momentum: 0.9, ..Default::default() });
    net.train_step(&xs, &labels, &CrossEntropy, &mut adam);
    net.train_step(&xs, &labels, &CrossEntropy, &mut sgd);
    let _ = net.forward(&xs[0]);
    let n = allocations_during(|| {
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
        allocations_during(|| {
            let _ = fresh.forward(&xs[0]);
        }),
        0
    );
}
