use nn::prelude::*;

network! {
    struct Net {
        Input<Seq, 8> -> rnn: RNN<8, 8> -> MaxPool<2, 2> -> Last
    }
}

fn main() {}
