use nn::prelude::*;

network! {
    struct Net {
        Linear<4, 8> -> ReLU -> Linear<8, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
