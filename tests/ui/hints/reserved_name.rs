use nn::prelude::*;

network! {
    struct Net {
        Input<4> -> __nn: Linear<4, 8> -> ReLU -> buffers: Linear<8, 2>
    }
}

fn main() {}
