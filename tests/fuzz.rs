//! Fuzz tests of what `nn` reads back from disk: checkpoints with corrupted metadata and tensors, and weight
//! files of random bytes. Every input must give `Ok` or an `Err` — never a panic (in a debug build, where integer
//! overflow panics, as in a release build) and never a non-finite network.
//!
//! The default number of rounds keeps `cargo test` quick; a longer campaign sets `NN_FUZZ_ITERATIONS`:
//! `NN_FUZZ_ITERATIONS=200000 cargo test --test fuzz` (debug) and `… cargo test --release --test fuzz`. The data
//! readers' fuzz test (`nn-runtime`, `data::tests`) reads the same variable.

mod common;

use common::random_samples;
use nn::io::{read_safetensors, to_safetensors_typed, Stored};
use nn::prelude::*;
use nn::{Error, Rng};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

network! {
    struct Tiny {
        Input<3> -> fc: Linear<3, 4> -> bn: BatchNorm -> ReLU -> Dropout<0.2> -> out: Linear<4, 2>
    }
}

fn rounds(default: usize) -> usize {
    std::env::var("NN_FUZZ_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn data() -> Dataset<[f32; 3], usize> {
    Dataset::new(random_samples(10, -1.0, 1.0, 1), (0..10).map(|i| i % 2).collect()).unwrap()
}

fn config(path: &Path, epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 4,
        checkpoint: Some(path.to_path_buf()),
        resume: true,
        verbose: false,
        progress: false,
        ..Default::default()
    }
}

/// A checkpoint after two epochs of Adam: its tensors (name, shape, values, stored type) and metadata.
type Parts = (Vec<(String, Vec<usize>, Vec<f32>, Stored)>, HashMap<String, String>);

fn valid_checkpoint(dir: &Path) -> Parts {
    let path = dir.join("original.safetensors");
    let mut net = Tiny::new(3);
    let mut adam = Adam::new(AdamConfig::default());
    fit(&mut net, &mut adam, &CrossEntropy, &data(), None, &config(&path, 2)).unwrap();
    let (tensors, meta) = read_safetensors(&path).unwrap();
    let mut tensors: Vec<_> = tensors
        .into_iter()
        .map(|(name, t)| {
            let stored = if name.ends_with("num_batches_tracked") { Stored::I64 } else { Stored::F32 };
            (name, t.shape, t.values, stored)
        })
        .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    (tensors, meta)
}

fn write(path: &Path, (tensors, meta): &Parts) {
    let views = tensors.iter().map(|(n, s, v, t)| (n.as_str(), s.as_slice(), v.as_slice(), *t));
    std::fs::write(path, to_safetensors_typed(views, Some(meta.clone())).unwrap()).unwrap();
}

