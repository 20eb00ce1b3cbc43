use nn::prelude::*;

network! {
    struct Net {
        Input<3, 32, 32> -> conv1: Conv2d<3, 6, 5> -> ReLU -> conv2: Conv2d<16, 16, 5> -> Flatten -> Linear<2304, 10>
    }
}

fn main() {
    let _ = Net::new(0);
}
