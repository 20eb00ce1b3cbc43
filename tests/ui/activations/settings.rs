use nn::prelude::*;

network! {
    struct Net {
        Input<4> -> Hardtanh<1.0, -1.0> -> GELU<approximate = "sigmoid"> -> Softplus<0> -> Linear<4, 2>
    }
}

fn main() {}
