use nn::prelude::*;

network! {
    struct Wide {
        Input<Seq, 10> -> lstm: LSTM<10, 100000> -> Last
    }

    struct Deep {
        Input<Seq, 10> -> gru: GRU<10, 64, layers = 1000000000000> -> Last
    }
}

fn main() {}
