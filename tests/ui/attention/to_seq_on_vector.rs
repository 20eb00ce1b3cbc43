use nn::prelude::*;

network! {
    struct Net {
        Input<1, 8, 8> -> Flatten -> ToSeq -> attn: MultiheadAttention<64, 4> -> MeanOverTime -> fc: Linear<64, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
