use nn::prelude::*;

network! {
    struct Net {
        Input<10> -> fc: Linear<10, 8> -> Last
    }
}

fn main() {}
