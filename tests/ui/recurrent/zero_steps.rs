use nn::prelude::*;

network! {
    struct Net {
        Input<Seq<0>, 10> -> rnn: RNN<10, 20> -> Last
    }
}

fn main() {}
