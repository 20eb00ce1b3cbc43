//! Results are the same bits for every thread count: chunks are cut the same way and summed in the same order.

mod common;

use common::{random_samples, Image, LeNet5, Wide};
use nn::prelude::*;
use nn::Parallelism;

/// Parameters and gradients, losses, outputs, input gradients and accuracy after a few training steps.
type Run<N> = (Vec<f32>, Vec<f32>, Vec<<N as Network>::Output>, Vec<<N as Network>::Input>, f32);

fn run<N: Network>(parallelism: Parallelism) -> Run<N>
where
    N::Input: Sample,
    N::Output: Sample,
    CrossEntropy: Loss<N::Output, Target = usize>,
{
    let xs = random_samples::<N::Input>(150, 0.0, 1.0, 1);
    let labels: Vec<usize> = (0..150).map(|i| (i * 7) % 10).collect();
    let mut net = N::new(3);
    net.set_parallelism(parallelism).unwrap();
    let mut opt = Adam::new(AdamConfig::default());
    let losses: Vec<f32> = (0..4).map(|_| net.train_step(&xs, &labels, &CrossEntropy, &mut opt)).collect();
    let outputs = net.predict(&xs);
    let mut d_in = vec![N::Input::zeroed(); xs.len()];
    net.backward(&xs, &outputs, Some(&mut d_in)).unwrap();
    let accuracy = net.accuracy(&xs, &labels);
    let mut params = net.params().to_vec();
    params.extend(net.grads());
    (params, losses, outputs, d_in, accuracy)
}

/// Compares every part of a run by its bits.
fn assert_same_bits<N: Network>(serial: &Run<N>, parallel: &Run<N>, threads: usize)
where
    N::Input: Sample,
    N::Output: Sample,
{
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&serial.0), bits(&parallel.0), "parameters and gradients differ with {threads} threads");
    assert_eq!(bits(&serial.1), bits(&parallel.1), "losses, {threads} threads");
    assert_eq!(
        bits(N::Output::flat(&serial.2)),
        bits(N::Output::flat(&parallel.2)),
        "outputs differ with {threads} threads"
    );
    assert_eq!(
        bits(N::Input::flat(&serial.3)),
        bits(N::Input::flat(&parallel.3)),
        "input gradients differ with {threads} threads"
    );
    assert_eq!(serial.4.to_bits(), parallel.4.to_bits());
}

#[test]
fn one_to_four_threads_give_identical_bits() {
    let serial = run::<LeNet5>(Parallelism::None);
    for threads in 1..=4 {
        assert_same_bits::<LeNet5>(&serial, &run::<LeNet5>(Parallelism::Threads(threads)), threads);
    }
}

#[test]
fn a_gradient_sum_shared_out_over_the_threads_gives_identical_bits() {
    const { assert!(<Wide as Network>::PARAMS > 65_536, "Wide must span more than one piece of the gradient sum") };
    let serial = run::<Wide>(Parallelism::None);
    for threads in 1..=4 {
        assert_same_bits::<Wide>(&serial, &run::<Wide>(Parallelism::Threads(threads)), threads);
    }
}

network! {
    /// A network that branches, with batch norm in its blocks (a staged training pass) and a concatenation.
    pub struct Branched {
        Input<2, 8, 8>
        -> stem: Conv2d<2, 4, 3, padding = 1> -> bn: BatchNorm -> ReLU
        -> blocks: Repeat<2> { Residual { conv: Conv2d<4, 4, 3, padding = 1> -> bn: BatchNorm -> ReLU } }
        -> mix: Concat { a: Conv2d<4, 2, 1> -> Tanh | Identity }
        -> GlobalAvgPool -> fc: Linear<6, 10>
    }
}

#[test]
fn a_network_that_branches_gives_identical_bits_on_one_to_four_threads() {
    let serial = run::<Branched>(Parallelism::None);
    for threads in 1..=4 {
        assert_same_bits::<Branched>(&serial, &run::<Branched>(Parallelism::Threads(threads)), threads);
    }
}

