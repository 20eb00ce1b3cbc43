use nn::prelude::*;

network! {
    struct Net {
        Input<4> -> Linear(4, 8) -> Linear<8, 2>
    }
}

fn main() {}
