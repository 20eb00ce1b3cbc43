use nn::prelude::*;

network! {
    struct Net {
        Input<28, 28> -> Flatten
    }
}

fn main() {
    let _ = Net::new(0);
}
