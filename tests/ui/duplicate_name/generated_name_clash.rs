use nn::prelude::*;

network! {
    struct Net {
        Input<4> -> layer1: Linear<4, 8> -> ReLU -> params: Linear<8, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
