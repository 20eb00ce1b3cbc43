use nn::prelude::*;

network! {
    struct Net {
        Input<Seq, 10> -> lstm: LSTM<10, 20> -> Linear<20, 20> -> FinalState
    }
}

fn main() {}
