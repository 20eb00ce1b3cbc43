use nn::prelude::*;

network! {
    struct Net {
        Input<Seq<8>, 16> -> attn: MultiheadAttention<16, 4, causal = 1> -> Last -> fc: Linear<16, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
