use nn::prelude::*;

network! {
    struct Tagger {
        Input<Seq, 10> -> gru: GRU<10, 32, bidirectional = true> -> Dropout<0.2> -> out: Linear<32, 5>
    }
}

fn main() {}
