use nn::prelude::*;

network! {
    struct Net {
        Input<4> -> LogSoftmax -> Linear<4, 2>
    }
}

fn main() {}
