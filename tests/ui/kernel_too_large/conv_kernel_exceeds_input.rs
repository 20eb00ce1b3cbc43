use nn::prelude::*;

network! {
    struct Net {
        Input<1, 8, 8> -> Conv2d<1, 4, 5> -> MaxPool<2, 2> -> Conv2d<4, 8, 3> -> Flatten -> Linear<8, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
