//! Truncated backpropagation through time: windows of `k` steps, the state carried across, the gradient cut at
//! each window's start.

mod common;

use common::{derivative_ok, sequences, EPS};
use nn::prelude::*;
use nn::Error;

network! {
    /// Many to many: a class per step.
    struct Tagger {
        Input<Seq, 3> -> lstm: LSTM<3, 6, layers = 2> -> Dropout<0.2> -> out: Linear<6, 3>
    }

    /// Many to one: a class per sequence.
    struct Reader {
        Input<Seq, 3> -> gru: GRU<3, 5> -> Last -> fc: Linear<5, 2>
    }

    /// Sequences of exactly 6 steps.
    struct Fixed {
        Input<Seq<6>, 3> -> rnn: RNN<3, 4> -> Last -> fc: Linear<4, 2>
    }

    struct Flat {
        Input<3> -> fc: Linear<3, 2>
    }

    /// A bidirectional layer under a unidirectional one.
    struct BiReader {
        Input<Seq, 3> -> lstm: LSTM<3, 5, bidirectional = true> -> FinalState -> fc: Linear<10, 2>
    }
}

/// 20 sequences of 1 to 11 steps, a class per step (the sign pattern of the running sum).
fn tagging() -> Dataset<Vec<[f32; 3]>, Vec<usize>> {
    let lengths: Vec<usize> = (0..20).map(|i| 1 + (i * 5) % 11).collect();
    let xs = sequences::<3>(&lengths, 1);
    let ts = xs
        .iter()
        .map(|x| {
            x.iter()
                .scan(0.0, |s, v| {
                    *s += v[0];
                    Some(usize::from(*s > 0.0) + usize::from(*s > 1.0))
                })
                .collect()
        })
        .collect();
    Dataset::new(xs, ts).unwrap()
}

/// The same sequences, a class per sequence.
fn reading() -> Dataset<Vec<[f32; 3]>, usize> {
    let data = tagging();
    let ts = data.inputs.iter().map(|x| usize::from(x.iter().map(|v| v[1]).sum::<f32>() > 0.0)).collect();
    Dataset::new(data.inputs.clone(), ts).unwrap()
}

fn config(tbptt: Option<usize>) -> TrainConfig {
    TrainConfig {
        epochs: 2,
        batch_size: 8,
        shuffle: None,
        verbose: false,
        progress: false,
        tbptt,
        ..TrainConfig::default()
    }
}

fn sgd() -> Sgd {
    Sgd::new(SgdConfig { lr: 0.05, momentum: 0.9, ..SgdConfig::default() })
}

#[test]
fn windows_as_long_as_the_longest_sequence_are_whole_sequence_bptt_bit_for_bit() {
    let data = tagging();
    let mut whole = Tagger::new(1);
    let mut windowed = Tagger::new(1);
    let a = fit(&mut whole, &mut sgd(), &CrossEntropy, &data, None, &config(None)).unwrap();
    let b = fit(&mut windowed, &mut sgd(), &CrossEntropy, &data, None, &config(Some(11))).unwrap();
    assert_eq!(whole.params.to_vec(), windowed.params.to_vec());
    assert_eq!(
        a.epochs.iter().map(|e| e.train_loss).collect::<Vec<_>>(),
        b.epochs.iter().map(|e| e.train_loss).collect::<Vec<_>>()
    );
    let data = reading();
    let mut whole = Reader::new(2);
    let mut windowed = Reader::new(2);
    fit(&mut whole, &mut sgd(), &CrossEntropy, &data, None, &config(None)).unwrap();
    fit(&mut windowed, &mut sgd(), &CrossEntropy, &data, None, &config(Some(50))).unwrap();
    assert_eq!(whole.params.to_vec(), windowed.params.to_vec());
}

/// Steps `start..start + k` of `x`, if it has any.
fn window<T: Clone>(x: &[T], start: usize, k: usize) -> Option<Vec<T>> {
    (x.len() > start).then(|| x[start..x.len().min(start + k)].to_vec())
}

