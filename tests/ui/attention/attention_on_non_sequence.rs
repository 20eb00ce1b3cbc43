use nn::prelude::*;

network! {
    struct OnImage {
        Input<1, 28, 28> -> patch: Conv2d<1, 64, 7, stride = 7> -> attn: MultiheadAttention<64, 4>
        -> GlobalAvgPool -> fc: Linear<64, 10>
    }

    struct OnFeatures {
        Input<32> -> attn: MultiheadAttention<32, 4> -> fc: Linear<32, 10>
    }
}

fn main() {
    let _ = (OnImage::new(0), OnFeatures::new(0));
}
