use nn::prelude::*;

network! {
    struct Net {
        Input<4> -> Linear<4, 0>
    }
}

fn main() {
    let _ = Net::new(0);
}
