use nn::prelude::*;

network! {
    struct Net {
        Input<Seq, 10> -> lstm: LSTM<12, 32> -> Last -> fc: Linear<32, 2>
    }
}

fn main() {}
