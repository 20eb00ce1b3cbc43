use nn::prelude::*;

network! {
    struct Net {
        Input<4>
        /// The hidden layer.
        -> hidden: Linear<4, 8> -> Linear<8, 2>
    }
}

fn main() {}
