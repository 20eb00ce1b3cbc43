use nn::prelude::*;

network! {
    struct Net {
        Input<1, 8, 8> -> Conv2d<1, 2, 3, stride = 0>
    }
}

fn main() {
    let _ = Net::new(0);
}
