//! The backward passes of the recurrent layers and reductions against central finite differences, for every
//! cell, one and two layers, one and two directions, sequences of one length and of different lengths, with and
//! without dropout between stacked layers. (Their forward passes are checked against PyTorch's equations, by
//! tensor name, in `tests/recurrent_weights.rs`.)

use super::*;
use crate::layers::tests::run;
use crate::test_util::random_vec;

/// A chunk of `lengths.len()` sequences padded to the longest: the pass, and `x` with zeros past each length.
pub(in crate::layers) struct Chunk {
    pub lengths: Vec<usize>,
    pub steps: usize,
    pub x: Vec<f32>,
}

impl Chunk {
    pub fn new(lengths: &[usize], width: usize, seed: u64) -> Self {
        let steps = lengths.iter().copied().max().unwrap();
        let mut x = random_vec(lengths.len() * steps * width, seed);
        for (i, &len) in lengths.iter().enumerate() {
            x[(i * steps + len) * width..(i + 1) * steps * width].fill(0.0);
        }
        Self { lengths: lengths.to_vec(), steps, x }
    }

    pub fn pass(&self, mode: Mode) -> Pass<'_> {
        let n = self.lengths.len();
        let equal = self.lengths.iter().all(|&l| l == self.steps);
        let lengths: &[usize] = if equal { &[] } else { &self.lengths };
        let steps = self.steps;
        Pass {
            mode,
            seed: 5,
            step: 2,
            first: 0,
            batch: n,
            samples: n,
            steps,
            lengths,
            backward: true,
            param_grads: true,
            loss_scale: 1.0,
        }
    }

    fn rows(&self) -> usize {
        self.lengths.len() * self.steps
    }
}

/// Forward of `layer` over `chunk`: the output and the final states.
fn forward<L: Layer>(
    layer: &L,
    params: &[f32],
    chunk: &Chunk,
    initial: &[f32],
    mode: Mode,
    out_rows: usize,
) -> (Vec<f32>, Vec<f32>) {
    let ran = run(layer, params, &chunk.x, out_rows, initial, &chunk.pass(mode));
    (ran.y, ran.state)
}

/// Parameter and input gradients of `⟨r, layer(x)⟩` by `layer.backward`.
fn gradients<L: Layer>(
    layer: &L,
    params: &[f32],
    chunk: &Chunk,
    r: &[f32],
    mode: Mode,
    out_rows: usize,
) -> (Vec<f32>, Vec<f32>) {
    let (pass, initial) = (chunk.pass(mode), vec![0.0; chunk.lengths.len() * L::STATE]);
    run(layer, params, &chunk.x, out_rows, &initial, &pass).backward(layer, params, &chunk.x, r, true, &pass)
}

