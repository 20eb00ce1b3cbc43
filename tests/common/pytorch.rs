//! Reading the references `scripts/interop_reference.py` wrote with PyTorch into `tests/data/pytorch/`, and
//! comparing with them; included (`#[path]`) by the tests against PyTorch.
#![allow(dead_code)]

use nn::io::{load_weights, read_safetensors, Tensor};
use nn::prelude::*;
use nn::Example;
use std::collections::HashMap;
use std::path::Path;

/// The files of reference `name`: its data (input, output, d_output, `grad.*`).
pub fn data(name: &str) -> HashMap<String, Tensor> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pytorch");
    read_safetensors(&dir.join(format!("{name}.data.safetensors"))).unwrap().0
}

/// `name`'s state_dict loaded into a new `N`, in eval mode, as PyTorch ran it.
pub fn loaded<N: Network>(name: &str) -> N {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pytorch");
    let mut net = N::new(0);
    load_weights(&mut net, dir.join(format!("{name}.weights.safetensors"))).expect("PyTorch's state_dict loads");
    net.eval();
    net
}

pub fn close(what: &str, got: &[f32], want: &[f32], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= tolerance * (1.0 + w.abs()), "{what}[{i}]: {g} vs PyTorch's {w}");
    }
}

/// Checks `net`'s outputs on the reference's inputs (within 1e-5) and its parameter gradients of
/// `Σ output · d_output` (within 1e-4: PyTorch sums them in another order).
pub fn check<N: Network>(name: &str, net: &mut N, xs: &[N::Input]) {
    let data = data(name);
    let ys = net.predict(xs);
    let got: Vec<f32> = ys.iter().flat_map(|y| y.values().to_vec()).collect();
    close(&format!("{name} output"), &got, &data["output"].values, 1e-5);
    let d = &data["d_output"].values;
    let per = d.len() / xs.len();
    let d_outputs: Vec<N::Output> = (0..xs.len())
        .map(|i| {
            let mut y = ys[i].clone();
            y.values_mut().copy_from_slice(&d[i * per..(i + 1) * per]);
            y
        })
        .collect();
    let grads = net.backward(xs, &d_outputs, None).unwrap().to_vec();
    for t in N::TENSORS {
        let want = &data[&format!("grad.{}", t.name)].values;
        close(&format!("{name} grad.{}", t.name), &grads[t.offset..t.offset + t.len()], want, 1e-4);
    }
}
