use nn::prelude::*;

network! {
    struct Net {
        Input<Seq, 10> -> lstm: LSTM<10, 20, layers = 0> -> Last
    }
}

fn main() {}
