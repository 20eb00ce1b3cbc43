use nn::prelude::*;

network! {
    struct Net {
        Input<Seq, 10> -> rnn: RNN<10, 20, nonlinearity = sigmoid> -> Last
    }
}

fn main() {}