/// Checks every parameter gradient and the input gradient at every valid step against central differences of
/// `⟨r, layer(x)⟩` (`r` zero past each sample's length for sequence outputs).
pub(in crate::layers) fn grad_check<L: Layer>(
    layer: L,
    lengths: &[usize],
    sequence_output: bool,
    mode: Mode,
    seed: u64,
) {
    const EPS: f32 = 1e-3;
    let chunk = Chunk::new(lengths, L::IN, seed);
    let n = lengths.len();
    let out_rows = if sequence_output { chunk.rows() } else { n };
    let mut params = vec![0.0; L::PARAMS];
    layer.init(&mut params, &mut [], &mut Rng::new(seed, 1));
    let mut r = random_vec(out_rows * L::OUT, seed + 1);
    if sequence_output {
        for (i, &len) in lengths.iter().enumerate() {
            r[(i * chunk.steps + len) * L::OUT..(i + 1) * chunk.steps * L::OUT].fill(0.0);
        }
    }
    let initial = vec![0.0; n * L::STATE];
    let f = |p: &[f32], x: &[f32]| -> f64 {
        let probe = Chunk { lengths: chunk.lengths.clone(), steps: chunk.steps, x: x.to_vec() };
        let (y, _) = forward(&layer, p, &probe, &initial, mode, out_rows);
        y.iter().zip(&r).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum()
    };
    let (grads, dx) = gradients(&layer, &params, &chunk, &r, mode, out_rows);
    // Central differences; where a ReLU's kink lies within ±EPS the two one-sided quotients differ, and the
    // analytic gradient must then equal one of them (the derivative on one side of the kink).
    let check = |what: &str, i: usize, analytic: f32, at: &dyn Fn(f32) -> f64| {
        let close = |numeric: f64| (f64::from(analytic) - numeric).abs() <= 2e-3 + 2e-2 * numeric.abs();
        let (hi, mid, lo) = (at(EPS), at(0.0), at(-EPS));
        let (right, left) = ((hi - mid) / f64::from(EPS), (mid - lo) / f64::from(EPS));
        let central = (hi - lo) / f64::from(2.0 * EPS);
        let kink = (right - left).abs() > 5e-2 * (1.0 + central.abs());
        assert!(
            close(central) || (kink && (close(left) || close(right))),
            "{what}[{i}]: analytic {analytic}, numeric {central} (left {left}, right {right})"
        );
    };
    for i in 0..L::PARAMS {
        check("param", i, grads[i], &|e| {
            let mut p = params.clone();
            p[i] += e;
            f(&p, &chunk.x)
        });
    }
    for (s, &len) in lengths.iter().enumerate() {
        for t in 0..chunk.steps {
            for j in 0..L::IN {
                let i = (s * chunk.steps + t) * L::IN + j;
                if t >= len {
                    assert_eq!(dx[i], 0.0, "the gradient past a sample's end is zero");
                    continue;
                }
                check("input", i, dx[i], &|e| {
                    let mut x = chunk.x.clone();
                    x[i] += e;
                    f(&params, &x)
                });
            }
        }
    }
}

/// [`grad_check`] of a recurrent layer's sequence output in eval mode.
fn check<L: Layer>(layer: L, lengths: &[usize], seed: u64) {
    grad_check(layer, lengths, true, Mode::Eval, seed);
}

pub(in crate::layers) const EQUAL: &[usize] = &[3, 3];
pub(in crate::layers) const VARIABLE: &[usize] = &[4, 1, 3];

#[test]
fn rnn_gradients() {
    for (seed, lengths) in [(1, EQUAL), (2, VARIABLE)] {
        check(RNN::<3, 4, 1, 1, true>::new(0, 0.0, 0, RecurrentInit::PyTorch), lengths, seed);
        check(RNN::<3, 4, 2, 2, true>::new(0, 0.0, 0, RecurrentInit::PyTorch), lengths, seed);
        check(ReluRNN::<3, 4, 2, 1, false>::new(0, 0.0, 0, RecurrentInit::PyTorch), lengths, seed);
        check(ReluRNN::<2, 3, 1, 2, true>::new(0, 0.0, 0, RecurrentInit::Orthogonal), lengths, seed);
    }
}

#[test]
fn lstm_gradients() {
    for (seed, lengths) in [(3, EQUAL), (4, VARIABLE)] {
        check(LSTM::<3, 4, 1, 1, true>::new(0, 0.0, 0, RecurrentInit::PyTorch), lengths, seed);
        check(LSTM::<3, 3, 2, 2, true>::new(0, 0.0, 0, RecurrentInit::PyTorch), lengths, seed);
        check(LSTM::<2, 3, 1, 2, false>::new(0, 0.0, 0, RecurrentInit::Orthogonal), lengths, seed);
        check(LSTM::<3, 3, 2, 1, true>::new(0, 0.0, 0, RecurrentInit::PyTorch), lengths, seed);
    }
}

