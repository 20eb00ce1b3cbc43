use nn::prelude::*;

network! {
    struct Net {
        Input<Seq, 10> -> gru: GRU<10, 16, bidirectional = true> -> Last -> fc: Linear<16, 2>
    }
}

fn main() {}
