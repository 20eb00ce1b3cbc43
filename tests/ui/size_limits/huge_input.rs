use nn::prelude::*;

network! {
    struct Huge {
        Input<2, 4294967296, 4294967296> -> Flatten -> Linear<2, 2>
    }
}

fn main() {}