#[test]
fn gru_gradients() {
    for (seed, lengths) in [(5, EQUAL), (6, VARIABLE)] {
        check(GRU::<3, 4, 1, 1, true>::new(0, 0.0, 0, RecurrentInit::PyTorch), lengths, seed);
        check(GRU::<3, 3, 2, 2, true>::new(0, 0.0, 0, RecurrentInit::PyTorch), lengths, seed);
        check(GRU::<2, 3, 2, 1, false>::new(0, 0.0, 0, RecurrentInit::PyTorch), lengths, seed);
        check(GRU::<3, 3, 1, 2, true>::new(0, 0.0, 0, RecurrentInit::Orthogonal), lengths, seed);
    }
}

#[test]
fn dropout_between_stacked_layers_in_training() {
    // The masks are a function of the pass, so every evaluation of the difference quotient sees the same ones.
    grad_check(LSTM::<3, 4, 2, 2, true>::new(0, 0.4, 9, RecurrentInit::PyTorch), VARIABLE, true, Mode::Train, 7);
    grad_check(GRU::<3, 4, 3, 1, true>::new(0, 0.3, 9, RecurrentInit::PyTorch), EQUAL, true, Mode::Train, 8);
    // In eval mode there is no dropout: the output is that of a network without it.
    let chunk = Chunk::new(VARIABLE, 3, 1);
    let with = LSTM::<3, 4, 2, 1, true>::new(0, 0.5, 9, RecurrentInit::PyTorch);
    let without = LSTM::<3, 4, 2, 1, true>::new(0, 0.0, 9, RecurrentInit::PyTorch);
    let mut params = vec![0.0; <LSTM<3, 4, 2, 1, true> as Layer>::PARAMS];
    with.init(&mut params, &mut [], &mut Rng::new(1, 1));
    let zeros = vec![0.0; 3 * <LSTM<3, 4, 2, 1, true> as Layer>::STATE];
    let rows = chunk.rows();
    assert_eq!(
        forward(&with, &params, &chunk, &zeros, Mode::Eval, rows),
        forward(&without, &params, &chunk, &zeros, Mode::Eval, rows)
    );
    assert_ne!(
        forward(&with, &params, &chunk, &zeros, Mode::Train, rows).0,
        forward(&without, &params, &chunk, &zeros, Mode::Train, rows).0
    );
}

#[test]
fn reduction_gradients() {
    for (seed, lengths) in [(10, EQUAL), (11, VARIABLE)] {
        grad_check(Last::<5>::new(), lengths, false, Mode::Eval, seed);
        grad_check(MeanOverTime::<5>::new(), lengths, false, Mode::Eval, seed);
        grad_check(MaxOverTime::<5>::new(), lengths, false, Mode::Eval, seed);
        grad_check(FinalState::<3, 2>::new(), lengths, false, Mode::Eval, seed);
        grad_check(FinalState::<4, 1>::new(), lengths, false, Mode::Eval, seed);
    }
}

/// Longer than a block of steps ([`BLOCK`]): the input projections come a block at a time.
const LONG: &[usize] = &[70, 3, 131];

#[test]
fn gradients_through_blocks_of_steps() {
    check(LSTM::<2, 3, 2, 2, true>::new(0, 0.0, 0, RecurrentInit::PyTorch), LONG, 12);
    check(GRU::<2, 3, 1, 2, true>::new(0, 0.0, 0, RecurrentInit::PyTorch), LONG, 13);
    check(RNN::<2, 3, 1, 1, false>::new(0, 0.0, 0, RecurrentInit::PyTorch), LONG, 14);
}

/// The sequences `xs` (of `L::IN` values per step) as one chunk padded to the longest.
fn chunk_of<L: Layer>(xs: &[&[f32]]) -> Chunk {
    let lengths: Vec<usize> = xs.iter().map(|x| x.len() / L::IN).collect();
    let steps = lengths.iter().copied().max().unwrap();
    let mut x = vec![0.0; xs.len() * steps * L::IN];
    for (i, sample) in xs.iter().enumerate() {
        x[i * steps * L::IN..][..sample.len()].copy_from_slice(sample);
    }
    Chunk { lengths, steps, x }
}

