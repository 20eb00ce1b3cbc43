use nn::prelude::*;

network! {
    struct Net {
        Input<4> -> type: Linear<4, 2>
    }
}

fn main() {}
