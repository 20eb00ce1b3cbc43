//! One large matrix-vector product split across cores: batch-1 inference of a network whose weights do not fit
//! one core's L2 cache but fit several.
//!
//! A `Linear` layer at batch 1 reads its whole weight matrix for `2·k·n` flops, so it runs at the speed its
//! weights stream from wherever they are. The MLP of the benches has 2.6 MB of weights: more than one core's L2
//! (2 MB on the Intel Xeon the project runs on), so one core streams them from L3 on every call. Split by output
//! columns over the network's threads, each core reads the same share on every call, and that share stays in its
//! own L2.
//!
//! The handoff has to cost far less than the product (tens of microseconds): a rayon `install` wakes sleeping
//! workers through the kernel. [`Helpers`] are threads of the network's own that spin on an atomic counter for a
//! while after each job, then park; a caller posts a job with one atomic increment and waits for the others by
//! spinning. Each output column is computed by exactly the code that computes it without a split, so the results
//! are bit for bit those of one thread.
//!
//! The same threads run the chunks of a batch side by side ([`Helpers::for_each_piece`]), for the same reason:
//! a rayon pool woke its sleeping workers through the kernel for every wave of chunks, and on the project's
//! 2-core virtual machine that cost 0.3–0.5 ms a wave (two 1.75 ms LSTM chunks took 2.2 ms side by side).

use super::MatRef;
use super::{packed, vector};
use crate::kernels::simd::Isa;
use std::cell::{Cell, UnsafeCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Products with fewer B values than this stay on the calling thread: under 512 KB the product takes a few
/// microseconds from L2, and a split saves less than the handoff costs.
pub(crate) const SPLIT_MIN_VALUES: usize = 128 * 1024;

/// How long a helper spins for its next job before it parks: longer than the gap between the products of one
/// inference, and between back-to-back inferences.
const SPIN: Duration = Duration::from_micros(200);

/// Output columns are split at multiples of this (the matrix-vector kernel's block of columns).
const COLUMN_BLOCK: usize = 8;

/// Helper threads for splitting a product: `threads − 1` of them, the caller being the last. Dropping it stops and
/// joins them.
///
/// One caller at a time uses them (a network's clones share them, and `predict_with` may run on many threads): a
/// caller that finds them busy runs every part itself.
#[derive(Debug)]
pub struct Helpers {
    workers: Vec<Worker>,
    busy: AtomicBool,
}

#[derive(Debug)]
struct Worker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// What a caller and one helper share.
struct Shared {
    /// Jobs posted so far; the helper runs job `posted` when it exceeds the count it has done.
    posted: AtomicU64,
    /// Jobs finished so far (run, or failed with a panic).
    done: AtomicU64,
    /// The job of number `posted`: written by the caller before it increments `posted`, read by the helper after
    /// it sees the increment, and left alone until `done` catches up.
    job: UnsafeCell<Option<Job>>,
    /// Whether the last job panicked (the caller re-raises it).
    panicked: AtomicBool,
    /// Whether the helper is parked or about to be (the caller then unparks it).
    sleeping: AtomicBool,
    /// Set when the helpers are dropped.
    exit: AtomicBool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("posted", &self.posted).field("done", &self.done).finish_non_exhaustive()
    }
}

// SAFETY: `job` is handed over through `posted` / `done` (release stores, acquire loads): only one side touches it
// at a time. Everything else is atomic.
unsafe impl Sync for Shared {}

/// A job: part `part` of the caller's closure, through a pointer; the closure outlives the job because the caller
/// waits for `done`.
#[derive(Clone, Copy)]
struct Job {
    f: *const (dyn Fn(usize) + Sync),
    part: usize,
}

// SAFETY: the closure is `Sync`, so calling it from another thread through a shared reference is sound; the
// pointer is only dereferenced while the caller keeps the closure alive (it waits for the job to finish).
unsafe impl Send for Job {}

