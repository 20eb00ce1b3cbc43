use nn::prelude::*;

network! {
    struct Net<T> {
        Input<4> -> Linear<4, 2>
    }
}

fn main() {}