#[test]
fn short_windows_train_as_a_window_by_window_loop_written_out() {
    let (k, data) = (3, tagging());
    let mut net = Tagger::new(3);
    fit(&mut net, &mut sgd(), &CrossEntropy, &data, None, &config(Some(k))).unwrap();
    // The same by hand: per batch, per window, the samples still running, their states carried.
    let mut by_hand = Tagger::new(3);
    let mut opt = sgd();
    by_hand.train();
    for _epoch in 0..2 {
        for (xs, ts) in data.inputs.chunks(8).zip(data.targets.chunks(8)) {
            let mut states = vec![by_hand.initial_state(); xs.len()];
            let longest = xs.iter().map(Vec::len).max().unwrap();
            for start in (0..longest).step_by(k) {
                let running: Vec<usize> = (0..xs.len()).filter(|&i| xs[i].len() > start).collect();
                let wx: Vec<_> = running.iter().map(|&i| window(&xs[i], start, k).unwrap()).collect();
                let wt: Vec<_> = running.iter().map(|&i| window(&ts[i], start, k).unwrap()).collect();
                let initial: Vec<_> = running.iter().map(|&i| states[i]).collect();
                let mut finals = initial.clone();
                by_hand.loss_and_grad_states(&wx, Some(&initial), &wt, &CrossEntropy, Some(&mut finals)).unwrap();
                let parts = by_hand.parts_mut();
                opt.step(parts.params, parts.grads);
                for (&i, s) in running.iter().zip(finals) {
                    states[i] = s;
                }
            }
        }
    }
    assert_eq!(net.params.to_vec(), by_hand.params.to_vec());
}

#[test]
fn a_sequence_to_one_loss_belongs_to_the_window_its_sequence_ends_in() {
    let (k, data) = (4, reading());
    let mut net = Reader::new(4);
    fit(&mut net, &mut sgd(), &CrossEntropy, &data, None, &config(Some(k))).unwrap();
    let mut by_hand = Reader::new(4);
    let mut opt = sgd();
    by_hand.train();
    for _epoch in 0..2 {
        for (xs, ts) in data.inputs.chunks(8).zip(data.targets.chunks(8)) {
            let mut states = vec![by_hand.initial_state(); xs.len()];
            let longest = xs.iter().map(Vec::len).max().unwrap();
            for start in (0..longest).step_by(k) {
                let (ending, running): (Vec<usize>, Vec<usize>) =
                    (0..xs.len()).filter(|&i| xs[i].len() > start).partition(|&i| xs[i].len() <= start + k);
                if !running.is_empty() {
                    let wx: Vec<_> = running.iter().map(|&i| window(&xs[i], start, k).unwrap()).collect();
                    let initial: Vec<_> = running.iter().map(|&i| states[i]).collect();
                    let (mut ys, mut finals) = (vec![[0.0; 2]; running.len()], initial.clone());
                    by_hand.forward_states(&wx, Some(&initial), &mut ys, Some(&mut finals)).unwrap();
                    running.iter().zip(finals).for_each(|(&i, s)| states[i] = s);
                }
                if !ending.is_empty() {
                    let wx: Vec<_> = ending.iter().map(|&i| window(&xs[i], start, k).unwrap()).collect();
                    let wt: Vec<usize> = ending.iter().map(|&i| ts[i]).collect();
                    let initial: Vec<_> = ending.iter().map(|&i| states[i]).collect();
                    by_hand.loss_and_grad_states(&wx, Some(&initial), &wt, &CrossEntropy, None).unwrap();
                    let parts = by_hand.parts_mut();
                    opt.step(parts.params, parts.grads);
                }
            }
        }
    }
    assert_eq!(net.params.to_vec(), by_hand.params.to_vec());
}

#[test]
fn a_windows_gradient_is_the_derivative_of_its_loss_from_the_carried_state() {
    let mut net = Tagger::new(5);
    net.train();
    let xs = sequences::<3>(&[7, 5, 9], 6);
    let ts: Vec<Vec<usize>> = xs.iter().map(|x| (0..x.len()).map(|t| t % 3).collect()).collect();
    // The state after the first window of 3 steps, held fixed: the gradient stops there.
    let first: Vec<_> = xs.iter().map(|x| x[..3].to_vec()).collect();
    let mut states = vec![net.initial_state(); 3];
    let mut ys = vec![Vec::new(); 3];
    net.forward_states(&first, None, &mut ys, Some(&mut states)).unwrap();
    // The second window: the sample of 5 steps has only 2 left.
    let second: Vec<_> = xs.iter().map(|x| window(x, 3, 3).unwrap()).collect();
    let targets: Vec<_> = ts.iter().map(|t| window(t, 3, 3).unwrap()).collect();
    let (seed, step) = net.random_state();
    let loss = |net: &mut Tagger| {
        net.set_random_state(seed, step);
        f64::from(net.loss_and_grad_states(&second, Some(&states), &targets, &CrossEntropy, None).unwrap())
    };
    let mid = loss(&mut net);
    let grads = net.grads().to_vec();
    for (i, &analytic) in grads.iter().enumerate() {
        let original = net.params()[i];
        net.params_mut()[i] = original + EPS;
        let hi = loss(&mut net);
        net.params_mut()[i] = original - EPS;
        let lo = loss(&mut net);
        net.params_mut()[i] = original;
        let numeric = (hi - lo) / (2.0 * f64::from(EPS));
        assert!(derivative_ok(analytic, lo, mid, hi), "parameter {i}: {analytic} vs {numeric}");
    }
}

