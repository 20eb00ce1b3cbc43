use nn::prelude::*;

network! {
    struct Net {
        Input<8> -> Residual { } -> mix: Concat { fc: Linear<8, 4> | } -> out: Linear<12, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