network! {
    /// A transformer: learned positions, attention with dropout on its weights, a feed-forward block.
    pub struct Transformer {
        Input<Seq<6>, 8>
        -> pos: PositionalEmbedding<6, 8>
        -> blocks: Repeat<2> {
               Residual { ln1: LayerNorm<8> -> attn: MultiheadAttention<8, 2, causal = true, dropout = 0.1> }
               -> Residual { ln2: LayerNorm<8> -> fc1: Linear<8, 16> -> GELU -> fc2: Linear<16, 8> }
           }
        -> MeanOverTime -> fc: Linear<8, 10>
    }
}

#[test]
fn a_transformer_gives_identical_bits_on_one_to_four_threads() {
    let serial = run::<Transformer>(Parallelism::None);
    for threads in 1..=4 {
        assert_same_bits::<Transformer>(&serial, &run::<Transformer>(Parallelism::Threads(threads)), threads);
    }
}

network! {
    /// The benches' MLP: its first two layers' weights (1.6 and 1 MB) are products a one-sample pass splits over
    /// the threads.
    pub struct Mlp {
        Input<784> -> fc1: Linear<784, 512> -> ReLU -> fc2: Linear<512, 512> -> ReLU -> fc3: Linear<512, 10>
    }
}

#[test]
fn one_sample_products_split_over_the_threads_give_identical_bits() {
    // Single samples (one chunk: the calling thread shares its products with the network's helper threads),
    // predicted and trained on, then a batch of 32 (one chunk too, whose products are not matrix-vector ones).
    // Every optimizer step runs on the threads as well.
    let single = |parallelism: Parallelism| {
        let xs = random_samples::<[f32; 784]>(5, 0.0, 1.0, 4);
        let mut net = Mlp::new(5);
        net.set_parallelism(parallelism).unwrap();
        let mut opt = Sgd::new(SgdConfig { lr: 0.1, ..SgdConfig::default() });
        let mut values = Vec::new();
        for (i, x) in xs.iter().enumerate() {
            values.extend(net.predict(std::slice::from_ref(x))[0]);
            values.push(net.train_step(std::slice::from_ref(x), &[i % 10], &CrossEntropy, &mut opt));
            let mut d_in = vec![[0.0; 784]];
            let out = net.predict(std::slice::from_ref(x));
            net.backward(std::slice::from_ref(x), &out, Some(&mut d_in)).unwrap();
            values.extend(d_in[0]);
        }
        // A batch of 32: one chunk, whose products are split by columns or rows; then optimizer steps whose
        // updates (670 K parameters) are split over the threads too.
        let batch = random_samples::<[f32; 784]>(32, 0.0, 1.0, 6);
        let labels: Vec<usize> = (0..32).map(|i| (i * 3) % 10).collect();
        let mut momentum = Sgd::new(SgdConfig { lr: 0.05, momentum: 0.9, nesterov: true, ..SgdConfig::default() });
        let rms = RmsPropConfig { lr: 1e-3, momentum: 0.5, centered: true, ..RmsPropConfig::default() };
        let mut rms = RmsProp::new(rms);
        for _ in 0..2 {
            values.push(net.train_step(&batch, &labels, &CrossEntropy, &mut momentum));
            values.push(net.train_step(&batch, &labels, &CrossEntropy, &mut rms));
        }
        values.extend(net.predict(&batch).iter().flatten());
        values.extend(net.params());
        values.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    };
    let serial = single(Parallelism::None);
    for threads in 2..=4 {
        assert!(single(Parallelism::Threads(threads)) == serial, "one-sample passes differ with {threads} threads");
    }
}

#[test]
fn zero_threads_is_an_error() {
    let mut net = LeNet5::new(1);
    let err = net.set_parallelism(Parallelism::Threads(0)).unwrap_err();
    assert_eq!(err.to_string(), "invalid training setting `parallelism`: Threads(0): use at least 1");
}

#[test]
fn errors_from_any_chunk_surface_in_order() {
    let mut net = LeNet5::new(1);
    net.set_parallelism(Parallelism::Threads(2)).unwrap();
    let xs = random_samples::<Image>(100, 0.0, 1.0, 2);
    let mut labels = vec![0usize; 100];
    labels[40] = 11;
    labels[90] = 12;
    let err = net.loss_and_grad(&xs, &labels, &CrossEntropy).unwrap_err();
    assert_eq!(err, nn::Error::LabelOutOfRange { label: 11, index: 40, classes: 10 });
}
