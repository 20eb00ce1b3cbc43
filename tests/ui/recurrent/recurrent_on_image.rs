use nn::prelude::*;

network! {
    struct Net {
        Input<1, 28, 28> -> gru: GRU<28, 64> -> Last
    }
}

fn main() {}
