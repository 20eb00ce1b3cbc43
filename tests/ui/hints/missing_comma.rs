use nn::prelude::*;

network! {
    struct Net {
        Input<1, 28, 28> -> conv: Conv2d<1, 6 5> -> Flatten -> fc: Linear<3456, 10>
    }
}

fn main() {}
