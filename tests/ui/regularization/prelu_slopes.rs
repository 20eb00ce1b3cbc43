use nn::prelude::*;

network! {
    struct Net {
        Input<3, 8, 8> -> Conv2d<3, 4, 3> -> PReLU<6> -> Flatten -> Maxout<144, 10, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
