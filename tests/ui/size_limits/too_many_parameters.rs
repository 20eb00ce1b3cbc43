use nn::prelude::*;

network! {
    struct Wide {
        Input<65536> -> Linear<65536, 65536>
    }
}

fn main() {}
