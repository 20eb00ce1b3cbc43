use nn::prelude::*;

network! {
    struct Net {
        Input<Seq<5>, 8> -> rnn: RNN<8, 8> -> Flatten -> fc: Linear<40, 2>
    }
}

fn main() {}