#[test]
fn windows_that_cannot_be_cut_are_refused_before_training() {
    let data = tagging();
    let err = fit(&mut Tagger::new(1), &mut sgd(), &CrossEntropy, &data, None, &config(Some(0))).unwrap_err();
    assert!(matches!(err, Error::InvalidSetting { name: "tbptt", .. }), "{err}");
    let flat = Dataset::new(vec![[0.0f32; 3]; 4], vec![0usize; 4]).unwrap();
    let err = fit(&mut Flat::new(1), &mut sgd(), &CrossEntropy, &flat, None, &config(Some(2))).unwrap_err();
    assert!(err.to_string().contains("not a sequence"), "{err}");
    let fixed = Dataset::new(vec![[[0.5f32; 3]; 6]; 4], vec![1usize; 4]).unwrap();
    let err = fit(&mut Fixed::new(1), &mut sgd(), &CrossEntropy, &fixed, None, &config(Some(2))).unwrap_err();
    assert!(err.to_string().contains("exactly 6 steps") && err.to_string().contains("Input<Seq, 3>"), "{err}");
    // Windows of the whole length are whole-sequence training.
    fit(&mut Fixed::new(1), &mut sgd(), &CrossEntropy, &fixed, None, &config(Some(6))).unwrap();
}

#[test]
fn windows_over_a_bidirectional_layer_are_refused_before_training() {
    let data = reading();
    let mut net = BiReader::new(3);
    let before = net.params.to_vec();
    let err = fit(&mut net, &mut sgd(), &CrossEntropy, &data, None, &config(Some(2))).unwrap_err();
    assert!(matches!(err, Error::InvalidSetting { name: "tbptt", .. }), "{err}");
    assert!(err.to_string().contains("`lstm` is bidirectional"), "{err}");
    assert_eq!(net.params.to_vec(), before, "nothing trained");
    // On whole sequences it trains.
    fit(&mut net, &mut sgd(), &CrossEntropy, &data, None, &config(None)).unwrap();
}

#[test]
fn training_in_windows_resumes_exactly_from_a_checkpoint_and_evaluates_per_step() {
    let data = tagging();
    let dir = tempfile::tempdir().unwrap();
    let config = |epochs, file: &str| TrainConfig {
        epochs,
        checkpoint: Some(dir.path().join(file)),
        resume: true,
        shuffle: Some(4),
        ..config(Some(4))
    };
    let mut straight = Tagger::new(6);
    let full = fit(
        &mut straight,
        &mut Adam::new(AdamConfig::default()),
        &CrossEntropy,
        &data,
        Some(&data),
        &config(3, "a.ckpt"),
    )
    .unwrap();
    let mut first = Tagger::new(6);
    fit(&mut first, &mut Adam::new(AdamConfig::default()), &CrossEntropy, &data, Some(&data), &config(1, "b.ckpt"))
        .unwrap();
    let mut resumed = Tagger::new(99);
    let rest = fit(
        &mut resumed,
        &mut Adam::new(AdamConfig::default()),
        &CrossEntropy,
        &data,
        Some(&data),
        &config(3, "b.ckpt"),
    )
    .unwrap();
    assert_eq!(rest.resumed_epochs, 1);
    assert_eq!(resumed.params.to_vec(), straight.params.to_vec(), "bit-identical parameters after resuming");
    // Validation accuracy is per step: the hits over every valid step of every sequence.
    let ys = straight.predict(&data.inputs);
    let (mut hits, mut steps) = (0, 0);
    for (y, t) in ys.iter().zip(&data.targets) {
        for (row, &class) in y.iter().zip(t) {
            hits += usize::from(nn::predicted_class(row) == Some(class));
            steps += 1;
        }
    }
    let accuracy = full.epochs.last().unwrap().valid_accuracy.unwrap();
    assert_eq!(accuracy, hits as f32 / steps as f32);
}