impl Helpers {
    /// Starts `threads − 1` helpers (none for one thread).
    ///
    /// # Errors
    /// If a thread cannot be started.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let mut workers = Vec::new();
        for i in 1..threads {
            let shared = Arc::new(Shared {
                posted: AtomicU64::new(0),
                done: AtomicU64::new(0),
                job: UnsafeCell::new(None),
                panicked: AtomicBool::new(false),
                sleeping: AtomicBool::new(false),
                exit: AtomicBool::new(false),
            });
            let mine = Arc::clone(&shared);
            let thread = std::thread::Builder::new().name(format!("nn-helper-{i}")).spawn(move || serve(&mine))?;
            workers.push(Worker { shared, thread: Some(thread) });
        }
        Ok(Self { workers, busy: AtomicBool::new(false) })
    }

    /// Threads a split uses: the helpers and the caller.
    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Runs `f(i, piece)` for every piece `i` of `values` cut into pieces of `piece > 0` elements (the last may be
    /// shorter): piece `i` on thread `i % threads()`, the caller being thread 0, and returns when all are done.
    /// The chunks of a batch (one slot each) and the pieces of a gradient sum go to the threads this way.
    pub(crate) fn for_each_piece<T: Send>(&self, values: &mut [T], piece: usize, f: &(dyn Fn(usize, &mut [T]) + Sync)) {
        let (n, threads) = (values.len(), self.threads());
        let pieces = n.div_ceil(piece);
        let out = SharedOut(values.as_mut_ptr());
        self.run(&|part| {
            for i in (part..pieces).step_by(threads) {
                let (start, end) = (i * piece, ((i + 1) * piece).min(n));
                // SAFETY: piece `i` is `values[start..end]`, visited by part `i % threads` alone (and, when the
                // helpers are busy and `run` calls every part on this thread, still once), and `values` outlives
                // `run`.
                f(i, unsafe { std::slice::from_raw_parts_mut(out.at(start), end - start) });
            }
        });
    }

    /// Runs `f(part)` for every `part < threads()`: part 0 on the calling thread, the others on the helpers, and
    /// returns when all are done. A panic in any part is raised here after all have finished.
    fn run(&self, f: &(dyn Fn(usize) + Sync)) {
        if self.busy.swap(true, Ordering::Acquire) {
            (0..self.threads()).for_each(f);
            return;
        }
        struct Release<'a>(&'a AtomicBool);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _release = Release(&self.busy);
        let erased: *const (dyn Fn(usize) + Sync + '_) = f;
        // SAFETY: erasing the lifetime is sound because this function waits for every job to finish before it
        // returns, so `f` outlives every use the helpers make of it.
        let erased: *const (dyn Fn(usize) + Sync) = unsafe { std::mem::transmute(erased) };
        for (i, worker) in self.workers.iter().enumerate() {
            let shared = &worker.shared;
            // SAFETY: the helper finished its previous job (`done == posted`, awaited below on every run), so it
            // does not read `job` now.
            unsafe { *shared.job.get() = Some(Job { f: erased, part: i + 1 }) };
            shared.posted.fetch_add(1, Ordering::SeqCst);
            if shared.sleeping.load(Ordering::SeqCst) {
                if let Some(thread) = &worker.thread {
                    thread.thread().unpark();
                }
            }
        }
        let mine = catch_unwind(AssertUnwindSafe(|| f(0)));
        let mut failed = false;
        for worker in &self.workers {
            let shared = &worker.shared;
            let posted = shared.posted.load(Ordering::Relaxed);
            while shared.done.load(Ordering::Acquire) != posted {
                std::hint::spin_loop();
            }
            failed |= shared.panicked.swap(false, Ordering::Relaxed);
        }
        if let Err(panic) = mine {
            std::panic::resume_unwind(panic);
        }
        assert!(!failed, "a helper thread panicked");
    }
}

impl Drop for Helpers {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            worker.shared.exit.store(true, Ordering::SeqCst);
            worker.shared.posted.fetch_add(1, Ordering::SeqCst);
            if let Some(thread) = worker.thread.take() {
                thread.thread().unpark();
                // A helper that panicked outside a job has nothing left to report.
                let _ = thread.join();
            }
        }
    }
}

