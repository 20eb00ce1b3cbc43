use nn::prelude::*;

network! {
    struct Net {
        Input<1, 0, 8> -> Flatten
    }
}

fn main() {
    let _ = Net::new(0);
}
