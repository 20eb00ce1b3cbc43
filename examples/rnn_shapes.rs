//! The shapes of a recurrent layer, as in PyTorch's documentation of `nn.RNN`:
//!
//! ```python
//! rnn = nn.RNN(10, 20, 2, batch_first=True)
//! input = torch.randn(3, 5, 10)
//! h0 = torch.randn(2, 3, 20)
//! output, hn = rnn(input, h0)
//! ```
//!
//! A 2-layer RNN over sequences of 5 steps of 10 features, 20 hidden units: prints the eight parameter tensors,
//! then the output and final-state shapes of each of three sequences started from random initial states.
//!
//! `cargo run --release --example rnn_shapes`

use nn::prelude::*;
use nn::Rng;

network! {
    /// `nn.RNN(10, 20, 2)`: tanh, two biases per layer.
    pub struct Lecture {
        Input<Seq<5>, 10> -> rnn: RNN<10, 20, layers = 2>
    }
}

fn main() {
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        println!("usage: cargo run --release --example rnn_shapes\n\nPrints the parameter, output and state shapes of a 2-layer RNN.");
        return;
    }
    let mut net = Lecture::new(0);
    println!("{}", Lecture::summary());
    for t in Lecture::TENSORS {
        println!("{:<18} {:?}", t.name, t.shape);
    }
    // A batch of 3 sequences and their initial states h0 (the network's `State`: h_n of both layers, [2, 20]).
    let mut rng = Rng::new(1, 0);
    let xs: Vec<[[f32; 10]; 5]> = (0..3).map(|_| [[0.0; 10]; 5].map(|s| s.map(|_| rng.normal(0.0, 1.0)))).collect();
    let h0: Vec<[f32; 40]> = (0..3).map(|_| [0.0; 40].map(|_| rng.normal(0.0, 1.0))).collect();
    let mut output = vec![[[0.0; 20]; 5]; 3];
    let mut h_n = vec![[0.0; 40]; 3];
    net.eval();
    net.forward_states(&xs, Some(&h0), &mut output, Some(&mut h_n)).unwrap_or_else(|e| panic!("{e}"));
    let (steps, features) = (output[0].len(), output[0][0].len());
    println!("output: [{steps}, {features}] per sequence (PyTorch: [3, {steps}, {features}] for the batch)");
    println!("h_n:    [2, {}] per sequence (PyTorch: [2, 3, {}])", h_n[0].len() / 2, h_n[0].len() / 2);
    // The top layer's final state is its output at the last step.
    assert_eq!(&h_n[0][20..], &output[0][4][..]);
}
