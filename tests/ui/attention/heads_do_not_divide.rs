use nn::prelude::*;

network! {
    struct Net {
        Input<Seq<16>, 128> -> attn: MultiheadAttention<128, 5> -> MeanOverTime -> fc: Linear<128, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
