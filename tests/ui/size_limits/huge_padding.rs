use nn::prelude::*;

network! {
    struct Padded {
        Input<1, 8, 8> -> Conv2d<1, 2, 3, padding = 18446744073709551615> -> Flatten -> Linear<0, 2>
    }
}

fn main() {}
