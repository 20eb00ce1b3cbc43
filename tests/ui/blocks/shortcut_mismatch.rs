use nn::prelude::*;

network! {
    struct Net {
        Input<16, 28, 28>
        -> layer2: Residual {
               conv1: Conv2d<16, 32, 3, stride = 2, padding = 1> -> ReLU
           } shortcut {
               conv: Conv2d<16, 32, 1>
           }
        -> GlobalAvgPool -> fc: Linear<32, 10>
    }
}

fn main() {
    let _ = Net::new(0);
}
