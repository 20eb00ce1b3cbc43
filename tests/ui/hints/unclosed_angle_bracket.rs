use nn::prelude::*;

network! {
    struct Net {
        Input<4> -> fc: Linear<4, 8 -> ReLU -> out: Linear<8, 2>
    }
}

fn main() {}
