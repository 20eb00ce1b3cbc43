//! `forward_static` — one sample in a caller's buffer of `STATIC_FLOATS` values — against `forward` in eval mode,
//! for every kind of layer, with the buffer filled with NaN first (nothing may read what it did not write).

mod common;

use common::LeNet5;
use nn::prelude::*;

network! {
    pub struct Convolutions {
        Input<3, 12, 12> -> Conv2d<3, 4, 3, stride = 2, padding = 1> -> PReLU<4> -> AvgPool<2, 2>
        -> Conv2d<4, 6, 3, padding = 1, bias = false> -> bn: BatchNorm -> ELU -> MaxPool<3, 3> -> Flatten
        -> Dropout<0.3> -> Maxout<6, 5, 3> -> GELU -> Linear<5, 4> -> Softmax
    }

    pub struct Recurrent {
        Input<Seq<7>, 5> -> Linear<5, 6> -> Tanh -> lstm: LSTM<6, 4, layers = 2, bidirectional = true, dropout = 0.2>
        -> gru: GRU<8, 3, bidirectional = true> -> Linear<6, 2> -> LogSoftmax
    }

    pub struct Reductions { Input<Seq<4>, 3> -> rnn: RNN<3, 5, nonlinearity = relu> -> FinalState -> Linear<5, 2> }
}

fn check<N: Network>(mut net: N, run: impl Fn(&N, &N::Input, &mut [f32]) -> Vec<f32>, x: N::Input, buffer_len: usize)
where
    N::Output: Sample,
{
    net.eval();
    // Batch norm's running statistics away from their initial 0 and 1.
    net.buffers_mut().iter_mut().enumerate().for_each(|(i, v)| *v = 0.5 + (i % 7) as f32 * 0.25);
    let want = net.forward(&x);
    let mut buffer = vec![f32::NAN; buffer_len];
    let got = run(&net, &x, &mut buffer);
    let want = N::Output::flat(std::slice::from_ref(&want));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{g} vs {w}");
    }
}

fn value(i: usize) -> f32 {
    ((i * 37) % 23) as f32 / 11.5 - 1.0
}

#[test]
fn convolutions_pooling_norm_and_maxout() {
    let x: [[[f32; 12]; 12]; 3] =
        std::array::from_fn(|c| std::array::from_fn(|r| std::array::from_fn(|k| value(c * 144 + r * 12 + k))));
    let run = |net: &Convolutions, x: &_, b: &mut [f32]| net.forward_static(x, b.try_into().unwrap()).to_vec();
    check(Convolutions::new(1), run, x, Convolutions::STATIC_FLOATS);
}

#[test]
fn stacked_bidirectional_recurrent_layers() {
    let x: [[f32; 5]; 7] = std::array::from_fn(|t| std::array::from_fn(|f| value(t * 5 + f)));
    let run =
        |net: &Recurrent, x: &_, b: &mut [f32]| net.forward_static(x, b.try_into().unwrap()).as_flattened().to_vec();
    check(Recurrent::new(2), run, x, Recurrent::STATIC_FLOATS);
    let x: [[f32; 3]; 4] = std::array::from_fn(|t| std::array::from_fn(|f| value(t * 3 + f + 1)));
    let run = |net: &Reductions, x: &_, b: &mut [f32]| net.forward_static(x, b.try_into().unwrap()).to_vec();
    check(Reductions::new(3), run, x, Reductions::STATIC_FLOATS);
}

#[test]
fn the_static_buffer_holds_only_what_a_forward_pass_needs() {
    // LeNet-5's convolutions run directly (stride 1, no padding): no column matrix, so the buffer is the layers'
    // outputs alone.
    assert_eq!(LeNet5::STATIC_BYTES, LeNet5::INFER_ACTIVATION_BYTES);
    // A padded convolution needs its column matrix: 3·3·3 rows by 6·6 positions.
    const { assert!(Convolutions::STATIC_FLOATS >= 27 * 36) };
}
