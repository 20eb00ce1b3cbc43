use nn::prelude::*;

network! {
    struct Net {
        Input<4> -> fc: Linear<4, 2> ->
    }
}

fn main() {}
