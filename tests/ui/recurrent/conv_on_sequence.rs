use nn::prelude::*;

network! {
    struct Net {
        Input<Seq<28>, 28> -> Conv2d<1, 6, 5> -> Flatten -> Linear<10, 2>
    }
}

fn main() {}