/// Each sample's outputs and final state in a chunk of sequences longer than a block of steps (projections in
/// blocks) equal bit for bit its outputs beside one short partner (projections in one product, within a block),
/// and a pass without a backward pass after it gives the same bits as one with.
fn blocks_give_the_bits_of_one_product<L: Layer>(layer: L, seed: u64) {
    let mut params = vec![0.0; L::PARAMS];
    layer.init(&mut params, &mut [], &mut Rng::new(seed, 1));
    let samples: Vec<Vec<f32>> =
        [3, 64, 70, 131].iter().map(|&len| random_vec(len * L::IN, seed + len as u64)).collect();
    let partner = random_vec(2 * L::IN, seed);
    let together = chunk_of::<L>(&samples.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let initial = vec![0.0; samples.len() * L::STATE];
    let (y, end) = forward(&layer, &params, &together, &initial, Mode::Eval, together.rows());
    let pass = Pass { backward: false, ..together.pass(Mode::Eval) };
    let ran = run(&layer, &params, &together.x, together.rows(), &initial, &pass);
    assert!(ran.y == y && ran.state == end, "the same bits without a backward pass");
    for (i, sample) in samples.iter().enumerate() {
        let pair = chunk_of::<L>(&[sample, &partner]);
        let (y2, end2) = forward(&layer, &params, &pair, &initial[..2 * L::STATE], Mode::Eval, pair.rows());
        let rows = sample.len() / L::IN;
        assert!(y2[..rows * L::OUT] == y[i * together.steps * L::OUT..][..rows * L::OUT], "sample {i}'s outputs");
        assert!(end2[..L::STATE] == end[i * L::STATE..][..L::STATE], "sample {i}'s final state");
    }
}

#[test]
fn blocks_of_steps_give_the_bits_of_one_product() {
    blocks_give_the_bits_of_one_product(LSTM::<3, 5, 2, 2, true>::new(0, 0.0, 0, RecurrentInit::PyTorch), 20);
    blocks_give_the_bits_of_one_product(GRU::<3, 5, 1, 2, true>::new(0, 0.0, 0, RecurrentInit::PyTorch), 21);
    blocks_give_the_bits_of_one_product(ReluRNN::<3, 5, 2, 1, false>::new(0, 0.0, 0, RecurrentInit::PyTorch), 22);
}

#[test]
fn initial_states_are_read_and_final_states_written() {
    type Net = LSTM<2, 3, 2, 1, true>;
    let layer = Net::new(0, 0.0, 0, RecurrentInit::PyTorch);
    let mut params = vec![0.0; <Net as Layer>::PARAMS];
    layer.init(&mut params, &mut [], &mut Rng::new(2, 1));
    // Two halves of one sequence, the second started from the first's final state, equal the whole.
    let whole = Chunk::new(&[6], 2, 3);
    let first = Chunk { lengths: vec![3], steps: 3, x: whole.x[..6].to_vec() };
    let second = Chunk { lengths: vec![3], steps: 3, x: whole.x[6..].to_vec() };
    let zeros = vec![0.0; <Net as Layer>::STATE];
    let (y, end) = forward(&layer, &params, &whole, &zeros, Mode::Eval, 6);
    let (y1, middle) = forward(&layer, &params, &first, &zeros, Mode::Eval, 3);
    let (y2, end2) = forward(&layer, &params, &second, &middle, Mode::Eval, 3);
    let joined: Vec<f32> = y1.iter().chain(&y2).copied().collect();
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-6 * (1.0 + y.abs()));
    assert!(close(&joined, &y) && close(&end2, &end), "{joined:?} vs {y:?}");
}

