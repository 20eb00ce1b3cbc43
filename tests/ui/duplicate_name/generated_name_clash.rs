use nn::prelude::*;

network! {
    struct Net {
        Input<4> -> ReLU -> Linear<4, 8> -> layer1: Linear<8, 8> -> params: Linear<8, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