/// A helper's loop: wait for a job (spinning, then parked), run it, report it done.
fn serve(shared: &Shared) {
    crate::kernels::prepare_thread();
    let mut seen = 0;
    loop {
        let mut spun_since = Instant::now();
        let mut spins = 0u32;
        while shared.posted.load(Ordering::Acquire) == seen {
            std::hint::spin_loop();
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(1024) && spun_since.elapsed() > SPIN {
                // Announce the sleep, then look once more: a caller that posted before seeing `sleeping` is seen
                // here, and one that posts after it will unpark (the park token is kept if it comes first).
                shared.sleeping.store(true, Ordering::SeqCst);
                if shared.posted.load(Ordering::SeqCst) == seen {
                    std::thread::park();
                }
                shared.sleeping.store(false, Ordering::SeqCst);
                spun_since = Instant::now();
            }
        }
        seen = shared.posted.load(Ordering::Acquire);
        if shared.exit.load(Ordering::SeqCst) {
            return;
        }
        // SAFETY: the caller wrote `job` before incrementing `posted` (acquired above) and leaves it alone until
        // `done` catches up.
        let job = unsafe { *shared.job.get() };
        if let Some(Job { f, part }) = job {
            // SAFETY: the caller keeps the closure alive until this job's `done` (see `Helpers::run`).
            let f = unsafe { &*f };
            if catch_unwind(AssertUnwindSafe(|| f(part))).is_err() {
                shared.panicked.store(true, Ordering::Relaxed);
            }
        }
        shared.done.store(seen, Ordering::Release);
    }
}

thread_local! {
    /// The helpers of the network whose pass this thread is running, if it splits products.
    static CURRENT: Cell<*const Helpers> = const { Cell::new(std::ptr::null()) };
}

/// Runs `f` with `helpers` available to the products it computes on this thread.
pub fn with_helpers<R>(helpers: &Helpers, f: impl FnOnce() -> R) -> R {
    struct Restore(*const Helpers);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.replace(helpers)));
    f()
}

/// `c (+)= a · b` for a one-row `a` (the matrix-vector path's operands), split by columns of `c` over the current
/// helpers when there are some and the product is large enough to gain; else on this thread.
pub(super) fn gemv(isa: Isa, a: MatRef<'_>, b: MatRef<'_>, accumulate: bool, c: &mut [f32]) {
    let helpers = CURRENT.with(Cell::get);
    let n = b.cols;
    if helpers.is_null() || b.rows * n < SPLIT_MIN_VALUES || n < 2 * COLUMN_BLOCK {
        vector::gemv(isa, a, b, accumulate, c);
        return;
    }
    // SAFETY: `CURRENT` points at helpers that `with_helpers` borrows for as long as it is set.
    let helpers = unsafe { &*helpers };
    gemv_on(helpers, isa, a, b, accumulate, c);
}

/// [`gemv`] split over `helpers` whatever the size (for tests).
pub(super) fn gemv_on(helpers: &Helpers, isa: Isa, a: MatRef<'_>, b: MatRef<'_>, accumulate: bool, c: &mut [f32]) {
    let n = b.cols;
    let parts = helpers.threads();
    let share = n.div_ceil(parts).div_ceil(COLUMN_BLOCK) * COLUMN_BLOCK;
    let out = SharedOut(c.as_mut_ptr());
    helpers.run(&|part| {
        let (start, end) = ((part * share).min(n), ((part + 1) * share).min(n));
        if start < end {
            // SAFETY: the parts' column ranges are disjoint and inside `c`, and `c` outlives `run`.
            let c = unsafe { std::slice::from_raw_parts_mut(out.at(start), end - start) };
            vector::gemv(isa, a, b.columns(start, end), accumulate, c);
        }
    });
}

/// Multiply-adds below which a product of several rows stays on the calling thread (about 15 µs of work on one
/// core: more than the handoff costs, and the split gains most on larger ones).
const SPLIT_MIN_MACS: usize = 1 << 21;

/// Columns of a product of several rows are split at multiples of this (a vector on every instruction set; where
/// a part starts changes which micro-tile computes an element, not how).
const TILE_COLUMNS: usize = 16;

