//! After the first call, a training step and a batch-1 inference allocate nothing, and inference on a long
//! sequence holds what it outputs, not what training would keep (a counting global allocator proves both).
//!
//! The counter is global, so nothing but the work measured may run while it counts. This binary therefore has no
//! test harness (`harness = false` in `Cargo.toml`): `main` runs the checks one after the other on the main
//! thread, with no harness threads starting tests or capturing output beside them, and before each check waits
//! until every thread of the previous one (a dropped network's pool) has exited. What allocates during a
//! measurement is then the calling thread or the measured network's own pool, whatever else the machine runs.

mod common;

use common::{LeNet5, Wide};
use nn::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
/// Bytes allocated and not yet freed, and the most there have been since [`peak_growth_during`] last reset it.
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Counts `bytes` more live bytes.
fn grow(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::SeqCst) + bytes;
    PEAK.fetch_max(live, Ordering::SeqCst);
}

/// While a check counts: the first allocations' sizes and threads, so that a failure says what allocated (a
/// thread of this process that is not the counting one, or the counting thread itself).
static WATCHING: AtomicUsize = AtomicUsize::new(0);
static SEEN: [AtomicUsize; 8] = [const { AtomicUsize::new(0) }; 8];
static SEEN_THREAD: [AtomicUsize; 8] = [const { AtomicUsize::new(0) }; 8];

thread_local! {
    /// Its address names the thread (a constant without a destructor: readable even while a thread exits).
    static MARK: u8 = const { 0 };
}

fn thread_mark() -> usize {
    MARK.try_with(|m| m as *const u8 as usize).unwrap_or(0)
}

/// Notes an allocation of `size` bytes while a check counts.
fn watch(size: usize) {
    if WATCHING.load(Ordering::SeqCst) != 0 {
        let k = ALLOCATIONS.load(Ordering::SeqCst) % SEEN.len();
        SEEN[k].store(size, Ordering::SeqCst);
        SEEN_THREAD[k].store(thread_mark(), Ordering::SeqCst);
    }
}

// SAFETY: delegates every call to the system allocator unchanged; it only counts allocations and bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        watch(layout.size());
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        grow(layout.size());
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        watch(new_size);
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        // The old block is counted until the new one exists, as a realloc that moves needs both at once.
        grow(new_size);
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations, by any thread of the process, while `f` runs. When there are any, the first ones' sizes and
/// whether the counting thread made them go to stderr, for the failure that follows.
fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    WATCHING.store(1, Ordering::SeqCst);
    f();
    WATCHING.store(0, Ordering::SeqCst);
    let n = ALLOCATIONS.load(Ordering::SeqCst) - before;
    if n > 0 {
        let me = thread_mark();
        let seen: Vec<String> = (before..before + n.min(SEEN.len()))
            .map(|i| {
                let k = i % SEEN.len();
                let who = if SEEN_THREAD[k].load(Ordering::SeqCst) == me { "this thread" } else { "another thread" };
                format!("{} bytes by {who}", SEEN[k].load(Ordering::SeqCst))
            })
            .collect();
        eprintln!("allocations while counting: {}; threads now: {:?}", seen.join(", "), threads());
    }
    n
}

/// The most bytes held at once while `f` runs, above those held when it started.
fn peak_growth_during(f: impl FnOnce()) -> usize {
    let before = LIVE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    f();
    PEAK.load(Ordering::SeqCst) - before
}

/// The threads of this process (Linux; `None` where `/proc` does not list them).
fn threads() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(Iterator::count)
}

