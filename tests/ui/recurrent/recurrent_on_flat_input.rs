use nn::prelude::*;

network! {
    struct Net {
        Input<10> -> lstm: LSTM<10, 32> -> Last -> fc: Linear<32, 2>
    }
}

fn main() {}
