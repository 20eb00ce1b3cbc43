//! Weight files: round trips, PyTorch-written files, and every mismatch reported at once.

mod common;

use common::{f32s, handmade, LeNet5};
use nn::io::{load_weights, save_weights};
use nn::prelude::*;
use nn::{Error, WeightProblem};

network! {
    struct Other {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 3> -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc1: Linear<1014, 120> -> ReLU -> head: Linear<120, 10>
    }

    struct Tiny {
        Input<3> -> fc: Linear<3, 2> -> ReLU -> out: Linear<2, 1, bias = false>
    }
}

#[test]
fn save_and_load_round_trip_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lenet.safetensors");
    let net = LeNet5::new(1);
    save_weights(&net, &path).unwrap();
    let mut other = LeNet5::new(2);
    assert_ne!(other.params.to_vec(), net.params.to_vec());
    load_weights(&mut other, &path).unwrap();
    assert_eq!(other.params.to_vec(), net.params.to_vec());
    let image = [[[0.3; 28]; 28]; 1];
    let mut original = LeNet5::new(1);
    assert_eq!(other.forward(&image), original.forward(&image));
}

#[test]
fn a_file_for_another_network_lists_every_problem_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.safetensors");
    save_weights(&Other::new(1), &path).unwrap();
    let mut net = LeNet5::new(1);
    let before = net.params.to_vec();
    let err = load_weights(&mut net, &path).unwrap_err();
    let Error::WeightFile { problems, .. } = &err else { panic!("{err:?}") };
    assert_eq!(
        problems,
        &[
            WeightProblem::Shape { name: "conv1.weight".into(), expected: vec![6, 1, 5, 5], found: vec![6, 1, 3, 3] },
            WeightProblem::Missing("conv2.weight".into()),
            WeightProblem::Missing("conv2.bias".into()),
            WeightProblem::Shape { name: "fc1.weight".into(), expected: vec![120, 256], found: vec![120, 1014] },
            WeightProblem::Missing("fc2.weight".into()),
            WeightProblem::Missing("fc2.bias".into()),
            WeightProblem::Missing("fc3.weight".into()),
            WeightProblem::Missing("fc3.bias".into()),
            WeightProblem::Unexpected("head.bias".into()),
            WeightProblem::Unexpected("head.weight".into()),
        ]
    );
    let text = err.to_string();
    assert!(text.contains("does not fit the network:\n  - tensor `conv1.weight` has shape [6, 1, 3, 3], the network needs [6, 1, 5, 5]\n  - missing tensor `conv2.weight`"), "{text}");
    assert_eq!(net.params.to_vec(), before);
}