/// Waits until the main thread is the only one: the pools of networks dropped by earlier checks shut down
/// asynchronously, and must not be mid-exit while the next check counts.
fn wait_until_alone() {
    let deadline = Instant::now() + Duration::from_secs(30);
    while threads().is_some_and(|n| n > 1) {
        assert!(
            Instant::now() < deadline,
            "{:?} threads still running 30 s after their networks were dropped",
            threads()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `(name, function)` for each check.
macro_rules! checks {
    ($($check:ident),* $(,)?) => { [$((stringify!($check), $check as fn())),*] };
}

/// Runs each check in turn, alone in the process. Like a test harness it takes name filters (`cargo test --test
/// no_alloc -- streaming`) and `--list`; other options (`--test-threads`, `--nocapture`) change nothing here.
fn main() {
    let checks = checks![
        a_gradient_sum_shared_out_over_the_threads_allocates_nothing,
        batch_norm_and_dropout_allocate_nothing_after_the_first_call,
        training_steps_and_inference_allocate_nothing_after_the_first_call,
        inference_on_a_shared_network_allocates_nothing_after_the_first_call,
        recurrent_training_allocates_nothing_once_the_longest_sequence_was_seen,
        streaming_steps_allocate_nothing,
        inference_on_a_long_sequence_holds_its_outputs_not_what_training_keeps,
        a_network_that_branches_allocates_nothing_after_the_first_call,
        a_transformer_allocates_nothing_after_the_first_call,
        one_sample_products_split_over_the_threads_allocate_nothing,
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        checks.iter().for_each(|(name, _)| println!("{name}: test"));
        return;
    }
    // Options that take a value as the next argument, which is then no filter.
    const VALUED: [&str; 6] = ["--test-threads", "--skip", "--color", "--format", "--logfile", "-Z"];
    let filters: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|&(i, a)| !a.starts_with('-') && (i == 0 || !VALUED.contains(&args[i - 1].as_str())))
        .map(|(_, a)| a)
        .collect();
    let chosen: Vec<_> = checks
        .iter()
        .filter(|(name, _)| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} checks", chosen.len());
    for (name, check) in &chosen {
        wait_until_alone();
        check();
        println!("check {name} ... ok");
    }
    println!("\ncheck result: ok. {} passed; {} filtered out\n", chosen.len(), checks.len() - chosen.len());
}

network! {
    struct Regularized {
        Input<1, 12, 12> -> conv: Conv2d<1, 4, 3> -> bn1: BatchNorm -> ReLU -> Flatten
        -> fc1: Linear<400, 32> -> bn2: BatchNorm -> ReLU -> Dropout<0.5> -> fc2: Linear<32, 10>
    }
}

fn a_gradient_sum_shared_out_over_the_threads_allocates_nothing() {
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

fn batch_norm_and_dropout_allocate_nothing_after_the_first_call() {
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

fn inference_on_a_shared_network_allocates_nothing_after_the_first_call() {
    let net = LeNet5::new(1);
    let xs = vec![[[[0.25f32; 28]; 28]; 1]; 70];
    let mut ys = vec![[0.0f32; 10]; 70];
    let mut ws = net.workspace();
    let _ = net.forward_with(&mut ws, &xs[0]);
    net.forward_batch_with(&mut ws, &xs, &mut ys).unwrap();
    let n = allocations_during(|| {
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

fn recurrent_training_allocates_nothing_once_the_longest_sequence_was_seen() {
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

fn streaming_steps_allocate_nothing() {
    let mut net = SeqReader::new(2);
    let mut state = net.initial_state();
    let mut ws = net.workspace();
    net.step(&[0.5; 6], &mut state);
    net.step_with(&mut ws, &[0.5; 6], &mut state);
    let mut sink = 0.0;
    let n = allocations_during(|| {
        for t in 0..100 {
            sink += net.step(&[0.01 * t as f32; 6], &mut state)[0];
            sink += net.step_with(&mut ws, &[0.02 * t as f32; 6], &mut state)[1];
        }
    });
    assert!(sink.is_finite());
    assert_eq!(n, 0, "{n} allocations in 200 streaming steps");
}

network! {
    /// The case: one long sequence through an LSTM, reduced to its last step.
    struct LongReader {
        Input<Seq, 32> -> lstm: LSTM<32, 128> -> Last -> fc: Linear<128, 4>
    }

    /// Two stacked bidirectional layers, and a mean over time.
    struct LongMean {
        Input<Seq, 8> -> gru: GRU<8, 16, layers = 2, bidirectional = true> -> MeanOverTime
    }
}

const MB: usize = 1 << 20;

fn inference_on_a_long_sequence_holds_its_outputs_not_what_training_keeps() {
    const STEPS: usize = 100_000;
    let sequence: Vec<[f32; 32]> = (0..STEPS).map(|t| [((t % 17) as f32 - 8.0) / 8.0; 32]).collect();
    let mut net = LongReader::new(3);
    net.eval();
    // The input itself is 12.8 MB; training would keep every step's gates (about 1.2 GB).
    let mut y = [0.0; 4];
    let grown = peak_growth_during(|| y = net.forward(&sequence));
    assert!(y.iter().all(|v| v.is_finite()));
    println!(
        "    forward on {STEPS} steps of LSTM<32, 128> -> Last: peak memory grows by {:.1} MB",
        grown as f64 / 1e6
    );
    assert!(grown < 150 * MB, "{grown} bytes for one sequence of {STEPS} steps");
    // A caller's workspace, and a reduction over every step of stacked bidirectional layers: the same bound.
    let net = LongReader::new(3);
    let grown = peak_growth_during(|| {
        let mut ws = net.workspace();
        assert_eq!(net.forward_with(&mut ws, &sequence), y, "the same bits as `forward` in eval mode");
    });
    assert!(grown < 150 * MB, "{grown} bytes for one sequence of {STEPS} steps with a workspace");
    let sequence: Vec<[f32; 8]> = (0..STEPS).map(|t| [(t % 5) as f32 / 5.0; 8]).collect();
    let net = LongMean::new(4);
    let grown = peak_growth_during(|| {
        let mut ws = net.workspace();
        assert!(net.forward_with(&mut ws, &sequence).iter().all(|v| v.is_finite()));
    });
    // Per step: the input (32 B) gathered, the lower layer's and the top layer's outputs (128 B each).
    assert!(grown < 40 * MB, "{grown} bytes for one sequence of {STEPS} steps through two bidirectional layers");
}

network! {
    /// Blocks of every kind, batch norm inside them, on two threads.
    struct Branched {
        Input<2, 8, 8>
        -> stem: Conv2d<2, 4, 3, padding = 1> -> bn: BatchNorm -> ReLU
        -> blocks: Repeat<2> { Residual { conv: Conv2d<4, 4, 3, padding = 1> -> bn: BatchNorm -> ReLU } }
        -> mix: Concat { a: Conv2d<4, 2, 1> -> Tanh | Identity }
        -> GlobalAvgPool -> fc: Linear<6, 10>
    }

    /// Token ids of any length, an embedding and a residual block per step.
    struct Tokens {
        Input<Seq, Tokens<50>> -> emb: Embedding<50, 8>
        -> Residual { ln: LayerNorm<8> -> fc: Linear<8, 8> -> GELU } -> out: Linear<8, 3>
    }
}

fn a_network_that_branches_allocates_nothing_after_the_first_call() {
    let mut net = Branched::new(1);
    net.set_parallelism(nn::Parallelism::Threads(2)).unwrap();
    let xs = vec![[[[0.25f32; 8]; 8]; 2]; 70];
    let labels: Vec<usize> = (0..70).map(|i| i % 10).collect();
    let mut adam = Adam::new(AdamConfig::default());
    net.train_step(&xs, &labels, &CrossEntropy, &mut adam);
    net.eval();
    let _ = net.forward(&xs[0]);
    net.train();
    let n = allocations_during(|| {
        for _ in 0..3 {
            net.train_step(&xs, &labels, &CrossEntropy, &mut adam);
            net.eval();
            let _ = net.forward(&xs[1]);
            net.train();
        }
    });
    assert_eq!(n, 0, "{n} allocations in training and inference through blocks");
    let mut tokens = Tokens::new(2);
    let ids: Vec<Vec<u32>> = (0..40).map(|i| (0..(2 + i % 7)).map(|t| ((i + 3 * t) % 50) as u32).collect()).collect();
    let tags: Vec<Vec<usize>> = ids.iter().map(|x| x.iter().map(|&t| t as usize % 3).collect()).collect();
    let mut adam = Adam::new(AdamConfig::default());
    tokens.train_step(&ids, &tags, &CrossEntropy, &mut adam);
    let n = allocations_during(|| {
        for _ in 0..3 {
            tokens.train_step(&ids, &tags, &CrossEntropy, &mut adam);
        }
    });
    assert_eq!(n, 0, "{n} allocations in training on token ids");
}

network! {
    /// A small GPT: token ids, learned positions, causal attention with dropout, a feed-forward block.
    struct Gpt {
        Input<Seq<12>, Tokens<30>>
        -> tok: Embedding<30, 16> -> pos: PositionalEmbedding<12, 16>
        -> blocks: Repeat<2> {
               Residual { ln1: LayerNorm<16> -> attn: MultiheadAttention<16, 4, causal = true, dropout = 0.1> }
               -> Residual { ln2: LayerNorm<16> -> fc1: Linear<16, 32> -> GELU -> fc2: Linear<32, 16> }
           }
        -> ln_f: LayerNorm<16> -> head: Linear<16, 30>
    }
}

fn a_transformer_allocates_nothing_after_the_first_call() {
    let mut net = Gpt::new(1);
    net.set_parallelism(nn::Parallelism::Threads(2)).unwrap();
    let ids: Vec<[u32; 12]> = (0..40u32).map(|i| std::array::from_fn(|t| (i * 7 + t as u32) % 30)).collect();
    let next: Vec<[usize; 12]> = ids.iter().map(|x| std::array::from_fn(|t| (x[t] as usize + 1) % 30)).collect();
    let mut adam = Adam::new(AdamConfig::default());
    net.train_step(&ids, &next, &CrossEntropy, &mut adam);
    net.eval();
    let _ = net.forward(&ids[0]);
    let mut state = net.initial_state();
    net.step(3, &mut state);
    net.train();
    let n = allocations_during(|| {
        for _ in 0..3 {
            net.train_step(&ids, &next, &CrossEntropy, &mut adam);
        }
        net.eval();
        let _ = net.forward(&ids[1]);
        let mut state = net.initial_state();
        for &id in &ids[2] {
            net.step(id, &mut state);
        }
    });
    assert_eq!(n, 0, "{n} allocations in training, inference and generation with the cache");
}

network! {
    /// Layers of 401 K and 262 K weights: one-sample passes on two threads split their products.
    struct Mlp {
        Input<784> -> fc1: Linear<784, 512> -> ReLU -> fc2: Linear<512, 512> -> ReLU -> fc3: Linear<512, 10>
    }
}

fn one_sample_products_split_over_the_threads_allocate_nothing() {
    let mut net = Mlp::new(1);
    net.set_parallelism(nn::Parallelism::Threads(2)).unwrap();
    let xs = vec![[0.25f32; 784]; 1];
    let mut ys = vec![[0.0f32; 10]; 1];
    let mut sgd = Sgd::new(SgdConfig { lr: 0.01, ..Default::default() });
    net.forward_batch(&xs, &mut ys);
    net.train_step(&xs, &[3], &CrossEntropy, &mut sgd);
    let n = allocations_during(|| {
        for _ in 0..20 {
            net.forward_batch(&xs, &mut ys);
            let _ = net.forward(&xs[0]);
            net.train_step(&xs, &[3], &CrossEntropy, &mut sgd);
        }
    });
    assert_eq!(n, 0, "allocations in one-sample passes whose products the threads share");
}
