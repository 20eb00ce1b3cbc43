use nn::prelude::*;

network! {
    struct Net {
        Input<784> -> Conv2d<1, 6, 5>
    }
}

fn main() {
    let _ = Net::new(0);
}
