use nn::prelude::*;

network! {
    struct Net {
        Input<4> -> Linear<4, 8, 2> -> ReLU<1> -> Linear<8>
    }
}

fn main() {
    let _ = Net::new(0);
}