#[test]
fn reads_a_pytorch_state_dict_file_with_its_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("torch.safetensors");
    // nn.Linear(3, 2).weight is [out, in] = [2, 3]; the second layer is stored in F64.
    let out_w: Vec<u8> = [0.5f64, -0.25].iter().flat_map(|x| x.to_le_bytes()).collect();
    let bytes = handmade(&[
        ("fc.bias", "F32", &[2], f32s(&[0.1, -0.2])),
        ("fc.weight", "F32", &[2, 3], f32s(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
        ("out.weight", "F64", &[1, 2], out_w),
    ]);
    std::fs::write(&path, bytes).unwrap();
    let mut net = Tiny::new(0);
    load_weights(&mut net, &path).unwrap();
    assert_eq!(net.fc.weight(&net.params), &[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    assert_eq!(net.fc.bias(&net.params), Some(&[0.1, -0.2]));
    // relu([1+2+3+0.1, 4+5+6−0.2]) · [0.5, −0.25] = 3.05 − 3.7
    assert!((net.forward(&[1.0, 1.0, 1.0])[0] - (3.05 - 3.7)).abs() < 1e-6);

    std::fs::write(&path, handmade(&[("fc.weight", "I64", &[2, 3], vec![0; 48])])).unwrap();
    let err = load_weights(&mut net, &path).unwrap_err().to_string();
    assert!(err.contains("tensor `fc.weight` is stored as I64; weights must be F32, F64, F16 or BF16"), "{err}");
    std::fs::write(&path, b"not a safetensors file").unwrap();
    let err = load_weights(&mut net, &path).unwrap_err().to_string();
    assert!(err.contains("not a safetensors file"), "{err}");
}

#[test]
fn saving_replaces_files_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    save_weights(&Tiny::new(1), &path).unwrap();
    save_weights(&Tiny::new(2), &path).unwrap();
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let mut net = Tiny::new(3);
    load_weights(&mut net, &path).unwrap();
    assert_eq!(net.params.to_vec(), Tiny::new(2).params.to_vec());
    let err = save_weights(&net, dir.path().join("missing-dir/w.safetensors")).unwrap_err();
    assert!(matches!(err, Error::Io { kind: std::io::ErrorKind::NotFound, .. }), "{err:?}");
}

#[test]
fn reads_half_precision_files_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("half.safetensors");
    // 1.0, -2.5, 0.099975586 (the f16 nearest 0.1) as F16; 0.5, -0.25 as BF16; the bias as F32.
    let f16 = |bits: &[u16]| bits.iter().flat_map(|b| b.to_le_bytes()).collect::<Vec<u8>>();
    let bytes = handmade(&[
        ("fc.bias", "F32", &[2], f32s(&[0.0, 0.0])),
        ("fc.weight", "F16", &[2, 3], f16(&[0x3c00, 0xc100, 0x2e66, 0x3c00, 0x3c00, 0x3c00])),
        ("out.weight", "BF16", &[1, 2], f16(&[0x3f00, 0xbe80])),
    ]);
    std::fs::write(&path, bytes).unwrap();
    let mut net = Tiny::new(0);
    load_weights(&mut net, &path).unwrap();
    assert_eq!(net.fc.weight(&net.params), &[[1.0, -2.5, 0.099975586], [1.0, 1.0, 1.0]]);
    assert_eq!(net.param("out.weight"), Some(&[0.5, -0.25][..]));
}

#[test]
fn weights_holding_nan_or_infinity_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nan.safetensors");
    let bytes = handmade(&[
        ("fc.bias", "F32", &[2], f32s(&[0.0, f32::INFINITY])),
        ("fc.weight", "F32", &[2, 3], f32s(&[1.0, 2.0, f32::NAN, 4.0, 5.0, 6.0])),
        ("out.weight", "F32", &[1, 2], f32s(&[0.5, -0.25])),
    ]);
    std::fs::write(&path, bytes).unwrap();
    let mut net = Tiny::new(0);
    let before = net.params.to_vec();
    let err = load_weights(&mut net, &path).unwrap_err();
    let Error::WeightFile { problems, .. } = &err else { panic!("{err:?}") };
    assert_eq!(
        problems,
        &[
            WeightProblem::NonFinite { name: "fc.weight".into(), index: 2 },
            WeightProblem::NonFinite { name: "fc.bias".into(), index: 1 }
        ]
    );
    assert_eq!(net.params.to_vec(), before);
}

#[test]
fn a_killed_writers_temporaries_are_removed_by_the_next_write_and_a_live_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ck.safetensors");
    // What a writer killed mid-write leaves: unlocked temporaries (27 of them were seen in one directory).
    for i in 0..27 {
        std::fs::write(dir.path().join(format!(".ck.safetensors.stale{i:02}.tmp")), vec![0u8; 1000]).unwrap();
    }
    // A writer still at work holds a lock on its temporary.
    let live = dir.path().join(".ck.safetensors.live00.tmp");
    let held = std::fs::File::create(&live).unwrap();
    held.lock().unwrap();
    // Someone else's files look alike but are not this path's temporaries.
    std::fs::write(dir.path().join(".other.safetensors.x.tmp"), b"keep").unwrap();
    save_weights(&Tiny::new(1), &path).unwrap();
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, [".ck.safetensors.live00.tmp", ".other.safetensors.x.tmp", "ck.safetensors"]);
    drop(held);
    save_weights(&Tiny::new(1), &path).unwrap();
    assert!(!live.exists(), "released, so stale: removed by the next write");
}

#[test]
fn threads_saving_the_same_path_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.safetensors");
    std::thread::scope(|s| {
        for seed in 0..4 {
            let path = &path;
            s.spawn(move || {
                let net = Tiny::new(seed);
                for _ in 0..25 {
                    save_weights(&net, path).expect("every save succeeds");
                }
            });
        }
    });
    let mut net = Tiny::new(9);
    load_weights(&mut net, &path).unwrap();
    assert!((0..4).any(|seed| Tiny::new(seed).params.to_vec() == net.params.to_vec()), "one writer's whole file");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporaries left");
}
