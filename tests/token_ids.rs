//! Token ids out of the vocabulary are errors naming the sample, the position and the id — from every batch method
//! before any work, from `fit` and `evaluate` before the first epoch — and panics at the caller's line from the
//! convenience forms; never a wrong row. Ids have no gradient.

use nn::prelude::*;
use nn::Error;

network! {
    /// One id per sample.
    struct OneToken { Input<Tokens<10>> -> emb: Embedding<10, 4> -> out: Linear<4, 3> }

    /// Five ids per sample, a class per sample.
    struct FiveTokens { Input<Seq<5>, Tokens<10>> -> emb: Embedding<10, 4> -> MeanOverTime -> out: Linear<4, 3> }

    /// Any number of ids, a class per id.
    struct AnyTokens { Input<Seq, Tokens<10>> -> emb: Embedding<10, 4> -> ln: LayerNorm<4> -> out: Linear<4, 3> }
}

fn quiet() -> TrainConfig {
    TrainConfig { epochs: 1, batch_size: 8, verbose: false, progress: false, ..Default::default() }
}

#[test]
fn an_id_out_of_range_anywhere_in_a_batch_changes_nothing() {
    let mut net = FiveTokens::new(1);
    let mut xs: Vec<[u32; 5]> = (0..40).map(|i| [i % 10, 1, 2, 3, 4]).collect();
    xs[37][3] = 10;
    let labels: Vec<usize> = (0..40).map(|i| i % 3).collect();
    let before = net.params().to_vec();
    let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..Default::default() });
    let err = net.try_train_step(&xs, &labels, &CrossEntropy, &mut sgd).unwrap_err();
    assert_eq!(err, Error::TokenOutOfRange { index: 37, position: 3, token: 10, vocab: 10 });
    assert!(err.to_string().contains("sample 37"), "{err}");
    assert_eq!(net.params(), before.as_slice(), "no update");
    let mut ys = vec![[0.0; 3]; 40];
    assert!(matches!(net.try_forward_batch(&xs, &mut ys), Err(Error::TokenOutOfRange { index: 37, .. })));
    let mut ws = net.workspace();
    assert!(matches!(net.forward_batch_with(&mut ws, &xs, &mut ys), Err(Error::TokenOutOfRange { index: 37, .. })));
    xs[37][3] = 9;
    assert!(net.try_train_step(&xs, &labels, &CrossEntropy, &mut sgd).is_ok());
}

#[test]
fn single_ids_and_sequences_of_any_length_are_checked_too() {
    let mut one = OneToken::new(2);
    let mut ys = vec![[0.0; 3]; 3];
    let err = one.try_forward_batch(&[0, 9, u32::MAX], &mut ys).unwrap_err();
    assert_eq!(err, Error::TokenOutOfRange { index: 2, position: 0, token: u32::MAX, vocab: 10 });
    let mut any = AnyTokens::new(3);
    let xs = vec![vec![1, 2, 3], vec![4; 70], vec![5, 11]];
    let mut ys = vec![Vec::new(); 3];
    let err = any.try_forward_batch(&xs, &mut ys).unwrap_err();
    assert_eq!(err, Error::TokenOutOfRange { index: 2, position: 1, token: 11, vocab: 10 });
}

#[test]
fn the_convenience_forms_panic_with_the_message() {
    let panic = std::panic::catch_unwind(|| {
        let mut net = OneToken::new(4);
        net.forward(&10)
    })
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("token") && message.contains("10"), "{message}");
}

#[test]
fn fit_and_evaluate_refuse_bad_ids_before_the_first_epoch() {
    let xs: Vec<Vec<u32>> = (0..20).map(|i| vec![i % 10; 1 + i as usize % 4]).collect();
    let targets: Vec<Vec<usize>> = xs.iter().map(|x| vec![1; x.len()]).collect();
    let good = Dataset::new(xs.clone(), targets.clone()).unwrap();
    let mut bad_xs = xs;
    bad_xs[13] = vec![1, 2, 12];
    let bad = Dataset::new(bad_xs, targets).unwrap();
    let mut net = AnyTokens::new(5);
    let before = net.params().to_vec();
    let mut adam = Adam::new(AdamConfig::default());
    let expected = Error::TokenOutOfRange { index: 13, position: 2, token: 12, vocab: 10 };
    assert_eq!(fit(&mut net, &mut adam, &CrossEntropy, &bad, None, &quiet()).unwrap_err(), expected);
    assert_eq!(fit(&mut net, &mut adam, &CrossEntropy, &good, Some(&bad), &quiet()).unwrap_err(), expected);
    assert_eq!(net.params(), before.as_slice(), "not trained");
    assert_eq!(evaluate(&mut net, &bad, &CrossEntropy).unwrap_err(), expected);
    assert!(fit(&mut net, &mut adam, &CrossEntropy, &good, Some(&good), &quiet()).is_ok());
}

#[test]
fn ids_have_no_gradient() {
    let mut net = FiveTokens::new(6);
    let xs = [[1, 2, 3, 4, 5]];
    let mut d_inputs = [[0; 5]];
    let err = net.backward(&xs, &[[1.0; 3]], Some(&mut d_inputs)).unwrap_err();
    assert!(matches!(err, Error::InvalidSetting { name: "d_inputs", .. }), "{err}");
    assert!(net.backward(&xs, &[[1.0; 3]], None).is_ok());
}