/// Resumes from `parts`; the outcome, or the panic message.
fn resume(dir: &Path, parts: &Parts) -> Result<nn::Result<Tiny>, String> {
    let path = dir.join("mutated.safetensors");
    write(&path, parts);
    catch_unwind(AssertUnwindSafe(|| {
        let mut net = Tiny::new(3);
        let mut adam = Adam::new(AdamConfig::default());
        fit(&mut net, &mut adam, &CrossEntropy, &data(), None, &config(&path, 3)).map(|_| net)
    }))
    .map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or(panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

fn field_error(result: Result<nn::Result<Tiny>, String>) -> String {
    match result {
        Ok(Err(Error::Checkpoint { field, .. })) => field,
        Ok(Err(other)) => panic!("expected a checkpoint error, got {other}"),
        Ok(Ok(_)) => panic!("the corrupt checkpoint was accepted"),
        Err(panic) => panic!("panicked: {panic}"),
    }
}

#[test]
fn corrupt_metadata_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let original = valid_checkpoint(dir.path());
    for value in ["18446744073709551615", "1e300", "-3", "NaN", "0", "2.0", "3", ""] {
        let mut parts = original.clone();
        parts.1.insert("epoch".into(), value.into());
        assert_eq!(field_error(resume(dir.path(), &parts)), "epoch", "epoch = {value}");
    }
    for (key, value) in [
        ("optimizer.step", "1e300"),
        ("optimizer.step", "18446744073709551616"),
        ("optimizer.step", "-1"),
        ("optimizer.step", "2.5"),
        ("random_step", "-1"),
        ("random_seed", "1e3"),
        ("base_lr", "inf"),
        ("base_lr", "-0.1"),
        ("first_loss", "NaN"),
        ("history", "1 0.001 0.7 - - - 0.1\n3 0.001 0.6 - - - 0.1"),
        ("history", "1 0.001 0.7 - - - 0.1\n2 0.001 0.6 1.5 - - 0.1"),
        ("format", "nn-checkpoint-1"),
    ] {
        let mut parts = original.clone();
        parts.1.insert(key.into(), value.into());
        let field = field_error(resume(dir.path(), &parts));
        let expected = if key.starts_with("optimizer.") { "optimizer" } else { key };
        assert_eq!(field, expected, "{key} = {value}");
    }
    let mut parts = original.clone();
    parts.1.remove("random_seed");
    assert_eq!(field_error(resume(dir.path(), &parts)), "random_seed");
}

#[test]
fn the_largest_random_state_step_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let mut parts = valid_checkpoint(dir.path());
    parts.1.insert("random_step".into(), u64::MAX.to_string());
    let net = resume(dir.path(), &parts).expect("no panic").expect("a valid counter");
    assert!(net.params.iter().all(|v| v.is_finite()));
    assert_eq!(net.random_state().0, 3);
}

#[test]
fn corrupt_tensors_are_reported_before_anything_changes() {
    let dir = tempfile::tempdir().unwrap();
    let original = valid_checkpoint(dir.path());
    let index = |parts: &Parts, name: &str| parts.0.iter().position(|t| t.0 == name).unwrap();

    let mut short = original.clone();
    let at = index(&short, "optimizer.exp_avg");
    short.0[at].2.pop();
    short.0[at].1 = vec![short.0[at].2.len()];
    assert_eq!(field_error(resume(dir.path(), &short)), "optimizer.exp_avg");

    let mut negative = original.clone();
    let at = index(&negative, "optimizer.exp_avg_sq");
    negative.0[at].2[0] = -1.0;
    assert_eq!(field_error(resume(dir.path(), &negative)), "optimizer");

    let mut nan = original.clone();
    let at = index(&nan, "model.fc.weight");
    nan.0[at].2[5] = f32::NAN;
    match resume(dir.path(), &nan) {
        Ok(Err(Error::WeightFile { problems, .. })) => {
            assert_eq!(problems, vec![nn::WeightProblem::NonFinite { name: "fc.weight".into(), index: 5 }])
        }
        other => panic!("expected a weight-file error, got {:?}", other.map(|r| r.map(|_| ()))),
    }

    let mut stranger = original.clone();
    stranger.0.push(("extra".into(), vec![1], vec![0.0], Stored::F32));
    assert_eq!(field_error(resume(dir.path(), &stranger)), "extra");
}

/// Values a corrupted or hand-edited metadata field might hold.
const NASTY: &[&str] = &[
    "",
    "0",
    "1",
    "2",
    "3",
    "-0",
    "-1",
    "-3",
    "1.5",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "1e300",
    "1e-300",
    "2147483646",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "18446744073709551615",
    "18446744073709551616",
    "340282350000000000000000000000000000000",
    "0x10",
    " 1",
    "1 ",
    "-",
    "adam",
    "sgd",
    "nn-checkpoint-2",
    "1 0.001 0.5 - - - 0.1",
    "1 0.001 0.5 - - - 0.1\n2 0.001 0.4 - - - 0.1",
    "1 0.001 0.5 - - - 0.1\n2 0.001 0.4 - - -",
    "1 1e300 0.5 - - - 0.1\n2 0.001 0.4 - - - 0.1",
    "2 0.001 0.5 - - - 0.1\n1 0.001 0.4 - - - 0.1",
];

