use nn::prelude::*;

network! {
    struct Net {
        Input<1, 8, 8> -> Conv2d<1, 2, 3, strid = 2> -> ReLU -> Flatten -> Linear<18, 2, dropout = true>
    }
}

fn main() {
    let _ = Net::new(0);
}
