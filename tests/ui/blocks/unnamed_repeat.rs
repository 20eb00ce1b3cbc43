use nn::prelude::*;

network! {
    struct Net {
        Input<8> -> Repeat<2> { Residual { fc: Linear<8, 8> -> ReLU } } -> out: Linear<8, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
