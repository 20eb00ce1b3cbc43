use nn::prelude::*;

network! {
    struct Net {
        Input<1, 8, 8>
        -> Conv2d<1, 2, 3, stride = 1.5, bias = 1>
        -> LeakyReLU<yes>
        -> Flatten
        -> Linear<72, 2, init = he_normall>
    }
}

fn main() {
    let _ = Net::new(0);
}