/// Rows are split at multiples of this when the columns are too few to split.
const TILE_ROWS: usize = 12;

/// `c (+)= a · b` for a product of several rows (the packed path's operands), split over the current helpers
/// when there are some and the product is large enough to gain — by columns of `c` if there are enough, so that
/// each core reads its own part of B (a `Linear` layer's weights), else by rows; else on this thread. Each
/// element is summed by the same micro-kernel in the same order either way, so the bits are those of one
/// thread.
pub(super) fn gemm(isa: Isa, a: MatRef<'_>, b: MatRef<'_>, accumulate: bool, c: &mut [f32]) {
    let helpers = CURRENT.with(Cell::get);
    if helpers.is_null() || a.rows * a.cols * b.cols < SPLIT_MIN_MACS {
        packed::gemm(isa, a, b, accumulate, c);
        return;
    }
    // SAFETY: `CURRENT` points at helpers that `with_helpers` borrows for as long as it is set.
    let helpers = unsafe { &*helpers };
    gemm_on(helpers, isa, a, b, accumulate, c);
}

/// [`gemm`] split over `helpers` whatever the size (for tests).
pub(super) fn gemm_on(helpers: &Helpers, isa: Isa, a: MatRef<'_>, b: MatRef<'_>, accumulate: bool, c: &mut [f32]) {
    let (m, n, parts) = (a.rows, b.cols, helpers.threads());
    assert_eq!(c.len(), m * n, "output has {} elements, expected {m}×{n}", c.len());
    let out = SharedOut(c.as_mut_ptr());
    if n >= parts * TILE_COLUMNS {
        let share = n.div_ceil(parts).div_ceil(TILE_COLUMNS) * TILE_COLUMNS;
        helpers.run(&|part| {
            let (start, end) = ((part * share).min(n), ((part + 1) * share).min(n));
            if start < end {
                // SAFETY: columns `start..end` of the `m × n` matrix `c` (which outlives `run`): rows of `end −
                // start` values `n` apart, which no other part touches.
                unsafe { packed::gemm_strided(isa, a, b.columns(start, end), accumulate, out.at(start), n) };
            }
        });
    } else if m >= parts * TILE_ROWS {
        let share = m.div_ceil(parts).div_ceil(TILE_ROWS) * TILE_ROWS;
        helpers.run(&|part| {
            let (start, end) = ((part * share).min(m), ((part + 1) * share).min(m));
            if start < end {
                // SAFETY: rows `start..end` of `c` (which outlives `run`), contiguous and no other part's.
                let c = unsafe { std::slice::from_raw_parts_mut(out.at(start * n), (end - start) * n) };
                packed::gemm(isa, a.rows_range(start, end), b, accumulate, c);
            }
        });
    } else {
        packed::gemm(isa, a, b, accumulate, c);
    }
}

/// Values below which an element-wise pass stays on the calling thread (256 KiB: a few microseconds of work, not
/// worth a handoff).
const SPLIT_MIN_VALUES_ELEMENTWISE: usize = 1 << 16;

/// Parts of an element-wise pass start at multiples of this many values (a cache line).
const VALUE_BLOCK: usize = 16;

/// Runs `f(range)` over `0..n` cut into one range per thread when the calling thread has helpers and `n` is large
/// enough to gain, else once over all of it.
fn for_parts(n: usize, f: &(dyn Fn(std::ops::Range<usize>) + Sync)) {
    let helpers = CURRENT.with(Cell::get);
    if helpers.is_null() || n < SPLIT_MIN_VALUES_ELEMENTWISE {
        f(0..n);
        return;
    }
    // SAFETY: `CURRENT` points at helpers that `with_helpers` borrows for as long as it is set.
    let helpers = unsafe { &*helpers };
    let share = n.div_ceil(helpers.threads()).div_ceil(VALUE_BLOCK) * VALUE_BLOCK;
    helpers.run(&|part| {
        let (start, end) = ((part * share).min(n), ((part + 1) * share).min(n));
        if start < end {
            f(start..end);
        }
    });
}