#[test]
fn orthogonal_hidden_weights_have_orthonormal_columns() {
    type Net = LSTM<3, 5, 1, 1, true>;
    let layer = Net::new(0, 0.0, 0, RecurrentInit::Orthogonal);
    let mut params = vec![0.0; <Net as Layer>::PARAMS];
    layer.init(&mut params, &mut [], &mut Rng::new(3, 1));
    let w = layer.weight_hh(&params, 0, false);
    assert_eq!(w.len(), 20 * 5);
    for a in 0..5 {
        for b in 0..5 {
            let dot: f32 = (0..20).map(|r| w[r * 5 + a] * w[r * 5 + b]).sum();
            assert!((dot - if a == b { 1.0 } else { 0.0 }).abs() < 1e-5, "columns {a}, {b}: {dot}");
        }
    }
    let bound = 1.0 / 5f32.sqrt();
    assert!(layer.weight_ih(&params, 0, false).iter().all(|v| v.abs() <= bound));
}

/// One step of cell `C` through its kernel on every instruction set this CPU has, against the portable call, bit
/// for bit: the gate pass is the same arithmetic however it is vectorised (its multiply-adds rounded once on every
/// path), on
/// hidden sizes that fill whole vectors, leave tails, and saturate the gates (pre-activations up to ±40, ±∞, NaN).
fn same_on_every_instruction_set<C: Cell>() {
    for h in [1, 7, 8, 13, 32, 128] {
        let g = C::GATES * h;
        let scaled = |v: Vec<f32>, s: f32| v.into_iter().map(|x| x * s).collect::<Vec<f32>>();
        let mut p = scaled(random_vec(g, h as u64), 40.0);
        let q = scaled(random_vec(g, h as u64 + 1), 3.0);
        p[0] = f32::INFINITY;
        p[g - 1] = f32::NEG_INFINITY;
        if h > 2 {
            p[1] = f32::NAN;
        }
        let state = random_vec(C::STATES * h, h as u64 + 2);
        let (dh, h_prev) = (random_vec(h, h as u64 + 3), random_vec(h, h as u64 + 4));
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let run_forward = |isa: Option<crate::kernels::Isa>| {
            let (mut hidden, mut cell) = (state[..h].to_vec(), state[h..].to_vec());
            let mut saved = vec![0.0; C::SAVED * h];
            match isa {
                Some(isa) => isa.run(CellForward::<C> {
                    h,
                    p: &p,
                    q: &q,
                    hidden: &mut hidden,
                    cell: &mut cell,
                    saved: &mut saved,
                    kind: PhantomData,
                }),
                None => C::forward(h, &p, &q, &mut hidden, &mut cell, &mut saved),
            }
            (hidden, cell, saved)
        };
        let run_backward = |isa: Option<crate::kernels::Isa>, saved: &[f32]| {
            let mut dstate = random_vec(C::STATES * h, h as u64 + 5);
            let (mut dp, mut dh_prev) = (vec![0.0; g], vec![0.0; h]);
            let mut dq = vec![0.0; if C::FOLDS_HIDDEN_BIAS { 0 } else { g }];
            let step = StepBack {
                saved,
                h_prev: &h_prev,
                dh: &dh,
                dstate: &mut dstate,
                dp: &mut dp,
                dq: &mut dq,
                dh_prev: &mut dh_prev,
            };
            match isa {
                Some(isa) => isa.run(CellBackward::<C> { h, step, kind: PhantomData }),
                None => C::backward(h, step),
            }
            [dstate, dp, dq, dh_prev]
        };
        let (hidden, cell, saved) = run_forward(None);
        let back = run_backward(None, &saved);
        for isa in crate::kernels::Isa::supported() {
            let (h2, c2, s2) = run_forward(Some(isa));
            assert_eq!((bits(&h2), bits(&c2), bits(&s2)), (bits(&hidden), bits(&cell), bits(&saved)), "{}", isa.name());
            let b2 = run_backward(Some(isa), &saved);
            for (a, b) in b2.iter().zip(&back) {
                assert_eq!(bits(a), bits(b), "backward on {}", isa.name());
            }
        }
    }
}

#[test]
fn cells_compute_the_same_bits_on_every_instruction_set() {
    same_on_every_instruction_set::<RnnTanh>();
    same_on_every_instruction_set::<RnnRelu>();
    same_on_every_instruction_set::<LstmCell>();
    same_on_every_instruction_set::<GruCell>();
}
