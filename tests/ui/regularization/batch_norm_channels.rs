use nn::prelude::*;

network! {
    struct Net {
        Input<1, 28, 28> -> Conv2d<1, 6, 5> -> bn1: BatchNorm<16> -> ReLU -> Flatten -> Linear<3456, 10>
    }
}

fn main() {
    let _ = Net::new(0);
}