/// The slices of one part of an element-wise update: `values` and `grads` of equal length, and up to three
/// per-value state buffers (each empty, or as long as `values`).
pub(crate) struct UpdatePart<'a> {
    pub values: &'a mut [f32],
    pub grads: &'a [f32],
    pub states: [&'a mut [f32]; 3],
}

/// Runs `f` over `values`, `grads` and `states` (see [`UpdatePart`]) — an optimizer's update, which reads and
/// writes several megabytes for a few operations per value — cut into parts as [`for_parts`] cuts them (one per
/// thread in a network's `train_step`). `f` must treat every value on its own, so the cut changes no bits.
///
/// # Panics
/// If `grads` or a non-empty state differs in length from `values`.
pub(crate) fn update(values: &mut [f32], grads: &[f32], states: [&mut [f32]; 3], f: &(dyn Fn(UpdatePart<'_>) + Sync)) {
    let n = values.len();
    assert_eq!(grads.len(), n, "parameters and gradients differ in length");
    assert!(states.iter().all(|s| s.is_empty() || s.len() == n), "a state buffer differs in length from the values");
    let values_out = SharedOut(values.as_mut_ptr());
    let [s0, s1, s2] = states.map(|s| (SharedOut(s.as_mut_ptr()), !s.is_empty()));
    for_parts(n, &|range| {
        let slice = |(out, used): (SharedOut<f32>, bool)| -> &mut [f32] {
            if used {
                // SAFETY: the parts' ranges are disjoint and inside `values` and each non-empty state (all `n`
                // long), which outlive `for_parts`.
                unsafe { std::slice::from_raw_parts_mut(out.at(range.start), range.len()) }
            } else {
                &mut []
            }
        };
        let (values, grads) = (slice((values_out, true)), &grads[range.clone()]);
        f(UpdatePart { values, grads, states: [s0, s1, s2].map(slice) });
    });
}

/// The output pointer, shared by the parts, each writing its own elements.
struct SharedOut<T>(*mut T);

impl<T> Clone for SharedOut<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SharedOut<T> {}

impl<T> SharedOut<T> {
    fn at(self, i: usize) -> *mut T {
        self.0.wrapping_add(i)
    }
}

// SAFETY: the parts write disjoint ranges (see `gemv_on`, `gemm_on`, `update` and `Helpers::for_each_piece`), of
// elements that may be sent to another thread.
unsafe impl<T: Send> Sync for SharedOut<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::simd::Isa;
    use crate::test_util::random_vec;

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// `a` as a row and `bd` as a `Linear` weight of `n` rows seen transposed, with their product on one thread.
    fn operands<'a>(a: &'a [f32], bd: &'a [f32], n: usize) -> (MatRef<'a>, MatRef<'a>, Vec<f32>) {
        let k = a.len();
        let (a, b) = (MatRef::row_major(a, 1, k), MatRef::row_major(bd, n, k).t());
        let mut want = vec![0.0; n];
        vector::gemv(Isa::Scalar, a, b, false, &mut want);
        (a, b, want)
    }

    #[test]
    fn a_split_product_gives_the_bits_of_one_thread() {
        for threads in [2, 3, 4] {
            let helpers = Helpers::start(threads).expect("threads start");
            for isa in Isa::supported() {
                for (k, n) in [(1, 16), (7, 17), (33, 40), (784, 512), (512, 10), (100, 1000), (5, 16 * 8 + 3)] {
                    for transposed in [true, false] {
                        let a = random_vec(k, (k * n) as u64);
                        let bd = random_vec(k * n, 1 + (k * n) as u64);
                        // A `Linear` weight seen transposed (columns contiguous), or a row-major B.
                        let b =
                            if transposed { MatRef::row_major(&bd, n, k).t() } else { MatRef::row_major(&bd, k, n) };
                        let a = MatRef::row_major(&a, 1, k);
                        for accumulate in [false, true] {
                            let start = random_vec(n, 7);
                            let (mut one, mut split) = (start.clone(), start);
                            vector::gemv(isa, a, b, accumulate, &mut one);
                            gemv_on(&helpers, isa, a, b, accumulate, &mut split);
                            assert_eq!(bits(&split), bits(&one), "{} {k}×{n} on {threads} threads", isa.name());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_split_product_of_many_rows_gives_the_bits_of_one_thread() {
        for threads in [2, 3] {
            let helpers = Helpers::start(threads).expect("threads start");
            for isa in Isa::supported() {
                // (m, k, n): split by columns (a `Linear` forward and gradients at a chunk of 32, odd widths), by
                // rows (few columns), and not at all (too small to split either way).
                for (m, k, n) in [(32, 784, 512), (512, 32, 784), (32, 300, 37), (100, 33, 17), (5, 7, 9), (33, 1, 70)]
                {
                    let (ad, bd) = (random_vec(m * k, (m * k) as u64), random_vec(k * n, 3 + n as u64));
                    // Row-major, and transposed views (`X·Wᵀ`, `dYᵀ·X`), which the product may pack the other way.
                    let (a_t, b_t) = (MatRef::row_major(&ad, k, m).t(), MatRef::row_major(&bd, n, k).t());
                    let (a_n, b_n) = (MatRef::row_major(&ad, m, k), MatRef::row_major(&bd, k, n));
                    for (a, b) in [(a_n, b_n), (a_n, b_t), (a_t, b_n), (a_t, b_t)] {
                        for accumulate in [false, true] {
                            let start = random_vec(m * n, 11);
                            let (mut one, mut split) = (start.clone(), start);
                            packed::gemm(isa, a, b, accumulate, &mut one);
                            gemm_on(&helpers, isa, a, b, accumulate, &mut split);
                            assert_eq!(bits(&split), bits(&one), "{} {m}×{k}×{n} on {threads} threads", isa.name());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn an_update_split_over_helpers_gives_the_bits_of_one_thread() {
        let helpers = Helpers::start(2).expect("threads start");
        let n = SPLIT_MIN_VALUES_ELEMENTWISE * 2 + 5;
        let grads = random_vec(n, 1);
        // An update that reads and writes every buffer, as Adam's does.
        let step = |part: UpdatePart<'_>| {
            let [m, v, unused] = part.states;
            assert!(unused.is_empty(), "an unused state stays empty");
            for (i, (p, &g)) in part.values.iter_mut().zip(part.grads).enumerate() {
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.99 * v[i] + 0.01 * g * g;
                *p -= 0.01 * m[i] / (v[i].sqrt() + 1e-8);
            }
        };
        let mut one =
            (random_vec(n, 2), random_vec(n, 3), random_vec(n, 4).iter().map(|x| x.abs()).collect::<Vec<_>>());
        let mut split = one.clone();
        let jobs = || helpers.workers[0].shared.done.load(Ordering::SeqCst);
        let before = jobs();
        update(&mut one.0, &grads, [&mut one.1, &mut one.2, &mut []], &step);
        assert_eq!(jobs(), before, "no helpers outside with_helpers");
        with_helpers(&helpers, || update(&mut split.0, &grads, [&mut split.1, &mut split.2, &mut []], &step));
        assert!(jobs() > before, "the update was split");
        for (a, b) in [(&one.0, &split.0), (&one.1, &split.1), (&one.2, &split.2)] {
            assert_eq!(bits(a), bits(b));
        }
    }

    #[test]
    fn helpers_wake_from_parking_and_run_many_jobs() {
        let helpers = Helpers::start(2).expect("threads start");
        let (k, n) = (64, 64);
        let (a, bd) = (random_vec(k, 1), random_vec(k * n, 2));
        let (a, b, want) = operands(&a, &bd, n);
        for round in 0..200 {
            if round % 50 == 0 {
                // Long enough for the helper to give up spinning and park.
                std::thread::sleep(SPIN * 3);
            }
            let mut got = vec![f32::NAN; n];
            gemv_on(&helpers, Isa::Scalar, a, b, false, &mut got);
            assert_eq!(bits(&got), bits(&want), "round {round}");
        }
    }

    #[test]
    fn a_panic_in_a_part_reaches_the_caller_and_the_helpers_survive_it() {
        let helpers = Helpers::start(2).expect("threads start");
        for failing in [0, 1] {
            let result = catch_unwind(AssertUnwindSafe(|| {
                helpers.run(&|part| assert_ne!(part, failing, "part {part} fails"));
            }));
            assert!(result.is_err(), "part {failing}'s panic was lost");
        }
        let count = std::sync::atomic::AtomicUsize::new(0);
        helpers.run(&|_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn every_piece_is_visited_once_on_its_thread_even_when_the_helpers_are_busy() {
        for threads in [2, 3] {
            let helpers = Helpers::start(threads).expect("threads start");
            for (len, piece) in [(0, 4), (1, 1), (7, 1), (10, 3), (9, 3), (100_000, 1 << 16)] {
                // Each value becomes its piece's number, and each piece records the thread that ran it.
                let mut values = vec![usize::MAX; len];
                let ran_on = std::sync::Mutex::new(vec![None; len.div_ceil(piece)]);
                let caller = std::thread::current().id();
                let visit = |i: usize, p: &mut [usize]| {
                    assert_eq!(p.len(), piece.min(len - i * piece), "piece {i}'s length");
                    p.iter_mut().for_each(|v| *v = i);
                    ran_on.lock().expect("not poisoned")[i] = Some(std::thread::current().id());
                };
                helpers.for_each_piece(&mut values, piece, &visit);
                assert!(values.iter().enumerate().all(|(j, &v)| v == j / piece), "{len} values by {piece}");
                let ran_on = ran_on.into_inner().expect("not poisoned");
                for (i, thread) in ran_on.iter().enumerate() {
                    assert_eq!(*thread == Some(caller), i % threads == 0, "piece {i} of {len} on {threads} threads");
                }
                // Inside a job the helpers are busy: every piece then runs on the calling thread, still once.
                let mut inner = vec![usize::MAX; len];
                let nested = std::sync::Mutex::new(&mut inner);
                helpers.run(&|part| {
                    if part == 0 {
                        let mut guard = nested.lock().expect("not poisoned");
                        helpers.for_each_piece(&mut guard[..], piece, &|i, p| p.iter_mut().for_each(|v| *v = i));
                    }
                });
                assert!(inner.iter().enumerate().all(|(j, &v)| v == j / piece), "nested, {len} values by {piece}");
            }
        }
    }

    #[test]
    fn callers_on_many_threads_share_one_set_of_helpers() {
        let helpers = Helpers::start(2).expect("threads start");
        let (k, n) = (96, 200);
        let bd = random_vec(k * n, 5);
        std::thread::scope(|scope| {
            for t in 0..4 {
                let (helpers, bd) = (&helpers, &bd);
                scope.spawn(move || {
                    let a = random_vec(k, 10 + t);
                    let (a, b, want) = operands(&a, bd, n);
                    for _ in 0..300 {
                        let mut got = vec![f32::NAN; n];
                        gemv_on(helpers, Isa::Scalar, a, b, false, &mut got);
                        assert_eq!(bits(&got), bits(&want));
                    }
                });
            }
        });
    }

    #[test]
    fn products_split_only_inside_with_helpers_and_when_large() {
        let helpers = Helpers::start(2).expect("threads start");
        let jobs = || helpers.workers[0].shared.done.load(Ordering::SeqCst);
        // (k, n, split): 512 × 512 weights are over SPLIT_MIN_VALUES, 64 × 64 are not.
        for (k, n, split) in [(512, 512, true), (64, 64, false)] {
            let (a, bd) = (random_vec(k, 3), random_vec(k * n, 4));
            let (a, b, want) = operands(&a, &bd, n);
            let mut got = vec![0.0; n];
            let before = jobs();
            gemv(Isa::Scalar, a, b, false, &mut got);
            assert_eq!(jobs(), before, "no helpers outside with_helpers");
            with_helpers(&helpers, || gemv(Isa::Scalar, a, b, false, &mut got));
            assert_eq!(jobs() > before, split, "{k}×{n} split: {split}");
            assert_eq!(bits(&got), bits(&want));
            CURRENT.with(|c| assert!(c.get().is_null(), "with_helpers restores the thread's helpers"));
        }
    }
}
