use nn::prelude::*;

network! {
    struct Net {
        Input<1, 28, 28> -> Conv2d<1, 4, 3> -> ReLU -> Linear<2704, 10>
    }
}

fn main() {
    let _ = Net::new(0);
}
