use nn::prelude::*;

network! {
    struct Net {
        Input<8> -> blocks: Repeat<3> { fc: Linear<8, 4> -> ReLU } -> out: Linear<4, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
