//! Compile-time errors of `network!`, each against its exact message (`tests/ui/<kind>/<case>.stderr`).
//!
//! The `.stderr` files were written by `TRYBUILD=overwrite cargo test --test ui` and reviewed by hand. They hold
//! rustc's rendering, which changes between compiler releases, so they are compared only on the release that made
//! them ([`SNAPSHOT_RUSTC`]). On another release every case must still fail to compile, but its text is not
//! compared: the cases are copied without their snapshots and the test prints that it did so.

use nn::prelude::*;
use std::path::Path;

/// The compiler release the `.stderr` snapshots come from.
const SNAPSHOT_RUSTC: &str = "rustc 1.95.";

network! {
    struct LeNet5 {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc1: Linear<256, 120> -> ReLU -> fc2: Linear<120, 84> -> ReLU -> fc3: Linear<84, 10>
    }
}

/// Writes the weights files the `tests/ui/weights` cases embed, each LeNet-5's with one defect, into the crate
/// trybuild compiles them in (`#[weights]` paths are relative to its `Cargo.toml`).
/// A tensor as a fixture stores it: shape, element type, bytes.
type Stored = (Vec<usize>, safetensors::Dtype, Vec<u8>);
/// What a fixture does with one of LeNet-5's tensors (`None`: leaves it out).
type Edit = dyn Fn(&str, Vec<usize>, &[f32]) -> Option<Stored>;

fn write_weight_fixtures() {
    use safetensors::{tensor::TensorView, Dtype};
    let project = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../tests/trybuild/nn-dsl/models");
    std::fs::create_dir_all(&project).expect("writable target dir");
    let net = LeNet5::new(1);
    let tensors = || LeNet5::TENSORS.iter().map(|t| (t.name.to_string(), t.shape.to_vec(), net.param(t.name).unwrap()));
    fn f32s(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }
    let write = |file: &str, entries: Vec<(String, Vec<usize>, Dtype, Vec<u8>)>| {
        let views: Vec<(String, TensorView<'_>)> = entries
            .iter()
            .map(|(name, shape, dtype, bytes)| (name.clone(), TensorView::new(*dtype, shape.clone(), bytes).unwrap()))
            .collect();
        std::fs::write(project.join(file), safetensors::serialize(views, None).unwrap()).unwrap();
    };
    let case = |edit: &Edit| {
        tensors()
            .filter_map(|(name, shape, values)| edit(&name, shape, values).map(|(s, d, b)| (name, s, d, b)))
            .collect()
    };
    write(
        "wrong_shape.safetensors",
        case(&|name, shape, v| {
            Some(if name == "fc1.weight" {
                (vec![120, 400], Dtype::F32, f32s(&vec![0.5; 48_000]))
            } else {
                (shape, Dtype::F32, f32s(v))
            })
        }),
    );
    write(
        "missing_tensor.safetensors",
        case(&|name, shape, v| (name != "fc3.bias").then(|| (shape, Dtype::F32, f32s(v)))),
    );
    let mut unknown: Vec<_> = case(&|_, shape, v| Some((shape, Dtype::F32, f32s(v))));
    unknown.push(("fc4.weight".into(), vec![10, 10], Dtype::F32, f32s(&[0.0; 100])));
    unknown.push(("classifier.bias".into(), vec![10], Dtype::F32, f32s(&[0.0; 10])));
    write("unknown_tensor.safetensors", unknown);
    write(
        "wrong_dtype.safetensors",
        case(&|name, shape, v| {
            Some(if name == "fc2.weight" {
                (shape, Dtype::F64, v.iter().flat_map(|&x| f64::from(x).to_le_bytes()).collect())
            } else {
                (shape, Dtype::F32, f32s(v))
            })
        }),
    );
}

#[test]
fn compile_errors() {
    write_weight_fixtures();
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let cases = trybuild::TestCases::new();
    if version.starts_with(SNAPSHOT_RUSTC) {
        cases.compile_fail("tests/ui/*/*.rs");
        return;
    }
    eprintln!(
        "tests/ui: the snapshots were made with {SNAPSHOT_RUSTC}x and this is {}: checking that every case fails \
         to compile, without comparing messages",
        version.trim()
    );
    let copy = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-unpinned");
    let _ = std::fs::remove_dir_all(&copy);
    for kind in std::fs::read_dir("tests/ui").expect("tests/ui exists") {
        let kind = kind.expect("readable").path();
        let target = copy.join(kind.file_name().expect("a directory name"));
        std::fs::create_dir_all(&target).expect("writable target dir");
        for case in std::fs::read_dir(&kind).expect("readable") {
            let case = case.expect("readable").path();
            if case.extension().is_some_and(|e| e == "rs") {
                std::fs::copy(&case, target.join(case.file_name().expect("a file name"))).expect("copied");
            }
        }
    }
    // Without a snapshot, `overwrite` makes trybuild record the new message instead of failing on its absence.
    std::env::set_var("TRYBUILD", "overwrite");
    cases.compile_fail(copy.join("*/*.rs"));
}
