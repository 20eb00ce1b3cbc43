use nn::prelude::*;

network! {
    struct Net {
        Input<Seq, 10> -> lstm: LSTM<10, 20, dropout = 0.5> -> Last
    }
}

fn main() {}
