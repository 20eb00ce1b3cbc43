use nn::prelude::*;

network! {
    struct Net {
        Input<1, 8, 8>
        -> mix: Concat { a: Conv2d<1, 2, 3, padding = 1> | Flatten -> b: Linear<64, 4> }
        -> Flatten -> fc: Linear<132, 10>
    }
}

fn main() {
    let _ = Net::new(0);
}
