use nn::prelude::*;

network! {
    // 2^62 values (2^64 bytes of f32) per sample.
    struct Big {
        Input<1, 2147483648, 2147483648> -> Flatten -> Linear<4, 2>
    }
}

fn main() {}
