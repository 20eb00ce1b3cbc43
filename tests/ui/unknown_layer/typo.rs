use nn::prelude::*;

network! {
    struct Net {
        Input<4> -> Linaer<4, 8> -> Relu -> Linear<8, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
