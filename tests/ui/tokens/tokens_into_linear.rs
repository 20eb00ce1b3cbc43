use nn::prelude::*;

network! {
    struct Net {
        Input<Seq, Tokens<100>> -> fc: Linear<1, 8> -> out: Linear<8, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
