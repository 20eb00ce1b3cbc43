use nn::prelude::*;

network! {
    struct Net {
        Input<1, 6, 6> -> Conv2d<1, 2, 5> -> AvgPool<3, 3> -> Flatten -> Linear<2, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
