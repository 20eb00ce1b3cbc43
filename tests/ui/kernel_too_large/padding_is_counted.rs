use nn::prelude::*;

network! {
    struct Net {
        Input<1, 3, 3> -> Conv2d<1, 4, 7, padding = 1>
    }
}

fn main() {
    let _ = Net::new(0);
}
