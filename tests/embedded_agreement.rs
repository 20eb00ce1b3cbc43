//! `examples/embedded`, the `#![no_std]` LeNet-5 built against `nn` without `std`, agrees with the `std`
//! network on every image of the shipped MNIST sample. The `no_std` crate is built by cargo in its own workspace
//! (so that `nn`'s features are not unified with this crate's) and run through its `classify_stdin` binary.

#[path = "common/pretrained.rs"]
mod pretrained;

use nn::prelude::*;
use pretrained::{BnNet, BranchNet, LeNet5, SeqNet, TinyGpt};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// `cargo run` of a binary of the `no_std` crate, in its own workspace and target directory, with `stdin`.
fn run_embedded(bin: &str, stdin: &[u8]) -> String {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../embedded");
    let mut child = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--manifest-path", "examples/embedded/Cargo.toml", "--bin", bin])
        .env("CARGO_TARGET_DIR", &target)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cargo runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the no_std crate builds and runs");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn no_std_crate_agrees_with_the_std_network_on_the_mnist_sample() {
    let (_, test) = load_mnist::<[[[f32; 28]; 28]; 1]>(Path::new("data/mnist-sample")).unwrap();
    let pixels: Vec<u8> =
        test.inputs.iter().flat_map(|x| x.as_flattened().as_flattened()).flat_map(|p| p.to_le_bytes()).collect();
    let output = run_embedded("classify_stdin", &pixels);
    let embedded: Vec<usize> = output.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(embedded.len(), test.len());

    let mut net = LeNet5::pretrained();
    net.eval();
    let mut normalised = test.clone();
    normalised.normalize(0.1307, 0.3081).unwrap();
    let std_classes: Vec<usize> = normalised.inputs.iter().map(|x| nn::argmax(&net.forward(x))).collect();
    assert_eq!(embedded, std_classes);
    let correct = embedded.iter().zip(&test.targets).filter(|(p, l)| p == l).count();
    assert!(correct as f32 / test.len() as f32 > 0.95, "{correct} of {} correct", test.len());
}

#[test]
fn forward_static_gives_forward_in_eval_mode() {
    let (_, mut test) = load_mnist::<[[[f32; 28]; 28]; 1]>(Path::new("data/mnist-sample")).unwrap();
    test.normalize(0.1307, 0.3081).unwrap();
    let mut net = LeNet5::pretrained();
    net.eval();
    let mut buffer = vec![f32::NAN; LeNet5::STATIC_FLOATS];
    let buffer: &mut [f32; LeNet5::STATIC_FLOATS] = buffer.as_mut_slice().try_into().unwrap();
    for x in test.inputs.iter().take(50) {
        let (a, b) = (net.forward_static(x, buffer), net.forward(x));
        for (a, b) in a.iter().zip(&b) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{a} vs {b}");
        }
    }
}

#[test]
fn no_std_batch_norm_stacked_bidirectional_lstm_and_blocks_match_the_std_build() {
    let value = |s: usize, i: usize| ((31 * s + 7 * i) % 19) as f32 / 9.5 - 1.0;
    let (mut bn, mut seq, mut branch) = (BnNet::pretrained(), SeqNet::pretrained(), BranchNet::pretrained());
    let mut gpt = TinyGpt::pretrained();
    gpt.eval();
    bn.eval();
    seq.eval();
    branch.eval();
    let image = |s: usize| [std::array::from_fn(|r| std::array::from_fn(|c| value(s, r * 8 + c)))];
    let output = run_embedded("zoo_outputs", &[]);
    let mut lines = 0;
    for line in output.lines() {
        let mut fields = line.split(' ');
        let (name, s) = (fields.next().unwrap(), fields.next().unwrap().parse::<usize>().unwrap());
        let got: Vec<f32> = fields.map(|v| v.parse().unwrap()).collect();
        let want: Vec<f32> = match name {
            "bn_net" => bn.forward(&image(s)).to_vec(),
            "branch_net" => branch.forward(&image(s)).to_vec(),
            // The window whole, and step by step with the cache: both the logits of every step.
            "gpt_window" | "gpt_stream" => {
                gpt.forward(&std::array::from_fn(|t| ((3 * s + 5 * t) % 11) as u32)).as_flattened().to_vec()
            }
            _ => seq.forward(&std::array::from_fn(|t| std::array::from_fn(|f| value(s, t * 3 + f)))).to_vec(),
        };
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{name} sample {s}: {g} vs {w}");
        }
        lines += 1;
    }
    assert_eq!(lines, 40, "eight samples of each network, the GPT's twice");
}