fn random_text(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => (0..rng.below(12)).map(|_| char::from(b' ' + rng.below(95) as u8)).collect(),
        1 => (rng.below(u32::MAX as usize) as u64 * rng.below(u32::MAX as usize) as u64).to_string(),
        2 => format!("{}", f64::from(rng.uniform(-1.0, 1.0)) * 10f64.powi(rng.below(80) as i32 - 20)),
        _ => NASTY[rng.below(NASTY.len())].to_string(),
    }
}

#[test]
fn checkpoint_metadata_fuzz_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let original = valid_checkpoint(dir.path());
    let keys: Vec<String> = original.1.keys().cloned().collect();
    let mut rng = Rng::new(20261127, 0);
    let (mut accepted, mut rejected) = (0, 0);
    for round in 0..rounds(300) {
        let mut parts = original.clone();
        for _ in 0..1 + rng.below(3) {
            match rng.below(10) {
                0 => {
                    parts.1.remove(&keys[rng.below(keys.len())]);
                }
                1 => {
                    parts.1.insert(format!("optimizer.{}", random_text(&mut rng)), random_text(&mut rng));
                }
                2 => {
                    // A tensor of another length, or holding a NaN or a huge value.
                    let t = rng.below(parts.0.len());
                    let len = parts.0[t].2.len();
                    match rng.below(3) {
                        _ if len == 0 => {}
                        0 => parts.0[t].2.truncate(rng.below(len + 1)),
                        1 => parts.0[t].2[rng.below(len)] = f32::NAN,
                        _ => parts.0[t].2[rng.below(len)] = 3e38,
                    }
                    parts.0[t].1 =
                        if parts.0[t].1.len() == 1 { vec![parts.0[t].2.len()] } else { parts.0[t].1.clone() };
                    if parts.0[t].1.iter().product::<usize>() != parts.0[t].2.len() {
                        parts.0[t].1 = vec![parts.0[t].2.len()];
                    }
                }
                _ => {
                    parts.1.insert(keys[rng.below(keys.len())].clone(), random_text(&mut rng));
                }
            }
        }
        match resume(dir.path(), &parts) {
            Err(panic) => panic!("round {round}: panicked on {:?}: {panic}", parts.1),
            Ok(Ok(net)) => {
                assert!(net.params.iter().all(|v| v.is_finite()), "round {round}: non-finite parameters accepted");
                accepted += 1;
            }
            Ok(Err(_)) => rejected += 1,
        }
    }
    eprintln!("checkpoint fuzz: {accepted} accepted, {rejected} rejected");
    assert!(rejected > 0);
}

#[test]
fn weight_file_fuzz_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let net = Tiny::new(1);
    save_weights(&net, &path).unwrap();
    let valid = std::fs::read(&path).unwrap();
    let mut rng = Rng::new(7, 1);
    for round in 0..rounds(300) {
        let mut bytes = valid.clone();
        match rng.below(3) {
            0 => bytes.truncate(rng.below(bytes.len() + 1)),
            1 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(bytes.len());
                    bytes[i] = rng.below(256) as u8;
                }
            }
            _ => bytes = (0..rng.below(200)).map(|_| rng.below(256) as u8).collect(),
        }
        std::fs::write(&path, &bytes).unwrap();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let mut net = Tiny::new(1);
            load_weights(&mut net, &path).map(|()| net)
        }));
        match outcome {
            Err(_) => panic!("round {round}: load_weights panicked"),
            Ok(Ok(net)) => assert!(net.params.iter().all(|v| v.is_finite())),
            Ok(Err(_)) => {}
        }
    }
}
